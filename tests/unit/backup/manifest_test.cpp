// The backup layout's pure parts: run ids, the manifest's JSON (round trip
// and every rejected field), the retention selection and when a manifest's
// files make a run complete.

#include <gtest/gtest.h>

#include <algorithm>

#include "common/crypto.hpp"
#include "backup/manifest.hpp"
#include "backup/retention.hpp"
#include "backup/runs.hpp"
#include "common/iso8601.hpp"

namespace drwatch::backup {
namespace {

using namespace std::chrono_literals;
using TimePoint = std::chrono::system_clock::time_point;

TimePoint At(const char* iso) { return *ParseIso8601(iso); }

TEST(RunId, IsTheUtcStartTimeAndParsesBack) {
  TimePoint t = At("2026-11-25T02:30:00.750Z");
  EXPECT_EQ(RunId(t), "20261125T023000Z");
  EXPECT_EQ(ParseRunId("20261125T023000Z"), At("2026-11-25T02:30:00Z"));
  EXPECT_EQ(RunKey("nightly", "20261125T023000Z", "data.dump"), "nightly/20261125T023000Z/data.dump");
  EXPECT_FALSE(ParseRunId(".partial"));  // the forms refused: common/iso8601_test
}

Manifest Sample() {
  Manifest m;
  m.kind = "backup.pg_dump";
  m.check = "nightly";
  m.run = "20261125T023000Z";
  m.drwatch_version = "0.5.0";
  m.server_version = "15.8 (Debian 15.8-1)";
  m.database = "app";
  m.started_at = At("2026-11-25T02:30:00.250Z");
  m.finished_at = At("2026-11-25T02:31:10Z");
  m.files = {{"schema.sql", 1234, Sha256Hex("schema")}, {"data.dump", 98765, Sha256Hex("data")}};
  m.tables = {{"auth.users", 20000}, {"public.orders", 50000}};
  m.structure = {{"tables", 4}, {"policies", 2}};
  return m;
}

TEST(Manifest, RoundTrips) {
  Manifest m = Sample();
  std::string json = ToJson(m);
  EXPECT_NE(json.find("\"started_at\": \"2026-11-25T02:30:00.250Z\""), std::string::npos) << json;
  std::string error;
  auto back = ParseManifest(json, error);
  ASSERT_TRUE(back) << error;
  EXPECT_EQ(back->kind, m.kind);
  EXPECT_EQ(back->check, m.check);
  EXPECT_EQ(back->run, m.run);
  EXPECT_EQ(back->server_version, m.server_version);
  EXPECT_EQ(back->database, m.database);
  EXPECT_EQ(back->started_at, m.started_at);
  EXPECT_EQ(back->finished_at, m.finished_at);
  ASSERT_EQ(back->files.size(), 2u);
  EXPECT_EQ(back->File("data.dump")->size, 98765u);
  EXPECT_EQ(back->File("data.dump")->sha256, Sha256Hex("data"));
  EXPECT_EQ(back->File("files.tar.gz"), nullptr);
  ASSERT_EQ(back->tables.size(), 2u);
  EXPECT_EQ(back->tables[1].name, "public.orders");
  EXPECT_EQ(back->tables[1].rows, 50000);
  ASSERT_EQ(back->structure.size(), 2u);
  EXPECT_EQ(back->structure[1].name, "policies");
  EXPECT_EQ(back->structure[1].count, 2);
}

TEST(Manifest, AnEncryptedRunRecordsCipherKeyIdAndPlaintextSizes) {
  Manifest m = Sample();
  m.files = {{"schema.sql.enc", 1290, Sha256Hex("s"), 1234}, {"data.dump.enc", 98800, Sha256Hex("d"), 98765}};
  m.encryption = ManifestEncryption{"xchacha20poly1305-secretstream", "3f9a0c1d2e3f4a5b"};
  std::string json = ToJson(m);
  EXPECT_NE(json.find("\"format\": 2"), std::string::npos) << json;
  EXPECT_NE(json.find("\"plaintext_size\": 98765"), std::string::npos) << json;
  std::string error;
  auto back = ParseManifest(json, error);
  ASSERT_TRUE(back) << error;
  ASSERT_TRUE(back->encryption);
  EXPECT_EQ(back->encryption->cipher, "xchacha20poly1305-secretstream");
  EXPECT_EQ(back->encryption->key_id, "3f9a0c1d2e3f4a5b");
  EXPECT_EQ(back->File("data.dump"), nullptr);
  ASSERT_NE(back->Stored("data.dump"), nullptr);
  EXPECT_EQ(back->Stored("data.dump")->name, "data.dump.enc");
  EXPECT_EQ(back->Stored("data.dump")->size, 98800u);
  EXPECT_EQ(back->Stored("data.dump")->plaintext_size, 98765u);
  // A plain run: Stored finds the file itself, no plaintext size.
  auto plain = ParseManifest(ToJson(Sample()), error);
  ASSERT_TRUE(plain) << error;
  EXPECT_EQ(plain->Stored("data.dump")->name, "data.dump");
  EXPECT_FALSE(plain->Stored("data.dump")->plaintext_size);
  EXPECT_FALSE(plain->encryption);
  EXPECT_EQ(ToJson(Sample()).find("plaintext_size"), std::string::npos);
}

TEST(Manifest, StructureIsOptional) {
  Manifest m = Sample();
  m.structure.clear();
  std::string json = ToJson(m);
  EXPECT_EQ(json.find("structure"), std::string::npos) << json;
  std::string error;
  auto back = ParseManifest(json, error);
  ASSERT_TRUE(back) << error;
  EXPECT_TRUE(back->structure.empty());
}

// Replaces the first `from` in the sample's JSON.
std::string Broken(const std::string& from, const std::string& to) {
  std::string json = ToJson(Sample());
  auto at = json.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return json.replace(at, from.size(), to);
}

TEST(Manifest, RejectsWhatItCannotTrust) {
  struct Case {
    std::string json;
    std::string error;
  };
  std::string digest = Sha256Hex("data");
  const std::vector<Case> cases = {
      {"{", "manifest.json: invalid JSON: "},
      {"[]", "manifest.json: (top level): expected an object"},
      {Broken("\"format\": 1", "\"format\": 3"),
       "manifest.json: format: unsupported format 3 (this drwatchd reads 1 and 2)"},
      {Broken("\"format\": 1", "\"format\": 2"), "manifest.json: encryption: missing (format 2 is encrypted)"},
      {Broken("\"kind\": \"backup.pg_dump\",", ""), "manifest.json: kind: missing"},
      {Broken("\"run\": \"20261125T023000Z\"", "\"run\": 7"), "manifest.json: run: expected a string"},
      {Broken("2026-11-25T02:31:10.000Z", "yesterday"), "manifest.json: finished_at: not an RFC 3339 time: \"yesterday\""},
      {Broken(digest, "abc"), "manifest.json: files[1].sha256: not a SHA-256 hex digest"},
      {Broken("\"size\": 1234", "\"size\": -1"), "manifest.json: files[0].size: expected a non-negative integer"},
      {Broken("\"name\": \"schema.sql\"", "\"name\": \"../x\""), "manifest.json: files[0].name: not a plain file name: \"../x\""},
      {Broken("\"rows\": 20000", "\"rows\": \"many\""), "manifest.json: tables[0].rows: expected a non-negative integer"},
      {Broken("\"policies\": 2", "\"policies\": -2"), "manifest.json: structure.policies: expected a non-negative integer"},
      {Broken("\"structure\": {", "\"structure\": [{"), "manifest.json: "},
  };
  for (const auto& c : cases) {
    std::string error;
    EXPECT_FALSE(ParseManifest(c.json, error)) << c.error;
    EXPECT_TRUE(error.starts_with(c.error)) << error << "\nexpected: " << c.error;
  }
}

std::vector<RetentionInput> Runs(const std::vector<std::pair<const char*, bool>>& ids) {
  std::vector<RetentionInput> out;
  for (const auto& [id, complete] : ids) out.push_back({id, *ParseRunId(id), complete});
  return out;
}

TEST(Retention, KeepsTheNewestCompleteRuns) {
  auto runs = Runs({{"20261101T020000Z", true}, {"20261102T020000Z", true}, {"20261103T020000Z", false},
                    {"20261104T020000Z", true}, {"20261105T020000Z", true}});
  RetentionPlan plan = PlanRetention(runs, Keep{2, 0, 0});
  EXPECT_EQ(plan.keep, (std::vector<std::string>{"20261104T020000Z", "20261105T020000Z"}));
  EXPECT_EQ(plan.remove,
            (std::vector<std::string>{"20261101T020000Z", "20261102T020000Z", "20261103T020000Z"}));
}

TEST(Retention, SparesOnlyTheIncompleteRunInFlight) {
  auto runs = Runs({{"20261101T020000Z", true}, {"20261102T020000Z", false}, {"20261103T020000Z", false}});
  RetentionPlan plan = PlanRetention(runs, Keep{1, 0, 0}, RetentionGuard{"20261103T020000Z"});
  EXPECT_EQ(plan.keep, (std::vector<std::string>{"20261101T020000Z"}));
  EXPECT_EQ(plan.remove, (std::vector<std::string>{"20261102T020000Z"}));
}

TEST(Retention, KeepsTheNewestRunOfEachRecentDayAndWeek) {
  // Four runs a day for 20 days, from Monday 2026-11-02.
  std::vector<RetentionInput> runs;
  TimePoint start = At("2026-11-02T00:30:00Z");
  for (int i = 0; i < 80; ++i) {
    TimePoint t = start + std::chrono::hours(6) * i;
    runs.push_back({RunId(t), t, true});
  }
  RetentionPlan plan = PlanRetention(runs, Keep{2, 3, 2});
  // last 2: 11-21 12:30 and 18:30; daily 3: the 18:30 runs of 11-21, 11-20,
  // 11-19; weekly 2: newest of the week of 11-16 (11-21 18:30) and of the
  // week of 11-09 (Sunday 11-15 18:30).
  EXPECT_EQ(plan.keep, (std::vector<std::string>{"20261115T183000Z", "20261119T183000Z", "20261120T183000Z",
                                                 "20261121T123000Z", "20261121T183000Z"}));
  EXPECT_EQ(plan.remove.size(), 75u);
}

TEST(Retention, IsoWeeksRunMondayToSunday) {
  // Sunday 2027-01-03 belongs to ISO week 53 of 2026, with Monday 2026-12-28.
  auto runs = Runs({{"20261228T010000Z", true}, {"20270103T230000Z", true}, {"20270104T010000Z", true}});
  RetentionPlan plan = PlanRetention(runs, Keep{1, 0, 2});
  EXPECT_EQ(plan.keep, (std::vector<std::string>{"20270103T230000Z", "20270104T010000Z"}));
  EXPECT_EQ(plan.remove, (std::vector<std::string>{"20261228T010000Z"}));
}

TEST(Retention, NeverRemovesTheRunJustWrittenWhenTheClockSteppedBack) {
  // The clock stepped back a day: the new run's id sorts before the others.
  auto runs = Runs({{"20261104T020000Z", true}, {"20261105T020000Z", true}, {"20261103T020000Z", true}});
  RetentionPlan plan = PlanRetention(runs, Keep{1, 0, 0}, RetentionGuard{"20261103T020000Z"});
  EXPECT_EQ(plan.keep, (std::vector<std::string>{"20261103T020000Z", "20261105T020000Z"}));
  EXPECT_EQ(plan.remove, (std::vector<std::string>{"20261104T020000Z"}));
}

TEST(Retention, KeepsIncompleteRunsYoungerThanTheTimeout) {
  auto runs = Runs({{"20261105T010000Z", false}, {"20261105T015500Z", false}, {"20261105T020000Z", true},
                    {"20261105T030000Z", false}});
  // The old-looking run had a file written 2 minutes ago: another host's run still in flight.
  runs[0].last_activity = At("2026-11-05T02:28:00Z");
  RetentionGuard guard{"20261105T020000Z", At("2026-11-05T02:30:00Z"), std::chrono::minutes(10)};
  RetentionPlan plan = PlanRetention(runs, Keep{1, 0, 0}, guard);
  EXPECT_EQ(plan.keep, (std::vector<std::string>{"20261105T020000Z"}));
  // 20261105T030000Z is in the future of this clock: young as well.
  EXPECT_EQ(plan.young, (std::vector<std::string>{"20261105T010000Z", "20261105T030000Z"}));
  EXPECT_EQ(plan.remove, (std::vector<std::string>{"20261105T015500Z"}));
}

TEST(Retention, WithoutATimeoutEveryOtherIncompleteRunGoes) {
  auto runs = Runs({{"20261105T010000Z", false}, {"20261105T020000Z", true}});
  RetentionPlan plan = PlanRetention(runs, Keep{1, 0, 0});
  EXPECT_TRUE(plan.young.empty());
  EXPECT_EQ(plan.remove, (std::vector<std::string>{"20261105T010000Z"}));
}

RunInfo Stored(const std::vector<std::pair<const char*, std::uint64_t>>& files) {
  RunInfo run;
  run.id = "20261125T023000Z";
  for (const auto& [name, size] : files) run.objects.push_back({RunKey("nightly", run.id, name), size, {}});
  return run;
}

TEST(MissingFiles, AManifestWhoseFilesAreNotAllThereIsNotComplete) {
  Manifest m = Sample();  // schema.sql 1234 bytes, data.dump 98765 bytes
  EXPECT_EQ(MissingFiles(Stored({{"schema.sql", 1234}, {"data.dump", 98765}, {"manifest.json", 900}}), m), "");
  EXPECT_EQ(MissingFiles(Stored({{"schema.sql", 1234}, {"manifest.json", 900}}), m), "data.dump is missing");
  EXPECT_EQ(MissingFiles(Stored({{"schema.sql", 1234}, {"data.dump", 4096}, {"manifest.json", 900}}), m),
            "data.dump has 4096 bytes, the manifest lists 98765");
  EXPECT_EQ(MissingFiles(Stored({{"manifest.json", 900}}), m), "schema.sql is missing");
}

}  // namespace
}  // namespace drwatch::backup
