// restore.drill, postgres.schema_drift and `restore latest` against real
// PostgreSQL 15 clusters, the real pg_dump/pg_restore and a file:// store:
// a seeded source (auth and public schemas, 110000 rows) is backed up by the
// backup.pg_dump kind, then restored on a second cluster (the drill server)
// and a third (restore latest).

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "backup/manifest.hpp"
#include "backup/runs.hpp"
#include "catalogue/catalogue.hpp"
#include "restore/restore_latest.hpp"
#include "storage/file_backend.hpp"
#include "support/check_runner.hpp"
#include "support/drill_fixture.hpp"
#include "support/app_seed.hpp"
#include "support/pg_cluster.hpp"
#include "support/process.hpp"

namespace drwatch::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using ::testing::HasSubstr;

constexpr const char* kTables = kAppTables;
const std::map<std::string, std::string> kRows = {
    {"auth.users", "20000"}, {"auth.sessions", "30000"}, {"public.orders", "50000"}, {"public.audit_logs", "10000"}};

void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
}

class RestoreTest : public DrillServerTest {
 protected:
  void SetUp() override {
    DrillServerTest::SetUp();
    if (HasFatalFailure()) return;
    Seed();
  }

  // auth and public schemas, four tables, 110000 rows; the backup reads them
  // as the password user (PGPASSWORD reaches pg_dump through the environment).
  static void Seed() {
    static bool seeded = false;
    if (seeded) return;
    seeded = true;
    SeedAppDatabase(cluster());
  }

  // The catalogue of these tests: source `db`, drill server `drill`, store
  // `backups`; a backup, a drill and a drift check unless `checks` is given.
  std::string Catalogue(const std::string& extra_checks = "", const std::string& drill_dsn = "") {
    return CatalogueWithBackup(kTables, drill_dsn) +
           "  - name: weekly_drill\n"
           "    kind: restore.drill\n"
           "    target: drill\n"
           "    backup: nightly\n"
           "    jobs: 2\n"
           "    covers:\n"
           "      core_business_logic: [public.orders]\n"
           "      authentication: [auth]\n"
           "    verify: [\"SELECT count(*) = 20000 FROM auth.users\", \"SELECT true FROM public.order_totals LIMIT 1\"]\n"
           "  - {name: drift, kind: postgres.schema_drift, target: db, backup: nightly}\n" + extra_checks;
  }

  void Load(const std::string& text) {
    runner_.Load(text, "restore_test.yml");
  }

  const catalogue::CheckSpec& Check(const std::string& name) const { return runner_.Check(name); }
  probes::RunContext Context(const std::string& name, std::chrono::milliseconds timeout) {
    return runner_.Context(name, timeout);
  }
  std::optional<probes::ProbeResult> Run(const std::string& name, std::chrono::milliseconds timeout = 120s) {
    return runner_.Run(name, timeout);
  }

  // Takes a backup with the backup.pg_dump kind and returns its run id.
  std::string Backup() {
    auto r = Run("nightly");
    EXPECT_TRUE(r && r->success) << (r ? r->reason : "timed out");
    storage::FileBackend store(pool_, dir_ + "/store");
    auto latest = RunWithDeadline(io_, backup::LatestComplete(store, "nightly"), 10s);
    EXPECT_TRUE(latest && latest->ok());
    return latest ? latest->manifest.run : "";
  }

  std::string RunFile(const std::string& run, const std::string& file) const {
    return dir_ + "/store/nightly/" + run + "/" + file;
  }

  static int ScratchDatabases() {
    return std::stoi(drill_server_->QueryValue("SELECT count(*) FROM pg_database WHERE datname LIKE 'drwatch\\_drill\\_%'"));
  }

  // Waits (turning the loop) until no scratch database is left.
  bool ScratchDatabasesGone(std::chrono::milliseconds timeout = 30s) {
    return PollUntil(io_, [] { return ScratchDatabases() == 0; }, timeout).has_value();
  }

};

