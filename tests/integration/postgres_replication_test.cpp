// postgres.replication against a real primary and a streaming standby made by
// pg_basebackup -R: checked from the primary and from the standby itself.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <iostream>

#include "support/pg_cluster.hpp"
#include "support/check_runner.hpp"

namespace drwatch::test {
namespace {

using namespace std::chrono_literals;
using ::testing::AllOf;
using ::testing::Ge;
using ::testing::HasSubstr;
using ::testing::Lt;
using ::testing::StartsWith;

constexpr char kChecks[] = R"yaml(  - {name: replication, kind: postgres.replication, target: db, max_lag: 1m}
  - {name: two, kind: postgres.replication, target: db, max_lag: 1m, min_standbys: 2}
  - {name: tight, kind: postgres.replication, target: db, max_lag: 1s}
  - {name: baseline, kind: postgres.query, target: db, query: "SELECT 1 AS one"}
)yaml";

// Streaming and past its first feedback (before that, replay_lsn is NULL and
// there is no lag in bytes to report).
bool Streaming(const PgCluster& primary, const std::string& name) {
  return primary.QueryValue("SELECT count(*) FROM pg_stat_replication WHERE application_name = '" + name +
                            "' AND state = 'streaming' AND replay_lsn IS NOT NULL") == "1";
}

class ReplicationTest : public ProbeHarness {
 protected:
  void StartStandby() {
    auto start = std::chrono::steady_clock::now();
    standby_ = std::make_unique<PgCluster>(
        PgClusterOptions{.settings = {"cluster_name = 'standby1'"}, .standby_of = &primary_});
    ASSERT_TRUE(PollUntil(io_, [&] { return Streaming(primary_, "standby1"); }, 10s)) << "standby not streaming";
    std::cout << "[setup] pg_basebackup, standby start and streaming took " << Since(start).count() << " ms\n";
  }

  PgCluster primary_;
  std::unique_ptr<PgCluster> standby_;
};

TEST_F(ReplicationTest, OnThePrimaryEachStandbyIsASeriesAndAMissingOneFails) {
  StartStandby();
  ASSERT_TRUE(Load(primary_.Dsn(), kChecks));
  auto r = Run("replication");
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->success) << r->reason;
  EXPECT_THAT(r->reason, AllOf(StartsWith("1 standby streaming, worst replay lag "), HasSubstr("(standby1)")));
  ASSERT_TRUE(r->observed);
  EXPECT_THAT(*r->observed, AllOf(Ge(0.0), Lt(1.0)));
  auto samples = SamplesByName(r->samples);
  ASSERT_EQ(samples.size(), 2u);
  EXPECT_EQ(samples["drwatch_replication_lag_seconds{standby=standby1}"], *r->observed);
  EXPECT_THAT(samples["drwatch_replication_lag_bytes{standby=standby1}"], AllOf(Ge(0.0), Lt(1e6)));

  r = Run("two");
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->success);
  EXPECT_EQ(r->reason, "1 standby streaming, min_standbys 2");

  std::cout << "[cost] postgres.replication on a primary: " << MicrosPerRun("replication")
            << " us per run (2 rows: the role and 1 standby; 1 round trip); SELECT 1: " << MicrosPerRun("baseline")
            << " us\n";

  standby_->Stop();
  ASSERT_TRUE(PollUntil(
      io_,
      [&] {
        r = Run("replication");
        return r && !r->success;
      },
      10s))
      << "still succeeds without its standby: " << (r ? r->reason : "timeout");
  EXPECT_EQ(r->reason, "0 standbys streaming, min_standbys 1");
  EXPECT_TRUE(r->samples.empty());
  EXPECT_EQ(r->observed, 0.0);
}

