// postgres.wal_archive against real clusters: one that archives with cp into
// a temp dir, the same one with a failing archive_command, and one with
// archive_mode off.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <iostream>

#include "support/pg_cluster.hpp"
#include "support/check_runner.hpp"

namespace drwatch::test {
namespace {

using namespace std::chrono_literals;
using ::testing::AllOf;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Key;
using ::testing::Not;
using ::testing::StartsWith;

constexpr char kChecks[] = R"yaml(  - {name: archive, kind: postgres.wal_archive, target: db, max_age: 1h}
  - {name: tight, kind: postgres.wal_archive, target: db, max_age: 2s}
  - {name: baseline, kind: postgres.query, target: db, query: "SELECT 1 AS one"}
)yaml";

// Writes something, switches to a new segment and returns the name of the
// segment that was completed (the one the archiver must copy next).
std::string WriteAndSwitch(const PgCluster& cluster) {
  cluster.Exec("SET client_min_messages = warning; CREATE TABLE IF NOT EXISTS archive_events (at timestamptz)");
  cluster.Exec("INSERT INTO archive_events SELECT now() FROM generate_series(1, 100)");
  return cluster.QueryValue("SELECT pg_walfile_name(pg_switch_wal())");
}

bool Archived(const PgCluster& cluster, const std::string& wal) {
  return cluster.QueryValue("SELECT last_archived_wal >= '" + wal + "' FROM pg_stat_archiver") == "t";
}

class WalArchiveTest : public ProbeHarness {};

TEST_F(WalArchiveTest, SucceedsOnceASwitchedSegmentIsArchivedAndAgesPastMaxAge) {
  PgCluster cluster(PgClusterOptions{.archive = true});
  ASSERT_TRUE(Load(cluster.Dsn(), kChecks));
  auto r = Run("archive");
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->success);
  EXPECT_EQ(r->reason, "no WAL archived yet (pg_stat_archiver has no last_archived_time)");
  EXPECT_FALSE(r->observed);

  std::string wal = WriteAndSwitch(cluster);
  ASSERT_TRUE(PollUntil(io_, [&] { return Archived(cluster, wal); }, 10s)) << "segment " << wal << " not archived";
  EXPECT_TRUE(std::filesystem::exists(cluster.ArchiveDir() + "/" + wal));
  r = Run("archive");
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->success) << r->reason;
  EXPECT_THAT(r->reason, AllOf(StartsWith("last WAL archived "), HasSubstr("(" + wal + ")")));
  ASSERT_TRUE(r->observed);
  EXPECT_LT(*r->observed, 2.0);
  auto samples = SamplesByName(r->samples);
  EXPECT_EQ(samples, (std::map<std::string, double>{{"drwatch_data_age_seconds", *r->observed},
                                                   {"drwatch_wal_archive_failed_total", 0},
                                                   {"drwatch_wal_archive_ready_files", 0}}));
  for (const auto& s : r->samples) {
    if (s.name == "drwatch_wal_archive_failed_total") {
      EXPECT_EQ(s.type, metrics::MetricType::kCounter);
    }
  }
  EXPECT_EQ(SamplesByName(StaticSamples("tight")),
            (std::map<std::string, double>{{"drwatch_data_max_age_seconds", 2}}));

  std::cout << "[cost] postgres.wal_archive: " << MicrosPerRun("archive")
            << " us per run (1 row, 1 round trip); SELECT 1 on the same connection: " << MicrosPerRun("baseline")
            << " us\n";

  TurnLoop(io_, 2500ms);
  r = Run("tight");
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->success);
  EXPECT_THAT(r->reason, AllOf(StartsWith("last WAL archived "), HasSubstr(" ago, max_age 2s")));
  EXPECT_GT(*r->observed, 2.0);
}

TEST_F(WalArchiveTest, WithoutPgMonitorTheReadyFilesAreOmittedAndTheCheckStillWorks) {
  PgCluster cluster(PgClusterOptions{.archive = true});
  std::string wal = WriteAndSwitch(cluster);
  ASSERT_TRUE(PollUntil(io_, [&] { return Archived(cluster, wal); }, 10s));
  ASSERT_TRUE(Load(cluster.PasswordDsn(), kChecks));
  auto r = Run("archive");
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->success) << r->reason;
  auto samples = SamplesByName(r->samples);
  EXPECT_THAT(samples, Contains(Key("drwatch_data_age_seconds")));
  EXPECT_THAT(samples, Contains(Key("drwatch_wal_archive_failed_total")));
  EXPECT_THAT(samples, Not(Contains(Key("drwatch_wal_archive_ready_files"))));

  cluster.Exec(std::string("GRANT pg_monitor TO ") + PgCluster::kPasswordUser);
  r = Run("archive");
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->success) << r->reason;
  EXPECT_THAT(SamplesByName(r->samples), Contains(Key("drwatch_wal_archive_ready_files")));
}

TEST_F(WalArchiveTest, AFailingArchiveCommandFailsTheCheckNamingTheWalUntilItRecovers) {
  PgCluster cluster(PgClusterOptions{.archive = true});
  std::string good = WriteAndSwitch(cluster);
  ASSERT_TRUE(PollUntil(io_, [&] { return Archived(cluster, good); }, 10s));
  ASSERT_TRUE(Load(cluster.Dsn(), kChecks));

  cluster.Exec("ALTER SYSTEM SET archive_command = 'false'");
  cluster.Exec("SELECT pg_reload_conf()");
  // The archiver takes the reload asynchronously: switch again until it fails.
  ASSERT_TRUE(PollUntil(
      io_,
      [&] {
        if (cluster.QueryValue("SELECT failed_count > 0 FROM pg_stat_archiver") == "t") return true;
        WriteAndSwitch(cluster);
        TurnLoop(io_, 300ms);
        return false;
      },
      15s))
      << "archive_command 'false' never failed";
  std::string failed_wal = cluster.QueryValue("SELECT last_failed_wal FROM pg_stat_archiver");
  auto r = Run("archive");
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->success);
  EXPECT_THAT(r->reason, AllOf(StartsWith("archiving fails: " + failed_wal + " failed "),
                               HasSubstr(" ago, last WAL archived ")));
  EXPECT_EQ(r->reason.find('\n'), std::string::npos);
  auto samples = SamplesByName(r->samples);
  EXPECT_GE(samples["drwatch_wal_archive_failed_total"], 1);
  EXPECT_GE(samples["drwatch_wal_archive_ready_files"], 1);

  cluster.Exec("ALTER SYSTEM RESET archive_command");
  cluster.Exec("SELECT pg_reload_conf()");
  ASSERT_TRUE(PollUntil(
      io_,
      [&] {
        auto run = Run("archive");
        if (run && run->success) return true;
        WriteAndSwitch(cluster);  // wakes the archiver, which waits after three failures
        TurnLoop(io_, 300ms);
        return false;
      },
      15s))
      << "archiving did not recover";
}

TEST_F(WalArchiveTest, ArchiveModeOffIsAClearFailure) {
  PgCluster cluster;
  ASSERT_TRUE(Load(cluster.Dsn(), kChecks));
  auto r = Run("archive");
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->success);
  EXPECT_EQ(r->reason, "archive_mode is off: WAL is not archived");
  EXPECT_TRUE(r->samples.empty());
}

}  // namespace
}  // namespace drwatch::test
