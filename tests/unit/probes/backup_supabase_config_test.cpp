// Kind backup.supabase_config against the fake Management API and a
// file:// storage target: what is stored, what never is (secret values), and
// how each answer of the API ends a run.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "backup/encryption.hpp"
#include "backup/runs.hpp"
#include "common/clock.hpp"
#include "support/fake_management_api.hpp"
#include "support/log_capture.hpp"
#include "support/pg_cluster.hpp"
#include "support/check_runner.hpp"

namespace drwatch::test {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::Not;

const ServerHeaders kJson{{"Content-Type", "application/json"}};

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class BackupSupabaseConfigTest : public ProbeHarness {
 protected:
  void SetUp() override {
    dir_ = pgproc::MakeOwnedTempDir("drwatch-supaconf");
    storage_path_ = dir_ + "/state";
    fs::create_directories(storage_path_);
    fs::create_directories(dir_ + "/backups");
  }
  void TearDown() override {
    if (Clock::Frozen()) Clock::Unfreeze();
    ProbeHarness::TearDown();
    fs::remove_all(dir_);
  }

  bool Load(const std::string& extra = "", const std::string& token = FakeManagementApi::kToken) {
    return LoadText(std::string("targets:\n  supa:\n    type: supabase\n    project_ref: ") + FakeManagementApi::kRef +
                    "\n    access_token: \"" + token + "\"\n    api_url: \"" + api_.Url() +
                    "\"\n  backups: {type: storage, url: \"file://" + dir_ +
                    "/backups\"}\nchecks:\n  - name: project_config\n    kind: backup.supabase_config\n"
                    "    target: supa\n    storage: backups\n" +
                    extra) != nullptr;
  }

  // Every stored file of the check's runs, by path relative to the storage root.
  std::map<std::string, std::string> Stored() {
    std::map<std::string, std::string> out;
    for (const auto& e : fs::recursive_directory_iterator(dir_ + "/backups")) {
      if (e.is_regular_file()) out[fs::relative(e.path(), dir_ + "/backups").string()] = ReadAll(e.path());
    }
    return out;
  }

  // The newest run's files, by name.
  std::map<std::string, std::string> NewestRun() {
    std::map<std::string, std::string> runs;
    std::string newest;
    for (const auto& e : fs::directory_iterator(dir_ + "/backups/project_config")) {
      newest = std::max(newest, e.path().filename().string());
    }
    std::map<std::string, std::string> out;
    for (const auto& e : fs::directory_iterator(dir_ + "/backups/project_config/" + newest)) {
      out[e.path().filename().string()] = ReadAll(e.path());
    }
    return out;
  }

  std::string dir_;
  FakeManagementApi api_;
};

TEST_F(BackupSupabaseConfigTest, StoresEverySectionAndNoSecretValue) {
  ASSERT_TRUE(Load());
  std::optional<probes::ProbeResult> r;
  std::string log;
  {
    LogCapture capture;
    r = Run("project_config", 30s);
    log = capture.Text();
  }
  ASSERT_TRUE(r) << "timed out";
  ASSERT_TRUE(r->success) << r->reason;
  // Nor in the log, the reason, the details or the samples.
  std::string said = log + r->reason + r->details;
  for (const auto& sample : r->samples) {
    said += sample.name + sample.help;
    for (const auto& [key, value] : sample.labels) said += key + value;
  }
  for (const auto& secret : FakeManagementApi::SecretValues()) EXPECT_THAT(said, Not(HasSubstr(secret))) << secret;
  EXPECT_THAT(log, HasSubstr("first run: 9 sections of the project configuration recorded"));

  auto files = NewestRun();
  std::vector<std::string> names;
  for (const auto& [name, _] : files) names.push_back(name);
  EXPECT_EQ(names, (std::vector<std::string>{"auth.json", "function-send-digest.body", "function-stripe-webhook.body",
                                             "functions.json", "manifest.json", "network_restrictions.json",
                                             "pooler.json", "postgres.json", "postgrest.json", "secrets.json",
                                             "sections.json", "ssl_enforcement.json"}));
  // Nothing secret anywhere in storage, nor in the state directory.
  auto everything = Stored();
  for (const auto& e : fs::recursive_directory_iterator(storage_path_)) {
    if (e.is_regular_file()) everything[e.path().string()] = ReadAll(e.path());
  }
  for (const auto& [path, text] : everything) {
    for (const auto& secret : FakeManagementApi::SecretValues()) {
      EXPECT_THAT(text, Not(HasSubstr(secret))) << path << " holds " << secret;
    }
  }
  auto auth = json::parse(files["auth.json"]).as_object();
  EXPECT_EQ(auth.at("site_url").as_string(), "https://cms.example.com");
  EXPECT_THAT(std::string(auth.at("smtp_pass").as_string()), ::testing::MatchesRegex("fingerprint:[0-9a-f]{16}"));
  EXPECT_EQ(auth.at("hook_custom_access_token_uri").as_string(),
            "pg-functions://postgres/public/custom_access_token_hook");
  EXPECT_EQ(files["secrets.json"], "[\n  \"OPENAI_API_KEY\",\n  \"STRIPE_WEBHOOK_SECRET\",\n  \"SUPABASE_SERVICE_ROLE_KEY\"\n]\n");
  EXPECT_EQ(files["function-send-digest.body"], api_.Body("/functions/send-digest/body"));  // byte for byte
  EXPECT_THAT(files["pooler.json"], HasSubstr("aws-0-eu-central-1.pooler.supabase.com:6543"));
  EXPECT_THAT(files["sections.json"], HasSubstr("\"function:stripe-webhook\": \"stored\""));
  EXPECT_THAT(files["manifest.json"], HasSubstr("\"kind\": \"backup.supabase_config\""));
  // The salt stays with the daemon, readable by it alone.
  auto salt = fs::status(storage_path_ + "/fingerprint.salt");
  EXPECT_EQ(salt.permissions() & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write);

  auto samples = SamplesByName(r->samples);
  EXPECT_GT(samples["drwatch_supabase_config_changed_timestamp_seconds{section=auth}"], 1.7e9);
  EXPECT_TRUE(samples.contains("drwatch_supabase_config_changed_timestamp_seconds{section=function_bodies}"));
  EXPECT_TRUE(samples.contains("drwatch_backup_last_success_timestamp_seconds"));
  EXPECT_TRUE(samples.contains("drwatch_data_age_seconds"));
}

TEST_F(BackupSupabaseConfigTest, ASectionChangeIsTimestampedAndSecretChangesShowToo) {
  ASSERT_TRUE(Load());
  auto first = Run("project_config", 30s);
  ASSERT_TRUE(first && first->success) << (first ? first->reason : "timed out");
  auto before = SamplesByName(first->samples);

  auto same = Run("project_config", 30s);
  ASSERT_TRUE(same && same->success);
  auto unchanged = SamplesByName(same->samples);
  EXPECT_EQ(unchanged["drwatch_supabase_config_changed_timestamp_seconds{section=auth}"],
            before["drwatch_supabase_config_changed_timestamp_seconds{section=auth}"]);

  // Only a secret value changes: the fingerprint, and so the section, does.
  std::string auth = api_.Body("/config/auth");
  auth.replace(auth.find("SG.fake-smtp-pass-0451"), 22, "SG.fake-smtp-pass-0452");
  api_.Answer("/config/auth", {200, kJson, auth});
  auto rotated = Run("project_config", 30s);
  ASSERT_TRUE(rotated && rotated->success);
  auto after = SamplesByName(rotated->samples);
  EXPECT_GT(after["drwatch_supabase_config_changed_timestamp_seconds{section=auth}"],
            before["drwatch_supabase_config_changed_timestamp_seconds{section=auth}"]);
  EXPECT_EQ(after["drwatch_supabase_config_changed_timestamp_seconds{section=postgrest}"],
            before["drwatch_supabase_config_changed_timestamp_seconds{section=postgrest}"]);
  EXPECT_THAT(NewestRun()["auth.json"], Not(HasSubstr("SG.fake-smtp-pass")));
}

TEST_F(BackupSupabaseConfigTest, ForbiddenSectionsAreSkippedNotFailed) {
  api_.Answer("/network-restrictions", {403, kJson, R"({"message":"Forbidden resource"})"});
  api_.Answer("/ssl-enforcement", {404, kJson, R"({"message":"Not Found"})"});
  ASSERT_TRUE(Load());
  auto r = Run("project_config", 30s);
  ASSERT_TRUE(r && r->success) << (r ? r->reason : "timed out");
  auto files = NewestRun();
  EXPECT_FALSE(files.contains("network_restrictions.json"));
  EXPECT_THAT(files["sections.json"],
              HasSubstr("\"network_restrictions\": \"skipped: status 403 (not available to this plan or token)\""));
  EXPECT_THAT(files["sections.json"], HasSubstr("\"ssl_enforcement\": \"skipped: status 404"));
}

TEST_F(BackupSupabaseConfigTest, UnauthorizedServerErrorsAndMalformedAnswersFail) {
  ASSERT_TRUE(Load("", "sbp_wrong_token_0000"));
  auto r = Run("project_config", 30s);
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->success);
  EXPECT_EQ(r->reason, "unauthorized: check access_token (status 401)");

