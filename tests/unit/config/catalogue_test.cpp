#include "catalogue/catalogue.hpp"
#include "probes/probe.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <set>

#include "support/bad_fixtures.hpp"
#include "targets/http_target.hpp"
#include "targets/postgres_target.hpp"

namespace drwatch::catalogue {
namespace {

using namespace std::chrono_literals;
using Errors = std::vector<std::string>;
using test::TestDataPath;

const std::vector<test::BadCase> kBadCases = {
    {"bad_yaml_syntax.yml", {":8:11: invalid YAML: end of sequence flow not found"}},
    {"bad_top_level.yml",
     {":2:1: expected a mapping at the top level (global, targets, objectives, checks)"}},
    {"bad_empty.yml", {":1:1: the catalogue is empty"}},
    {"bad_yaml_stray_comma.yml", {":2:1: invalid YAML: unexpected text here (outside any mapping or list)"}},
    {"bad_multiple_documents.yml", {":9:1: a second YAML document (a catalogue is one document)"}},
    {"bad_unknown_key_top.yml", {":9:1: check: unknown key"}},
    {"bad_unknown_key_global.yml", {":2:3: global.intervall: unknown key"}},
    {"bad_unknown_key_target.yml", {":5:5: targets.primary.sslmode: unknown key"}},
    {"bad_unknown_key_objectives.yml", {":7:3: objectives.slo: unknown key"}},
    {"bad_unknown_key_check.yml", {":9:5: checks[0].query: unknown key"}},
    {"bad_duplicate_key.yml", {":9:5: checks[0].name: duplicate key (first at 6:5)"}},
    {"bad_non_string_key.yml", {":9:1: keys must be strings"}},
    {"bad_expected_string.yml", {":4:10: targets.primary.dsn: expected a string"}},
    {"bad_expected_mapping.yml", {":1:9: global: expected a mapping"}},
    {"bad_expected_list.yml", {":6:3: checks: expected a list"}},
    {"bad_check_not_mapping.yml", {":9:5: checks[1]: expected a mapping"}},
    {"bad_missing_key.yml", {":6:5: checks[0].target: missing required key"}},
    {"bad_no_checks.yml", {":5:9: checks: no checks (declare at least one)"}},
    {"bad_duration.yml",
     {":2:13: global.interval: invalid duration \"30sec\" (use e.g. 500ms, 30s, 5m, 1h30m, 7d)"}},
    {"bad_check_name.yml",
     {":6:11: checks[0].name: invalid check name \"DB-Connectivity\" (use [a-z][a-z0-9_]*)"}},
    {"bad_target_name.yml", {":2:3: targets.Primary: invalid target name \"Primary\" (use [a-z][a-z0-9_]*)"}},
    {"bad_objective_name.yml",
     {":7:5: objectives.rpo.Daily-Ops: invalid objective name \"Daily-Ops\" (use [a-z][a-z0-9_]*)"}},
    {"bad_duplicate_check.yml",
     {":9:11: checks[1].name: duplicate check name \"db_connectivity\" (first at 6:11)"}},
    {"bad_target_type.yml",
     {":3:11: targets.primary.type: unknown target type \"mysql\" (known: postgres, http, supabase, storage)"}},
    {"bad_kind.yml",
     {":7:11: checks[0].kind: unknown kind \"postgres.pong\" (known: postgres.ping, postgres.recency, "
      "postgres.query, postgres.wal_archive, postgres.replication, postgres.security, postgres.baseline, http, supabase.backups, storage.reachable, "
      "storage.freshness, storage.replication, backup.pg_dump, backup.files, backup.supabase_config, restore.drill, postgres.schema_drift)"}},
    {"bad_unknown_target.yml", {":8:13: checks[0].target: unknown target \"replica\" (declared: primary)"}},
    {"bad_unknown_objective.yml",
     {":14:16: checks[0].objective: unknown objective \"rpo.weekly\" (declared: rpo.realtime, "
      "rpo.daily_operations, rto.authentication)"}},
    {"bad_objective_format.yml",
     {":13:16: checks[0].objective: invalid objective \"daily_operations\" (use rpo.<name> or rto.<name>)"}},
    {"bad_kind_target_type.yml",
     {":8:13: checks[0].target: kind postgres.ping needs a postgres target, \"web\" is http"}},
    {"bad_timeout_interval.yml",
     {":9:15: checks[0].interval: timeout 10s (global.timeout) must be shorter than interval 5s"}},
    {"bad_global_timeout.yml", {":3:12: global.timeout: timeout 10s must be shorter than interval 10s"}},
    {"bad_schedule_and_interval.yml",
     {":10:15: checks[0].schedule: schedule and interval exclude each other (set one)"}},
    {"bad_schedule_format.yml",
     {":9:15: checks[0].schedule: invalid schedule \"every day at 2\" (use \"daily HH:MM\" or "
      "\"weekly <mon|tue|wed|thu|fri|sat|sun> HH:MM\", UTC)"}},
    {"bad_schedule_hour.yml",
     {":9:15: checks[0].schedule: invalid schedule \"daily 24:00\": hour 24 is out of range (00-23)"}},
    {"bad_schedule_day.yml",
     {":9:15: checks[0].schedule: invalid schedule \"weekly sunday 03:00\": unknown day \"sunday\" "
      "(use mon, tue, wed, thu, fri, sat or sun)"}},
    {"bad_schedule_timeout.yml",
     {":10:14: checks[0].timeout: timeout 1d must be shorter than the schedule's period 1d"}},
    {"bad_max_concurrency.yml", {":2:20: global.max_concurrency: expected an integer between 1 and 10000"}},
    {"bad_plain_http_token.yml",
     {":4:10: targets.edge.url: plain http:// would send the credentials in its URL or headers in clear text to "
      "functions.example.com: use https://, or set insecure: true on this target to accept that",
      ":11:14: targets.supabase.api_url: plain http:// would send the access token in clear text to "
      "api.supabase.example: use https://, or set insecure: true on this target to accept that",
      ":15:15: targets.offsite.endpoint: plain http:// would send requests signed with the S3 keys (and the backups) "
      "in clear text to minio.example.net: use https://, or set insecure: true on this target to accept that"}},
    {"bad_env_unset.yml",
     {":4:10: targets.primary.dsn: environment variable DRWATCH_TEST_UNSET_DSN is not set"}},
    {"bad_file_missing.yml",
     {":4:10: targets.primary.dsn: cannot read file /nonexistent/drwatch/dsn: No such file or directory"}},
    {"bad_bool.yml", {":5:27: targets.web.insecure_skip_verify: expected true or false"}},
    {"bad_http_url.yml", {":4:10: targets.web.url: expected a URL starting with http:// or https://"}},
    {"bad_http_header.yml", {":6:7: targets.web.headers.X Bad: invalid header name"}},
    {"bad_postgres_dsn.yml",
     {":4:10: targets.primary.dsn: invalid connection string: missing \"=\" after a keyword"}},
    {"bad_probe_key.yml",
     {":10:13: checks[0].labels: invalid label name \"check\" (use [a-z_][a-z0-9_]*, not check or target)"}},
    {"bad_many.yml",
     {":2:13: global.interval: invalid duration \"30sec\" (use e.g. 500ms, 30s, 5m, 1h30m, 7d)",
      ":3:20: global.max_concurrency: expected an integer between 1 and 10000",
      ":11:13: checks[0].target: unknown target \"replica\" (declared: primary)",
      ":16:14: checks[1].max_age: invalid duration \"forever\" (use e.g. 500ms, 30s, 5m, 1h30m, 7d)",
      ":17:5: checks[1].extra: unknown key"}},
};

class BadCatalogue : public testing::TestWithParam<test::BadCase> {};

TEST_P(BadCatalogue, ReportsExactErrors) {
  unsetenv("DRWATCH_TEST_UNSET_DSN");
  test::ExpectRefused(GetParam());
}

INSTANTIATE_TEST_SUITE_P(Fixtures, BadCatalogue, testing::ValuesIn(kBadCases), test::BadCaseName);

TEST(LoadCatalogueFile, ReportsAnUnreadableFile) {
  LoadResult result = LoadCatalogueFile("/nonexistent/drwatch.yml");
  EXPECT_EQ(result.catalogue, nullptr);
  EXPECT_EQ(result.errors, Errors{"/nonexistent/drwatch.yml: cannot read: No such file or directory"});
}

// Credentials over plain http:// are refused (bad_plain_http_token.yml)
// except on loopback, with insecure: true, or when none is sent.
TEST(LoadCatalogueFile, PlainHttpIsAcceptedOnLoopbackWithInsecureOrWithoutCredentials) {
  LoadResult plain = LoadCatalogueFile(TestDataPath("good_plain_http_insecure.yml"));
  ASSERT_TRUE(plain.errors.empty()) << plain.errors.front();
}

TEST(LoadCatalogueFile, AppliesDefaults) {
  LoadResult result = LoadCatalogueFile(TestDataPath("good_minimal.yml"));
  ASSERT_EQ(result.errors, Errors{});
  const Catalogue& cat = *result.catalogue;
  EXPECT_EQ(cat.file, TestDataPath("good_minimal.yml"));
  EXPECT_EQ(cat.global.interval, 30s);
  EXPECT_EQ(cat.global.timeout, 10s);
  EXPECT_EQ(cat.global.max_concurrency, 32);
  EXPECT_TRUE(cat.objectives.empty());
  ASSERT_EQ(cat.targets.size(), 1u);
  const auto& target = *cat.targets.at("primary");
  EXPECT_EQ(target.name, "primary");
  EXPECT_EQ(target.type, "postgres");
  EXPECT_EQ(dynamic_cast<const targets::PostgresTargetSpec&>(target).conninfo,
            "host=127.0.0.1 port=5432 dbname=x user=u password=secretpw");
  ASSERT_EQ(cat.checks.size(), 1u);
  const CheckSpec& check = cat.checks[0];
  EXPECT_EQ(check.name, "db_connectivity");
  EXPECT_EQ(check.kind, "postgres.ping");
  EXPECT_EQ(check.target, "primary");
  EXPECT_EQ(check.interval, 30s);
  EXPECT_EQ(check.timeout, 10s);
  EXPECT_EQ(check.objective, "");
  EXPECT_NE(check.probe, nullptr);
  EXPECT_FALSE(check.fingerprint.empty());
}

TEST(LoadCatalogueFile, ReadsEveryKey) {
  LoadResult result = LoadCatalogueFile(TestDataPath("good_full.yml"));
  ASSERT_EQ(result.errors, Errors{});
  const Catalogue& cat = *result.catalogue;
  EXPECT_EQ(cat.global.interval, 1min);
  EXPECT_EQ(cat.global.timeout, 20s);
  EXPECT_EQ(cat.global.max_concurrency, 8);

  const auto& web = dynamic_cast<const targets::HttpTargetSpec&>(*cat.targets.at("web"));
  EXPECT_EQ(web.type, "http");
  EXPECT_EQ(web.url, "https://app.example.com/healthz");
  using Headers = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(web.headers,
            (Headers{{"Authorization", "Bearer secret-token-value"}, {"X-Request-Source", "drwatch"}}));
  EXPECT_EQ(web.ca_file, "/etc/ssl/certs/ca-certificates.crt");
  EXPECT_FALSE(web.insecure_skip_verify);

  ASSERT_EQ(cat.objectives.size(), 3u);
  EXPECT_EQ(cat.objectives[0].id(), "rpo.realtime");
  EXPECT_EQ(cat.objectives[0].target, 5min);
  EXPECT_EQ(cat.objectives[1].id(), "rpo.daily_operations");
  EXPECT_EQ(cat.objectives[1].target, 24h);
  EXPECT_EQ(cat.objectives[2].id(), "rto.authentication");

  ASSERT_EQ(cat.checks.size(), 3u);
  EXPECT_EQ(cat.checks[0].interval, 15s);
  EXPECT_EQ(cat.checks[0].timeout, 5s);
  EXPECT_EQ(cat.checks[1].name, "audit_logs_recency");
  EXPECT_EQ(cat.checks[1].interval, 1min);
  EXPECT_EQ(cat.checks[1].timeout, 20s);
  EXPECT_EQ(cat.checks[1].objective, "rpo.daily_operations");
  EXPECT_EQ(cat.checks[2].kind, "postgres.query");
  EXPECT_EQ(cat.checks[2].interval, 2min);
}

TEST(LoadCatalogueFile, LoadsTheExampleCatalogue) {
  setenv("PRMCMS_DSN", "host=127.0.0.1 port=5432 dbname=prmcms user=drwatch password=example-pw", 1);
  setenv("SUPABASE_ANON_KEY", "example-anon-key", 1);
  setenv("SUPABASE_ACCESS_TOKEN", "sbp_example_token", 1);
  setenv("S3_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
  setenv("S3_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", 1);
  std::string path = std::string(DRWATCH_SOURCE_DIR) + "/config/drwatch.example.yml";
  LoadResult result = LoadCatalogueFile(path);
  ASSERT_EQ(result.errors, Errors{});
  const Catalogue& cat = *result.catalogue;
  EXPECT_EQ(cat.objectives.size(), 7u);
  EXPECT_GE(cat.checks.size(), 3u);
  std::set<std::string> kinds;
  for (const auto& check : cat.checks) kinds.insert(check.kind);
  std::set<std::string> registered;  // the example shows every kind there is
  for (const auto& kind : probes::ProbeKinds()) registered.insert(std::string(kind.name));
  EXPECT_EQ(kinds, registered);
}

TEST(LoadCatalogueFile, LoadsTheDemoCatalogue) {
  setenv("PRMCMS_DSN", "host=127.0.0.1 port=5432 dbname=prmcms user=drwatch password=example-pw", 1);
  setenv("DEMO_DRILL_DSN", "host=127.0.0.1 port=5432 dbname=drill user=drwatch password=example-pw", 1);
  setenv("DEMO_BACKUPS", "/tmp/drwatch-demo/backups", 1);
  setenv("DEMO_FUNCTIONS", "/tmp/drwatch-demo/functions", 1);
  LoadResult result = LoadCatalogueFile(std::string(DRWATCH_SOURCE_DIR) + "/config/demo.yml");
  EXPECT_EQ(result.errors, Errors{});
}

constexpr const char* kBase = R"(targets:
  primary:
    type: postgres
    dsn: "host=127.0.0.1 port=5432 dbname=x user=u password=secretpw"
)";

TEST(LoadCatalogueText, RedactsExpandedSecretsInErrors) {
  setenv("DRWATCH_TEST_CAT_OBJECTIVE", "rpo.hunter2objective", 1);
  std::string text = std::string(kBase) + R"(checks:
  - name: audit_logs_recency
    kind: postgres.recency
    target: primary
    query: "SELECT max(created_at) FROM t"
    max_age: 1h
    objective: "${env:DRWATCH_TEST_CAT_OBJECTIVE}"
)";
  LoadResult result = LoadCatalogueText(text, "f.yml");
  EXPECT_EQ(
      result.errors,
      Errors{
          "f.yml:11:16: checks[0].objective: unknown objective \"<redacted>\" (no objectives are declared)"});
}

TEST(LoadCatalogueText, UnknownKindDoesNotReportItsKeys) {
  std::string text = std::string(kBase) + R"(checks:
  - name: q
    kind: postgres.sql
    target: primary
    query: "SELECT 1"
)";
  LoadResult result = LoadCatalogueText(text, "f.yml");
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_TRUE(result.errors[0].starts_with("f.yml:7:11: checks[0].kind: unknown kind \"postgres.sql\""));
}