TEST_F(RestoreTest, DrillRestoresTheBackupAndTimesEachRtoSystem) {
  Load(Catalogue());
  std::string run = Backup();
  LoopWatch watch(io_, 20ms);
  auto r = Run("weekly_drill");
  ASSERT_TRUE(r) << "timed out";
  std::cout << r->details;
  ASSERT_TRUE(r->success) << r->reason;
  EXPECT_EQ(r->reason, "run " + run + " restored, 4 tables verified");
  std::cout << "worst loop lateness during the drill: " << watch.worst_lateness().count() << " ms\n";
  // pg_restore -j 2 and two postmasters share the machine's 2 cores with the
  // loop: lateness here is CPU contention; a blocking call would cost seconds.
  EXPECT_LT(watch.worst_lateness(), 300ms) << "the loop was blocked";

  auto samples = SamplesByName(r->samples);
  double auth = samples.at("drwatch_restore_duration_seconds{system=authentication}");
  double core = samples.at("drwatch_restore_duration_seconds{system=core_business_logic}");
  EXPECT_GT(auth, 0);
  EXPECT_GT(core, auth) << "authentication (15m) is restored before core_business_logic (30m)";
  EXPECT_EQ(samples.at("drwatch_restore_verified_tables"), 4);
  EXPECT_GT(samples.at("drwatch_restore_last_success_timestamp_seconds"), 1.7e9);
  EXPECT_EQ(r->objective_observed.size(), 2u);
  EXPECT_EQ(r->objective_observed.at("rto.authentication"), auth);
  EXPECT_EQ(r->objective_observed.at("rto.core_business_logic"), core);
  for (const auto& step : {"download data.dump", "verify checksums", "create database", "restore authentication",
                           "verify authentication (2 tables)", "restore core_business_logic", "restore the rest",
                           "verify queries", "drop database", "RTO authentication: measured"}) {
    EXPECT_THAT(r->details, HasSubstr(step));
  }
  EXPECT_EQ(ScratchDatabases(), 0) << "the scratch database is dropped after the drill";
}

TEST_F(RestoreTest, FlippedByteFailsAtTheChecksumAndLeavesNoScratchDatabase) {
  Load(Catalogue());
  std::string run = Backup();
  std::string dump = ReadFile(RunFile(run, "data.dump"));
  ASSERT_GT(dump.size(), 1000u);
  dump[dump.size() / 2] ^= 0x01;
  WriteFile(RunFile(run, "data.dump"), dump);
  auto r = Run("weekly_drill");
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->success);
  EXPECT_EQ(r->reason, "checksum mismatch: data.dump");
  EXPECT_THAT(r->details, ::testing::Not(HasSubstr("create database")));
  EXPECT_TRUE(r->objective_observed.empty());
  EXPECT_EQ(ScratchDatabases(), 0);
}

TEST_F(RestoreTest, ATableMissingAfterRestoreFailsVerification) {
  Load(Catalogue());
  std::string run = Backup();
  // The manifest promises a table the dump does not hold.
  std::string error;
  auto manifest = backup::ParseManifest(ReadFile(RunFile(run, "manifest.json")), error);
  ASSERT_TRUE(manifest) << error;
  manifest->tables.push_back({"auth.mfa_factors", 12});
  WriteFile(RunFile(run, "manifest.json"), backup::ToJson(*manifest));
  auto r = Run("weekly_drill");
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->success);
  EXPECT_EQ(r->reason, "auth.mfa_factors: missing after restore");
  EXPECT_THAT(r->details, HasSubstr("drop database"));
  EXPECT_FALSE(r->objective_observed.contains("rto.authentication")) << "authentication was not verified";
  EXPECT_EQ(ScratchDatabases(), 0);
}