  ASSERT_TRUE(Load());
  api_.Answer("/postgrest", {502, kJson, "bad gateway"});
  r = Run("project_config", 30s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->reason, "GET /postgrest: status 502, expected 200");

  api_.Answer("/postgrest", {200, kJson, R"({"db_schema": )"});
  r = Run("project_config", 30s);
  ASSERT_TRUE(r);
  EXPECT_THAT(r->reason, ::testing::StartsWith("GET /postgrest: malformed JSON: "));

  api_.Answer("/postgrest", {200, kJson, "{}"});
  api_.Answer("/secrets", {200, kJson, R"({"STRIPE_KEY": "sk_live_x"})"});
  r = Run("project_config", 30s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->reason, "GET /secrets: malformed response: expected a list of {name, value}");
  // No run of these is complete, so none is listed.
  for (const auto& [path, text] : Stored()) EXPECT_THAT(path, Not(HasSubstr("manifest.json"))) << path;
}

TEST_F(BackupSupabaseConfigTest, RateLimitedAnswersWaitForRetryAfter) {
  api_.AnswerOnce("/postgrest", {429, {{"Retry-After", "1"}}, R"({"message":"Too many requests"})"});
  ASSERT_TRUE(Load());
  auto r = Run("project_config", 30s);
  ASSERT_TRUE(r && r->success) << (r ? r->reason : "timed out");
  EXPECT_EQ(api_.Calls("/postgrest"), 2);

  // A Retry-After beyond a minute is not waited for in the run.
  api_.AnswerOnce("/config/auth", {429, {{"Retry-After", "600"}}, "{}"});
  r = Run("project_config", 30s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->reason, "GET /config/auth: rate limited, retry in 600s");
}

