// Kind supabase.backups against a small fake Management API on a loopback
// port that answers in the documented shape.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

#include "common/iso8601.hpp"
#include "common/redact.hpp"
#include "catalogue/catalogue.hpp"
#include "support/pg_cluster.hpp"
#include "support/test_http_server.hpp"
#include "engine/run_once.hpp"

namespace drwatch::test {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using Errors = std::vector<std::string>;
using std::chrono::system_clock;

constexpr char kRef[] = "abcdefghijklmnopqrst";
constexpr char kToken[] = "sbp_5ecret_t0ken_4711";
constexpr char kPath[] = "/v1/projects/abcdefghijklmnopqrst/database/backups";

std::string Backup(const std::string& status, system_clock::time_point at) {
  return R"({"is_physical_backup": true, "status": ")" + status + R"(", "inserted_at": ")" + FormatRfc3339(at) + "\"}";
}

std::string Answer(const std::vector<std::string>& backups, bool walg = true, bool pitr = false,
                   const std::string& physical = R"({"earliest_physical_backup_date_unix": 1700000000})") {
  std::string list;
  for (const auto& b : backups) list += (list.empty() ? "" : ", ") + b;
  return std::string(R"({"region": "eu-central-1", "walg_enabled": )") + (walg ? "true" : "false") +
         R"(, "pitr_enabled": )" + (pitr ? "true" : "false") + R"(, "backups": [)" + list +
         R"(], "physical_backup_data": )" + physical + "}";
}

long long Unix(system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

// physical_backup_data as the API sends it with PITR: the restorable range.
std::string Physical(system_clock::time_point earliest, system_clock::time_point latest) {
  return R"({"earliest_physical_backup_date_unix": )" + std::to_string(Unix(earliest)) +
         R"(, "latest_physical_backup_date_unix": )" + std::to_string(Unix(latest)) + "}";
}

// The fake API: checks the path and the token like the real one.
class FakeApi {
 public:
  FakeApi() {
    server_.SetHandler([this](const RecordedRequest& req) -> ScriptedResponse {
      if (req.Header("Authorization") != std::string("Bearer ") + kToken) return {401, {}, R"({"message":"Unauthorized"})"};
      if (req.method != "GET" || req.target != kPath) return {404, {}, "{}"};
      std::lock_guard lock(mu_);
      return next_;
    });
  }
  void Answer(ScriptedResponse r) {
    std::lock_guard lock(mu_);
    next_ = std::move(r);
  }
  TestHttpServer& server() { return server_; }

 private:
  std::mutex mu_;
  ScriptedResponse next_{200, {{"Content-Type", "application/json"}}, "{}"};
  TestHttpServer server_;
};

class SupabaseBackupsTest : public ::testing::Test {
 protected:
  std::shared_ptr<const catalogue::Catalogue> Load(const std::string& api_url, const std::string& token = kToken,
                                                const std::string& check_keys = "    max_age: 25h\n") {
    std::string text = "targets:\n  supa:\n    type: supabase\n    project_ref: " + std::string(kRef) +
                       "\n    access_token: \"" + token + "\"\n    api_url: \"" + api_url +
                       "\"\nchecks:\n  - name: backups\n    kind: supabase.backups\n    target: supa\n" + check_keys;
    auto loaded = catalogue::LoadCatalogueText(text, "supabase_test.yml");
    std::string errors;
    for (const auto& e : loaded.errors) errors += e + "\n";
    EXPECT_TRUE(loaded.catalogue) << errors;
    if (loaded.catalogue) target_ = loaded.catalogue->targets.at("supa")->MakeRuntime(io_.get_executor(), pool_);
    catalogue_ = loaded.catalogue;
    return loaded.catalogue;
  }

  std::optional<probes::ProbeResult> Run(std::chrono::milliseconds timeout = 5s) {
    const auto& check = catalogue_->checks.at(0);
    auto ctx = engine::MakeRunContext(io_.get_executor(), pool_, check, *target_, timeout, Clock::now() + timeout);
    return RunWithDeadline(io_, check.probe->Run(ctx), timeout);
  }

  std::map<std::string, double> Samples(const probes::ProbeResult& r) {
    std::map<std::string, double> out;
    for (const auto& s : r.samples) out[s.name + (s.labels.empty() ? "" : "{" + s.labels[0].second + "}")] = s.value;
    return out;
  }

  void TearDown() override {
    if (Clock::Frozen()) Clock::Unfreeze();
  }

  boost::asio::io_context io_;
  BlockingPool pool_{2};
  std::shared_ptr<const catalogue::Catalogue> catalogue_;
  std::shared_ptr<targets::TargetRuntime> target_;
  FakeApi api_;
};

TEST_F(SupabaseBackupsTest, AgeOfTheNewestCompletedBackup) {
  auto now = system_clock::now();
  api_.Answer({200, {}, Answer({Backup("COMPLETED", now - 26h), Backup("COMPLETED", now - 2h),
                                 Backup("FAILED", now - 10min), Backup("PENDING", now - 1min)},
                                true, true)});
  ASSERT_TRUE(Load(api_.server().Url()));
  auto r = Run();
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->success) << r->reason;
  EXPECT_EQ(r->reason, "newest completed backup is 2h old");
  ASSERT_TRUE(r->observed);
  EXPECT_NEAR(*r->observed, 7200, 5);
  auto samples = Samples(*r);
  EXPECT_NEAR(samples["drwatch_data_age_seconds"], 7200, 5);
  EXPECT_EQ(samples["drwatch_supabase_pitr_enabled"], 1);
  EXPECT_EQ(samples["drwatch_http_status_code"], 200);
  EXPECT_TRUE(samples.contains("drwatch_http_phase_duration_seconds{first_byte}"));
  std::vector<metrics::Sample> fixed;
  catalogue_->checks[0].probe->StaticSamples(fixed);
  ASSERT_EQ(fixed.size(), 1u);
  EXPECT_EQ(fixed[0].name, "drwatch_data_max_age_seconds");
  EXPECT_EQ(fixed[0].value, 25 * 3600);
  EXPECT_EQ(catalogue_->checks[0].interval, 15min);  // the kind's default interval
}

