// targets::PostgresTarget against a real cluster: the shared connection, its
// FIFO lock, reconnect backoff, and recovery from a frozen or stopped server.

#include "targets/postgres_target.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <iostream>

#include "support/pg_cluster.hpp"

namespace drwatch::test {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using targets::PostgresTarget;

// Backoff tests move time by hand instead of sleeping through it.
struct FrozenClock {
  FrozenClock() { Clock::Freeze(); }
  ~FrozenClock() { Clock::Unfreeze(); }
};

class PgTargetTest : public PgClusterTest {
 protected:
  std::shared_ptr<PostgresTarget> MakeTarget(const std::string& dsn) {
    return std::make_shared<PostgresTarget>(io_.get_executor(), pool_, dsn);
  }

  std::optional<pg::QueryResult> Query(PostgresTarget& target, const std::string& sql,
                                       std::chrono::milliseconds deadline = 10s) {
    return RunWithDeadline(io_, target.Query(sql), deadline);
  }

  // The first value of a successful query, or the error text.
  std::string Value(PostgresTarget& target, const std::string& sql) {
    auto r = Query(target, sql);
    if (!r) return "<deadline>";
    if (!r->ok()) return "error: " + r->error;
    return r->rows.empty() || !r->rows[0][0] ? "<none>" : *r->rows[0][0];
  }
};

TEST_F(PgTargetTest, QueriesShareOneConnectionOneAtATimeInArrivalOrder) {
  std::string app = UniqueAppName();
  auto target = MakeTarget(cluster().Dsn("application_name=" + app));
  std::vector<int> order;
  std::set<std::string> pids;
  auto start = std::chrono::steady_clock::now();
  for (int i = 1; i <= 3; ++i) {
    std::string sql = "SELECT pg_backend_pid(), pg_sleep(0.1)";
    SpawnWithDeadline<pg::QueryResult>(io_, target->Query(sql), 5s, [&, i](auto r, auto) {
      order.push_back(i);
      if (r && r->ok()) pids.insert(*r->rows[0][0]);
    });
  }
  ASSERT_TRUE(PollUntil(io_, [&] { return order.size() == 3; }, 5s));
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(pids.size(), 1u) << "one connection for all three";
  EXPECT_GE(Since(start), 300ms) << "the queries ran one after another";
  EXPECT_EQ(cluster().Backends(app), 1);
}

TEST_F(PgTargetTest, ACancelledWaiterLeavesTheQueue) {
  auto target = MakeTarget(cluster().Dsn());
  std::vector<std::string> done;
  auto start = std::chrono::steady_clock::now();
  std::chrono::milliseconds waiter_took{};
  SpawnWithDeadline<pg::QueryResult>(io_, target->Query("SELECT 'a', pg_sleep(0.4)"), 5s,
                                     [&](auto r, auto) { done.push_back(r && r->ok() ? "a" : "a failed"); });
  SpawnWithDeadline<pg::QueryResult>(io_, target->Query("SELECT 'b'"), 100ms, [&](auto r, auto) {
    done.push_back(r ? "b ran" : "b cancelled");
    waiter_took = Since(start);
  });
  SpawnWithDeadline<pg::QueryResult>(io_, target->Query("SELECT 'c'"), 5s, [&](auto r, auto) {
    done.push_back(r && r->ok() ? *r->rows[0][0] : "c failed");
  });
  ASSERT_TRUE(PollUntil(io_, [&] { return done.size() == 3; }, 5s));
  EXPECT_EQ(done, (std::vector<std::string>{"b cancelled", "a", "c"}));
  EXPECT_LT(waiter_took, 200ms);
  EXPECT_EQ(Value(*target, "SELECT 'still fine'"), "still fine");
}

TEST_F(PgTargetTest, AHolderCancelledMidQueryReleasesTheLockAndStartsTheBackoff) {
  std::string app = UniqueAppName();
  auto target = MakeTarget(cluster().Dsn("application_name=" + app));
  std::string first_pid = Value(*target, "SELECT pg_backend_pid()");
  std::optional<pg::QueryResult> second;
  std::chrono::milliseconds holder_took{}, waiter_took{};
  bool holder_done = false;
  auto start = std::chrono::steady_clock::now();
  SpawnWithDeadline<pg::QueryResult>(io_, target->Query("SELECT pg_sleep(30)"), 300ms, [&](auto r, auto) {
    EXPECT_FALSE(r);
    holder_took = Since(start);
    holder_done = true;
  });
  SpawnWithDeadline<pg::QueryResult>(io_, target->Query("SELECT 1"), 5s, [&](auto r, auto) {
    second = r;
    waiter_took = Since(start);
  });
  ASSERT_TRUE(PollUntil(io_, [&] { return holder_done && second; }, 5s));
  EXPECT_LT(holder_took, 400ms);
  EXPECT_LT(waiter_took, 400ms) << "the waiter must not wait out the backoff";
  ASSERT_TRUE(second);
  EXPECT_EQ(second->error, "reconnect backoff (1s left) after: query cancelled");
  EXPECT_TRUE(PollUntil(io_, [&] { return cluster().Backends(app) == 0; }, 2s)) << "cancelled backend still there";

  TurnLoop(io_, 1s);  // the backoff
  std::string pid = Value(*target, "SELECT pg_backend_pid()");
  EXPECT_THAT(pid, Not(StartsWith("error")));
  EXPECT_NE(pid, first_pid) << "a new connection";
}

TEST_F(PgTargetTest, BackoffDoublesUpToTheCap) {
  FrozenClock clock;
  auto target = MakeTarget("host=127.0.0.1 port=" + std::to_string(pgproc::FreeLoopbackPort()) +
                           " user=postgres dbname=postgres");
  for (int seconds : {1, 2, 4, 8, 16, 30, 30}) {
    auto r = Query(*target, "SELECT 1");
    ASSERT_TRUE(r);
    EXPECT_THAT(r->error, StartsWith("connect: "));
    EXPECT_THAT(r->error, HasSubstr("Connection refused"));
    r = Query(*target, "SELECT 1");
    ASSERT_TRUE(r);
    EXPECT_THAT(r->error, StartsWith("reconnect backoff (" + std::to_string(seconds) + "s left) after: connect: "));
    Clock::Advance(std::chrono::seconds(seconds) - 1ms);
    r = Query(*target, "SELECT 1");
    EXPECT_THAT(r->error, StartsWith("reconnect backoff (1s left)"));
    Clock::Advance(1ms);
  }
}

TEST_F(PgTargetTest, ReconnectsWhenTheServerIsBackAndSuccessResetsTheBackoff) {
  FrozenClock clock;
  auto target = MakeTarget(cluster().Dsn());
  ASSERT_EQ(Value(*target, "SELECT 1"), "1");
  for (int round = 0; round < 2; ++round) {
    cluster().Stop();
    EXPECT_THAT(Value(*target, "SELECT 1"), StartsWith("error: "));
    EXPECT_THAT(Value(*target, "SELECT 1"), StartsWith("error: reconnect backoff (1s left) after: "));
    cluster().Start();
    EXPECT_THAT(Value(*target, "SELECT 1"), StartsWith("error: reconnect backoff (1s left)"));
    Clock::Advance(1s);
    EXPECT_EQ(Value(*target, "SELECT 2"), "2");  // and the backoff is back to 1 s
  }
}

TEST_F(PgTargetTest, FrozenServerFailsAtTheDeadlineAndTheTargetRecoversAfterTheThaw) {
  auto target = MakeTarget(cluster().Dsn());
  ASSERT_EQ(Value(*target, "SELECT 1"), "1");
  cluster().Freeze();
  LoopWatch watch(io_);
  auto start = std::chrono::steady_clock::now();
  auto r = Query(*target, "SELECT 1", 1s);
  auto took = Since(start);
  EXPECT_FALSE(r);
  EXPECT_GE(took, 1s);
  EXPECT_LT(took, 2s);
  // The next check does not pile onto the frozen server.
  start = std::chrono::steady_clock::now();
  r = Query(*target, "SELECT 1", 1s);
  ASSERT_TRUE(r);
  EXPECT_THAT(r->error, StartsWith("reconnect backoff"));
  EXPECT_LT(Since(start), 50ms);
  EXPECT_GE(watch.ticks(), 15);
  EXPECT_LT(watch.worst_lateness(), 250ms);

  cluster().Thaw();
  auto thawed = std::chrono::steady_clock::now();
  bool ok = false;
  while (!ok && Since(thawed) < 5s) {
    r = Query(*target, "SELECT 1", 2s);
    ok = r && r->ok();
    if (!ok) TurnLoop(io_, 100ms);
  }
  EXPECT_TRUE(ok) << (r ? r->error : "deadline");
  std::cout << "[ figures  ] frozen target answered again " << Since(thawed).count()
            << " ms after the thaw (backoff included)\n";
}

TEST_F(PgTargetTest, ConnectToAFrozenServerFailsAtTheDeadline) {
  auto target = MakeTarget(cluster().Dsn());
  cluster().Freeze();
  LoopWatch watch(io_);
  auto start = std::chrono::steady_clock::now();
  auto r = Query(*target, "SELECT 1", 1s);
  auto took = Since(start);
  EXPECT_FALSE(r);
  EXPECT_GE(took, 1s);
  EXPECT_LT(took, 2s);
  EXPECT_LT(watch.worst_lateness(), 250ms);
  cluster().Thaw();
}

TEST_F(PgTargetTest, StateOutlivesTheTargetWhileAQueryRuns) {
  auto target = MakeTarget(cluster().Dsn());
  std::optional<pg::QueryResult> result;
  SpawnWithDeadline<pg::QueryResult>(io_, target->Query("SELECT 'done', pg_sleep(0.2)"), 5s,
                                     [&](auto r, auto) { result = r; });
  target.reset();
  ASSERT_TRUE(PollUntil(io_, [&] { return result.has_value(); }, 5s));
  ASSERT_TRUE(result->ok()) << result->error;
  EXPECT_EQ(result->rows[0][0], "done");
}

TEST_F(PgTargetTest, ErrorsNeverContainTheDsnOrThePassword) {
  std::string dsn = cluster().DsnFor(PgCluster::kPasswordUser, "WrongPw-5521");
  auto target = MakeTarget(dsn);
  for (int i = 0; i < 2; ++i) {  // the connect error, then the backoff message quoting it
    auto r = Query(*target, "SELECT 1");
    ASSERT_TRUE(r);
    EXPECT_THAT(r->error, HasSubstr("password authentication failed"));
    EXPECT_THAT(r->error, Not(HasSubstr("WrongPw-5521")));
    EXPECT_THAT(r->error, Not(HasSubstr(dsn)));
    EXPECT_THAT(r->error, Not(HasSubstr("password=")));
  }
}

}  // namespace
}  // namespace drwatch::test