TEST_F(BackupSupabaseConfigTest, HostileFunctionSlugsNeverBecomePaths) {
  api_.Answer("/functions", {200, kJson,
                             R"([{"slug": "../../../etc/cron.d/x"}, {"slug": "ok-fn"}, {"slug": 7}, {"id": "no-slug"}])"});
  api_.Answer("/functions/ok-fn/body", {200, {}, "bundle"});
  ASSERT_TRUE(Load());
  auto r = Run("project_config", 30s);
  ASSERT_TRUE(r && r->success) << (r ? r->reason : "timed out");
  auto files = NewestRun();
  EXPECT_EQ(files["function-ok-fn.body"], "bundle");
  EXPECT_THAT(files["sections.json"], HasSubstr("\"function:../../../etc/cron.d/x\": \"skipped: unsafe slug\""));
  for (const auto& [path, _] : Stored()) EXPECT_THAT(path, ::testing::StartsWith("project_config/")) << path;
}

TEST_F(BackupSupabaseConfigTest, EncryptedRunsHoldNoPlaintext) {
  std::string key = backup::GenerateKeyBase64();
  ASSERT_TRUE(Load("    encryption: {key: \"" + key + "\"}\n"));
  auto r = Run("project_config", 30s);
  ASSERT_TRUE(r && r->success) << (r ? r->reason : "timed out");
  auto files = NewestRun();
  ASSERT_TRUE(files.contains("auth.json.enc"));
  EXPECT_FALSE(files.contains("auth.json"));
  for (const auto& [name, text] : files) {
    if (name != "manifest.json") EXPECT_THAT(text, Not(HasSubstr("cms.example.com"))) << name;
  }
  backup::KeyRing ring;
  ring.keys.push_back(*backup::BackupKey::FromBase64(key));
  std::string error;
  auto plain = backup::DecryptBuffer(ring, "auth.json.enc", files["auth.json.enc"], error);
  ASSERT_TRUE(plain) << error;
  EXPECT_THAT(*plain, HasSubstr("\"site_url\": \"https://cms.example.com\""));
}

TEST(BackupSupabaseConfigCatalogue, NeedsAStorageTarget) {
  std::string targets = std::string("targets:\n  supa: {type: supabase, project_ref: ") + FakeManagementApi::kRef +
                        ", access_token: x}\n  db: {type: postgres, dsn: \"host=127.0.0.1\"}\nchecks:\n";
  auto loaded = catalogue::LoadCatalogueText(
      targets + "  - {name: c, kind: backup.supabase_config, target: supa}\n", "bad_supabase_config.yml");
  ASSERT_EQ(loaded.errors.size(), 1u);
  EXPECT_THAT(loaded.errors[0], HasSubstr("checks[0].storage: missing required key"));
  loaded = catalogue::LoadCatalogueText(
      targets + "  - {name: c, kind: backup.supabase_config, target: supa, storage: db}\n", "bad_supabase_config.yml");
  ASSERT_EQ(loaded.errors.size(), 1u);
  EXPECT_THAT(loaded.errors[0], HasSubstr("storage"));
}

}  // namespace
}  // namespace drwatch::test