TEST(LoadCatalogueText, ABrokenTargetIsReportedOnce) {
  std::string text = R"(targets:
  primary:
    type: mysql
checks:
  - name: ping
    kind: postgres.ping
    target: primary
)";
  LoadResult result = LoadCatalogueText(text, "f.yml");
  EXPECT_EQ(
      result.errors,
      Errors{"f.yml:3:11: targets.primary.type: unknown target type \"mysql\" (known: postgres, http, supabase, storage)"});
}

TEST(LoadCatalogueText, RequiresTargetsAndChecks) {
  LoadResult result = LoadCatalogueText("global: {interval: 1m}\n", "f.yml");
  EXPECT_EQ(result.errors,
            (Errors{"f.yml:1:1: targets: missing required key", "f.yml:1:1: checks: missing required key"}));
}

TEST(LoadCatalogueText, TimeoutAndIntervalSetOnTheCheck) {
  std::string text = std::string(kBase) + R"(checks:
  - name: ping
    kind: postgres.ping
    target: primary
    interval: 5s
    timeout: 5s
)";
  LoadResult result = LoadCatalogueText(text, "f.yml");
  EXPECT_EQ(result.errors,
            Errors{"f.yml:10:14: checks[0].timeout: timeout 5s must be shorter than interval 5s"});
}