TEST_F(RestoreTest, ARowCountBelowTheManifestFailsVerification) {
  Load(Catalogue());
  std::string run = Backup();
  std::string error;
  auto manifest = backup::ParseManifest(ReadFile(RunFile(run, "manifest.json")), error);
  ASSERT_TRUE(manifest) << error;
  for (auto& t : manifest->tables) {
    if (t.name == "public.orders") t.rows = 50001;
  }
  WriteFile(RunFile(run, "manifest.json"), backup::ToJson(*manifest));
  auto r = Run("weekly_drill");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->reason, "public.orders: 50000 rows after restore, the manifest says 50001");
  // authentication came first and was measured; core_business_logic was not.
  EXPECT_TRUE(r->objective_observed.contains("rto.authentication"));
  EXPECT_FALSE(r->objective_observed.contains("rto.core_business_logic"));
  EXPECT_EQ(ScratchDatabases(), 0);
}

TEST_F(RestoreTest, AFailingVerifyQueryFailsTheDrill) {
  std::string text = Catalogue();
  text.replace(text.find("count(*) = 20000"), 16, "count(*) = 19999");
  Load(text);
  Backup();
  auto r = Run("weekly_drill");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->reason, "verify[0]: returned f");
  EXPECT_EQ(ScratchDatabases(), 0);
}

TEST_F(RestoreTest, CancelledMidRestoreKillsPgRestoreAndDropsTheScratchDatabase) {
  Load(Catalogue());
  Backup();
  auto ctx = Context("weekly_drill", 120s);
  boost::asio::cancellation_signal cancel;
  bool finished = false;
  boost::asio::co_spawn(io_, Check("weekly_drill").probe->Run(ctx),
                        boost::asio::bind_cancellation_slot(
                            cancel.slot(), [&](std::exception_ptr, probes::ProbeResult) { finished = true; }));
  ASSERT_TRUE(PollUntil(io_, [] { return !OwnChildrenWith("pg_restore").empty() && ScratchDatabases() == 1; }, 60s))
      << "the drill never reached pg_restore";
  cancel.emit(boost::asio::cancellation_type::terminal);  // what the runner's deadline does
  ASSERT_TRUE(PollUntil(io_, [&] { return finished; }, 10s));
  EXPECT_TRUE(PollUntil(io_, [] { return OwnChildrenWith("pg_restore").empty(); }, 10s)) << "pg_restore left running";
  EXPECT_TRUE(ScratchDatabasesGone()) << "the detached cleanup drops the scratch database";
}

TEST_F(RestoreTest, ALeftoverScratchDatabaseIsDroppedByTheNextDrill) {
  Load(Catalogue());
  Backup();
  drill_server_->Exec("CREATE DATABASE drwatch_drill_weekly_drill_20200101t000000z");
  drill_server_->Exec("CREATE DATABASE drwatch_drill_other_20200101t000000z");
  auto r = Run("weekly_drill");
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->success) << r->reason;
  EXPECT_EQ(drill_server_->QueryValue("SELECT string_agg(datname, ',') FROM pg_database WHERE datname LIKE "
                                      "'drwatch\\_drill\\_%'"),
            "drwatch_drill_other_20200101t000000z")
      << "only this check's leftovers are dropped";
  drill_server_->Exec("DROP DATABASE drwatch_drill_other_20200101t000000z");
}

TEST_F(RestoreTest, ADrillTargetThatIsTheSourceIsRefusedAtLoad) {
  auto loaded = catalogue::LoadCatalogueText(Catalogue("", cluster().PasswordDsn()), "restore_test.yml");
  ASSERT_EQ(loaded.errors.size(), 1u);
  EXPECT_THAT(loaded.errors[0], HasSubstr("checks[1].target: \"drill\" reaches the same database as \"db\", the "
                                          "source of backup nightly"));
}