// Not a benchmark: the order of magnitude of one run (30 backups listed), for the notes.
TEST_F(SupabaseBackupsTest, CostOfOneRun) {
  std::vector<std::string> backups;
  for (int day = 0; day < 30; ++day) backups.push_back(Backup("COMPLETED", system_clock::now() - day * 24h - 1h));
  std::string answer = Answer(backups);
  api_.Answer({200, {}, answer});
  ASSERT_TRUE(Load(api_.server().Url()));
  constexpr int kRuns = 50;
  auto start = std::chrono::steady_clock::now();
  std::clock_t cpu_start = std::clock();
  for (int i = 0; i < kRuns; ++i) ASSERT_TRUE(Run()->success);
  double wall_us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count();
  double cpu_us = 1e6 * static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC;
  std::cout << "[ cost     ] one supabase.backups run (fake API in-process, " << answer.size()
            << " B answer): " << wall_us / kRuns << " us wall, " << cpu_us / kRuns << " us CPU (client and server)\n";
}

TEST_F(SupabaseBackupsTest, AgeIsTakenAgainstTheServersDate) {
  auto inserted = system_clock::time_point(std::chrono::seconds(1764037800));  // 2025-11-25T02:30:00Z
  api_.Answer({200, {{"Date", "Tue, 25 Nov 2025 05:30:00 GMT"}}, Answer({Backup("COMPLETED", inserted)})});
  ASSERT_TRUE(Load(api_.server().Url()));
  auto r = Run();
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->success) << r->reason;
  EXPECT_EQ(*r->observed, 3 * 3600);
  EXPECT_EQ(Samples(*r)["drwatch_supabase_pitr_enabled"], 0);
}

TEST_F(SupabaseBackupsTest, FailsWhenTheNewestIsTooOld) {
  auto now = system_clock::now();
  api_.Answer({200, {}, Answer({Backup("COMPLETED", now - 50h)})});
  ASSERT_TRUE(Load(api_.server().Url()));
  auto r = Run();
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->success);
  EXPECT_EQ(r->reason, "newest completed backup is 2d2h old, max_age 1d1h");
  EXPECT_NEAR(Samples(*r)["drwatch_data_age_seconds"], 50 * 3600, 5);
}

TEST_F(SupabaseBackupsTest, WalgWithAnEmptyListIsNoBackup) {
  api_.Answer({200, {}, Answer({}, true)});
  ASSERT_TRUE(Load(api_.server().Url()));
  auto r = Run();
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->success);
  EXPECT_EQ(r->reason, "no completed backup (walg_enabled is true, but no backup is listed)");
  EXPECT_FALSE(Samples(*r).contains("drwatch_data_age_seconds"));

  api_.Answer({200, {}, Answer({Backup("FAILED", system_clock::now())}, false)});
  r = Run();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->reason, "no completed backup");
}

// The probe measures ages against the answer's Date: a fixed one makes the
// texts exact.
const system_clock::time_point kServerNow{std::chrono::seconds(1764048600)};
const ServerHeaders kServerDate{{"Date", "Tue, 25 Nov 2025 05:30:00 GMT"}};