TEST(LoadCatalogueText, ScheduleSetsThePeriodAsInterval) {
  std::string text = std::string(kBase) + R"(checks:
  - name: ping
    kind: postgres.ping
    target: primary
    schedule: "weekly sun 04:00"
    timeout: 1h
)";
  LoadResult result = LoadCatalogueText(text, "f.yml");
  ASSERT_EQ(result.errors, Errors{});
  const auto& check = result.catalogue->checks.at(0);
  ASSERT_TRUE(check.schedule.has_value());
  EXPECT_EQ(check.schedule->text, "weekly sun 04:00");
  EXPECT_EQ(check.interval, std::chrono::milliseconds(std::chrono::hours(24 * 7)));
  EXPECT_EQ(check.timeout, 1h);
}

// The fingerprint of the check named `name` in `text` (which must load).
std::string FingerprintOf(const std::string& text, const std::string& name) {
  LoadResult result = LoadCatalogueText(text, "f.yml");
  EXPECT_EQ(result.errors, Errors{});
  if (!result.catalogue) return "";
  for (const auto& check : result.catalogue->checks) {
    if (check.name == name) return check.fingerprint;
  }
  ADD_FAILURE() << "no check " << name;
  return "";
}

std::string MakeText(const std::string& dsn, const std::string& max_age,
                     const std::string& extra_check = "") {
  return R"(global:
  interval: 1m
targets:
  primary:
    type: postgres
    dsn: ")" +
         dsn + R"("
checks:
)" + extra_check +
         R"(  - name: audit
    kind: postgres.recency
    target: primary
    query: "SELECT max(created_at) FROM audit_logs"
    max_age: )" +
         max_age + "\n";
}