TEST_F(ReplicationTest, AForgottenSlotFailsTheCheckWithWhatItRetains) {
  ASSERT_TRUE(Load(primary_.Dsn(),
                   "  - {name: slots, kind: postgres.replication, target: db, max_lag: 1m, min_standbys: 0,\n"
                   "     max_slot_retained: 1073741824}\n"));
  auto r = Run("slots");
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->success) << r->reason;
  EXPECT_TRUE(r->samples.empty());

  // Reserved at once, with nobody to consume it: WAL piles up from here.
  primary_.Exec("SELECT pg_create_physical_replication_slot('forgotten', true)");
  primary_.Exec("CREATE TABLE churn AS SELECT g FROM generate_series(1, 100000) g; SELECT pg_switch_wal()");
  r = Run("slots");
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->success);
  EXPECT_THAT(r->reason, AllOf(StartsWith("slot forgotten is inactive, retaining "),
                               HasSubstr(" MiB of WAL: reconnect its consumer or drop it")));
  auto samples = SamplesByName(r->samples);
  EXPECT_EQ(samples.at("drwatch_replication_slot_active{slot=forgotten}"), 0);
  EXPECT_GT(samples.at("drwatch_replication_slot_retained_bytes{slot=forgotten}"), 1e6);

  primary_.Exec("SELECT pg_drop_replication_slot('forgotten')");
  r = Run("slots");
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->success) << r->reason;
}

TEST_F(ReplicationTest, AnUnprivilegedUserGetsAClearReason) {
  StartStandby();
  ASSERT_TRUE(Load(primary_.PasswordDsn(), kChecks));
  auto r = Run("replication");
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->success);
  EXPECT_EQ(r->reason, "cannot read pg_stat_replication details: grant pg_monitor to the check's user");
  primary_.Exec(std::string("GRANT pg_monitor TO ") + PgCluster::kPasswordUser);
  r = Run("replication");
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->success) << r->reason;
}

TEST_F(ReplicationTest, OnAnIdleStandbyTheAgeOfTheLastTransactionIsNotLag) {
  StartStandby();
  primary_.Exec("CREATE TABLE replicated (x int)");
  primary_.Exec("INSERT INTO replicated VALUES (1)");
  std::string lsn = primary_.QueryValue("SELECT pg_current_wal_lsn()");
  ASSERT_TRUE(PollUntil(
      io_, [&] { return standby_->QueryValue("SELECT pg_last_wal_replay_lsn() >= '" + lsn + "'") == "t"; }, 10s));
  TurnLoop(io_, 1500ms);
  // Unguarded, the delay would already exceed max_lag 1s.
  ASSERT_GT(std::stod(standby_->QueryValue("SELECT extract(epoch FROM now() - pg_last_xact_replay_timestamp())")),
            1.0);

  ASSERT_TRUE(Load(standby_->Dsn(), kChecks));
  auto r = Run("tight");
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->success) << r->reason;
  EXPECT_EQ(r->reason, "standby replay lag 0s");
  EXPECT_EQ(r->observed, 0.0);
  EXPECT_EQ(SamplesByName(r->samples), (std::map<std::string, double>{
                                           {"drwatch_replication_lag_seconds{standby=self}", 0},
                                           {"drwatch_replication_lag_bytes{standby=self}", 0}}));
  r = Run("two");  // min_standbys applies to a primary only
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->success) << r->reason;

  std::cout << "[cost] postgres.replication on a standby: " << MicrosPerRun("tight")
            << " us per run (2 rows: the role and self; 1 round trip); SELECT 1: " << MicrosPerRun("baseline")
            << " us\n";

  // Without a WAL receiver nothing says the standby is current: the guard lifts.
  primary_.Stop();
  ASSERT_TRUE(PollUntil(
      io_,
      [&] {
        r = Run("tight");
        return r && !r->success;
      },
      10s))
      << "still succeeds without its primary: " << (r ? r->reason : "timeout");
  EXPECT_THAT(r->reason, AllOf(StartsWith("standby replay lag "), HasSubstr(" (no WAL receiver), max_lag 1s")));
  EXPECT_GT(*r->observed, 1.0);
}

}  // namespace
}  // namespace drwatch::test