// With PITR, Supabase takes no daily logical backups: an empty list is fine
// while the newest restorable point is recent.
TEST_F(SupabaseBackupsTest, PitrJudgesTheNewestRestorablePoint) {
  auto now = kServerNow;
  api_.Answer({200, kServerDate, Answer({}, true, true, Physical(now - 2min - 7 * 24h - 3h, now - 2min))});
  ASSERT_TRUE(Load(api_.server().Url(), kToken, "    max_age: 10m\n"));
  auto r = Run();
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->success) << r->reason;
  EXPECT_EQ(r->reason, "newest restorable point is 2m old, PITR window 7d3h");
  auto samples = Samples(*r);
  EXPECT_EQ(samples["drwatch_data_age_seconds"], 120);
  EXPECT_EQ(samples["drwatch_supabase_pitr_window_seconds"], (7 * 24 + 3) * 3600);
  EXPECT_EQ(samples["drwatch_supabase_pitr_enabled"], 1);

  // WAL archiving stalled: the newest restorable point falls behind.
  api_.Answer({200, kServerDate, Answer({}, true, true, Physical(now - 7 * 24h, now - 25min))});
  r = Run();
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->success);
  EXPECT_EQ(r->reason, "newest restorable point is 25m old, max_age 10m");
  EXPECT_EQ(Samples(*r)["drwatch_data_age_seconds"], 1500);
}

TEST_F(SupabaseBackupsTest, PitrWindowShorterThanMinPitrWindowFails) {
  auto now = kServerNow;
  api_.Answer({200, kServerDate, Answer({}, true, true, Physical(now - 3 * 24h - 1min, now - 1min))});
  ASSERT_TRUE(Load(api_.server().Url(), kToken, "    max_age: 10m\n    min_pitr_window: 7d\n"));
  std::vector<metrics::Sample> fixed;
  catalogue_->checks[0].probe->StaticSamples(fixed);
  ASSERT_EQ(fixed.size(), 2u);
  EXPECT_EQ(fixed[1].name, "drwatch_supabase_min_pitr_window_seconds");
  EXPECT_EQ(fixed[1].value, 7 * 24 * 3600);

  auto r = Run();
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->success);
  EXPECT_EQ(r->reason, "PITR window 3d, min_pitr_window 7d");
  EXPECT_EQ(*r->observed, 60);
  auto samples = Samples(*r);
  EXPECT_EQ(samples["drwatch_supabase_pitr_window_seconds"], 3 * 24 * 3600);
  EXPECT_TRUE(samples.contains("drwatch_data_age_seconds"));

  api_.Answer({200, kServerDate, Answer({}, true, true, Physical(now - 1min - 8 * 24h, now - 1min))});
  r = Run();
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->success) << r->reason;
  EXPECT_EQ(r->reason, "newest restorable point is 1m old, PITR window 8d");
}

TEST_F(SupabaseBackupsTest, MinPitrWindowWithoutPitrFails) {
  auto now = kServerNow;
  api_.Answer({200, kServerDate, Answer({Backup("COMPLETED", now - 1h)}, true, false)});
  ASSERT_TRUE(Load(api_.server().Url(), kToken, "    max_age: 25h\n    min_pitr_window: 7d\n"));
  auto r = Run();
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->success);
  EXPECT_EQ(r->reason, "point-in-time recovery is not enabled, min_pitr_window 7d");
  EXPECT_EQ(Samples(*r)["drwatch_supabase_pitr_enabled"], 0);
}

// A completed backup newer than the newest restorable point is what counts.
TEST_F(SupabaseBackupsTest, PitrTakesANewerCompletedBackup) {
  auto now = kServerNow;
  api_.Answer({200, kServerDate, Answer({Backup("COMPLETED", now - 1h)}, true, true, Physical(now - 30h, now - 5h))});
  ASSERT_TRUE(Load(api_.server().Url()));
  auto r = Run();
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->success) << r->reason;
  EXPECT_EQ(r->reason, "newest completed backup is 1h old, PITR window 1d1h");
}

TEST_F(SupabaseBackupsTest, PitrWithoutARestorablePointIsMalformed) {
  ASSERT_TRUE(Load(api_.server().Url(), kToken, "    max_age: 10m\n    min_pitr_window: 7d\n"));
  for (std::string physical : {std::string(R"({"earliest_physical_backup_date_unix": 1700000000})"),
                               std::string(R"({"latest_physical_backup_date_unix": "yesterday"})"),
                               std::string(R"({"latest_physical_backup_date_unix": -5})"),
                               std::string(R"({"latest_physical_backup_date_unix": 1e300})"), std::string("null")}) {
    api_.Answer({200, {}, Answer({}, true, true, physical)});
    auto r = Run();
    ASSERT_TRUE(r);
    EXPECT_FALSE(r->success) << physical;
    EXPECT_EQ(r->reason,
              "malformed response: pitr_enabled is true, but physical_backup_data has no "
              "latest_physical_backup_date_unix")
        << physical;
  }
  api_.Answer({200, {}, Answer({}, true, true, R"({"latest_physical_backup_date_unix": )" +
                                                   std::to_string(Unix(system_clock::now())) + "}")});
  auto r = Run();
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->success);
  EXPECT_EQ(r->reason,
            "malformed response: physical_backup_data has no earliest_physical_backup_date_unix, so the PITR "
            "window is unknown");
}