constexpr const char* kDsn = "host=127.0.0.1 dbname=x user=u password=secretpw";
constexpr const char* kPing = "  - {name: ping, kind: postgres.ping, target: primary}\n";

TEST(Fingerprint, SameTextSameFingerprint) {
  EXPECT_EQ(FingerprintOf(MakeText(kDsn, "24h"), "audit"), FingerprintOf(MakeText(kDsn, "24h"), "audit"));
  EXPECT_EQ(FingerprintOf(MakeText(kDsn, "24h"), "audit"), FingerprintOf(MakeText(kDsn, "1d"), "audit"));
}

TEST(Fingerprint, IgnoresOtherChecksAndPosition) {
  EXPECT_EQ(FingerprintOf(MakeText(kDsn, "24h"), "audit"),
            FingerprintOf(MakeText(kDsn, "24h", kPing), "audit"));
}

TEST(Fingerprint, ChangesWithTheCheck) {
  EXPECT_NE(FingerprintOf(MakeText(kDsn, "24h"), "audit"), FingerprintOf(MakeText(kDsn, "12h"), "audit"));
}

TEST(Fingerprint, ChangesWithTheTarget) {
  EXPECT_NE(FingerprintOf(MakeText(kDsn, "24h"), "audit"),
            FingerprintOf(MakeText("host=127.0.0.2 dbname=x user=u password=secretpw", "24h"), "audit"));
}

TEST(Fingerprint, ChangesWithTheEffectiveSchedule) {
  std::string text = MakeText(kDsn, "24h");
  std::string slower = text;
  slower.replace(slower.find("interval: 1m"), 12, "interval: 2m");
  EXPECT_NE(FingerprintOf(text, "audit"), FingerprintOf(slower, "audit"));
}

}  // namespace
}  // namespace drwatch::catalogue

namespace drwatch::catalogue {
namespace {

TEST(Fingerprint, ChangesWithTheSchedule) {
  std::string text = MakeText(kDsn, "24h");
  std::string daily = text + "    schedule: \"daily 02:30\"\n";
  std::string later = text + "    schedule: \"daily 03:30\"\n";
  EXPECT_NE(FingerprintOf(daily, "audit"), FingerprintOf(later, "audit"));
}

}  // namespace
}  // namespace drwatch::catalogue