TEST_F(RestoreTest, AlterTableOnTheSourceShowsAsSchemaDrift) {
  Load(Catalogue());
  std::string run = Backup();
  auto before = Run("drift", 30s);
  ASSERT_TRUE(before);
  EXPECT_TRUE(before->success) << before->reason << "\n" << before->details;
  EXPECT_EQ(SamplesByName(before->samples).at("drwatch_schema_drift"), 0);
  double first_seen = SamplesByName(before->samples).at("drwatch_schema_last_change_timestamp_seconds");

  cluster().Exec("ALTER TABLE public.audit_logs ADD COLUMN actor text");
  TurnLoop(io_, 1100ms);
  auto after = Run("drift", 30s);
  cluster().Exec("ALTER TABLE public.audit_logs DROP COLUMN actor");
  ASSERT_TRUE(after);
  EXPECT_FALSE(after->success);
  EXPECT_EQ(after->reason, "live schema differs from backup " + run + ": 3 lines changed");
  EXPECT_THAT(after->details, HasSubstr("+    actor text"));
  auto samples = SamplesByName(after->samples);
  EXPECT_EQ(samples.at("drwatch_schema_drift"), 1);
  EXPECT_GT(samples.at("drwatch_schema_last_change_timestamp_seconds"), first_seen);
}

TEST_F(RestoreTest, RestoreLatestOntoAFreshClusterGivesIdenticalRowCounts) {
  Load(Catalogue());
  std::string run = Backup();
  PgCluster fresh;
  storage::FileBackend store(pool_, dir_ + "/store");
  auto ctx = Context("nightly", 120s);
  std::ostringstream out;
  restore::RestoreLatestOptions options{"nightly", fresh.Dsn(), false};
  auto status = RunWithDeadline(io_, restore::RestoreLatestCommand(ctx, store, options, out), 120s);
  std::cout << out.str();
  ASSERT_TRUE(status);
  EXPECT_EQ(*status, 0) << out.str();
  EXPECT_THAT(out.str(), HasSubstr("restoring run " + run + " of nightly"));
  EXPECT_THAT(out.str(), HasSubstr("verify checksums"));
  EXPECT_THAT(out.str(), HasSubstr("verify row counts (4 tables)"));
  for (const auto& [table, rows] : kRows) {
    EXPECT_EQ(fresh.QueryValue("SELECT count(*) FROM " + table), rows) << table;
    EXPECT_EQ(cluster().QueryValue("SELECT count(*) FROM " + table), rows) << table;
  }

  std::ostringstream again;
  status = RunWithDeadline(io_, restore::RestoreLatestCommand(ctx, store, options, again), 60s);
  ASSERT_TRUE(status);
  EXPECT_EQ(*status, 1);
  EXPECT_THAT(again.str(), HasSubstr("the target database is not empty (6 relations, 1 schemas besides public): "
                                     "pass --force to restore into it anyway"));
  EXPECT_THAT(again.str(), ::testing::Not(HasSubstr("pg_restore")));

  std::ostringstream forced;
  options.force = true;
  status = RunWithDeadline(io_, restore::RestoreLatestCommand(ctx, store, options, forced), 120s);
  ASSERT_TRUE(status);
  EXPECT_THAT(forced.str(), ::testing::Not(HasSubstr("not empty"))) << "--force restores into it anyway";
  EXPECT_THAT(forced.str(), HasSubstr("pg_restore"));
}

TEST_F(RestoreTest, RestoreLatestRefusesACorruptBackup) {
  Load(Catalogue());
  std::string run = Backup();
  std::string dump = ReadFile(RunFile(run, "data.dump"));
  dump[100] ^= 0x10;
  WriteFile(RunFile(run, "data.dump"), dump);
  storage::FileBackend store(pool_, dir_ + "/store");
  auto ctx = Context("nightly", 60s);
  std::ostringstream out;
  restore::RestoreLatestOptions options{"nightly", drill_server_->Dsn(), true};
  auto status = RunWithDeadline(io_, restore::RestoreLatestCommand(ctx, store, options, out), 60s);
  ASSERT_TRUE(status);
  EXPECT_EQ(*status, 1);
  EXPECT_THAT(out.str(), HasSubstr("checksum mismatch: data.dump"));
}

}  // namespace
}  // namespace drwatch::test