TEST_F(SupabaseBackupsTest, UnauthorizedNamesTheToken) {
  ASSERT_TRUE(Load(api_.server().Url(), "sbp_wrong_token_0000"));
  auto r = Run();
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->success);
  EXPECT_EQ(r->reason, "unauthorized: check access_token (status 401)");
  EXPECT_EQ(api_.server().Requests().at(0).Header("Authorization"), "Bearer sbp_wrong_token_0000");
  // A literal token is a secret too.
  EXPECT_EQ(Redactor::Global().Apply("token sbp_wrong_token_0000"), "token <redacted>");
}

TEST_F(SupabaseBackupsTest, RateLimitHonoursRetryAfter) {
  Clock::Freeze();
  api_.Answer({429, {{"Retry-After", "30"}}, R"({"message":"Too many requests"})"});
  ASSERT_TRUE(Load(api_.server().Url()));
  auto r = Run();
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->success);
  EXPECT_EQ(r->reason, "rate limited, retry in 30s");
  EXPECT_EQ(api_.server().requests(), 1);

  Clock::Advance(10s);
  api_.Answer({200, {}, Answer({Backup("COMPLETED", system_clock::now() - 1h)})});
  r = Run();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->reason, "rate limited, retry in 20s");
  EXPECT_EQ(api_.server().requests(), 1);  // the API was not called

  Clock::Advance(21s);
  r = Run();
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->success) << r->reason;
  EXPECT_EQ(api_.server().requests(), 2);
}

TEST_F(SupabaseBackupsTest, MalformedAnswersFailWithAReason) {
  ASSERT_TRUE(Load(api_.server().Url()));
  api_.Answer({200, {}, R"({"backups": [ {"status": "COMPLETED", )"});
  auto r = Run();
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->success);
  EXPECT_THAT(r->reason, StartsWith("malformed JSON: "));

  api_.Answer({200, {}, R"({"region": "x", "backups": null})"});
  r = Run();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->reason, "malformed response: no \"backups\" list");

  api_.Answer({200, {}, R"([1, 2])"});
  r = Run();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->reason, "malformed response: no \"backups\" list");

  api_.Answer({200, {}, R"({"backups": [{"status": "COMPLETED", "inserted_at": "yesterday"}]})"});
  r = Run();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->reason, "malformed response: backups[0].inserted_at is not a timestamp");

  api_.Answer({500, {}, "oops"});
  r = Run();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->reason, "status 500, expected 200");
}

// The API never answers: only the deadline, fired on the loop while the
// request still waits, can end the run.
TEST_F(SupabaseBackupsTest, AStallingApiEndsByTheDeadline) {
  TestHttpServer stall({.stall = true});
  ASSERT_TRUE(Load(stall.Url()));
  auto start = std::chrono::steady_clock::now();
  auto r = Run(300ms);
  auto elapsed = Since(start);
  EXPECT_FALSE(r);
  EXPECT_GE(elapsed, 290ms);
  EXPECT_LT(elapsed, WellWithin(300ms));
}

// Loop lag is the point here: the suite is labelled `timing` (CTest runs it
// alone) and compares with the same loop's idle baseline.
class SupabaseBackupsTiming : public SupabaseBackupsTest {};

TEST_F(SupabaseBackupsTiming, AStallingApiDoesNotLagTheLoop) {
  TestHttpServer stall({.stall = true});
  ASSERT_TRUE(Load(stall.Url()));
  auto lag = MeasureLoopLag(io_, [&] { EXPECT_FALSE(Run(1s)); });
  EXPECT_LT(lag.busy, lag.idle + kLagSlack) << "idle baseline " << lag.idle.count() << " ms";
}

TEST_F(SupabaseBackupsTest, TheCheckIntervalOverridesTheKindDefault) {
  ASSERT_TRUE(Load(api_.server().Url(), kToken, "    max_age: 25h\n    interval: 1h\n"));
  EXPECT_EQ(catalogue_->checks[0].interval, 1h);
  auto spec = catalogue_->targets.at("supa");
  EXPECT_EQ(spec->type, "supabase");
}

}  // namespace
}  // namespace drwatch::test
