// pg::Connection against a real PostgreSQL 15 cluster: connecting, results,
// errors, and what a deadline does to a query or a frozen server.

#include "pg/connection.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <iostream>

#include "support/pg_cluster.hpp"

namespace drwatch::test {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using Row = std::vector<std::optional<std::string>>;

int ThreadCount() {
  int count = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/task")) ++count;
  return count;
}

class PgConnectionTest : public PgClusterTest {
 protected:
  std::unique_ptr<pg::Connection> Connect(const std::string& dsn, std::string& error,
                                          std::chrono::milliseconds deadline = 10s) {
    auto conn = RunWithDeadline(io_, pg::Connection::Connect(pool_, dsn, error), deadline);
    return conn ? std::move(*conn) : nullptr;
  }

  std::unique_ptr<pg::Connection> MustConnect(const std::string& dsn) {
    std::string error;
    auto conn = Connect(dsn, error);
    EXPECT_TRUE(conn) << error;
    return conn;
  }

  std::optional<pg::QueryResult> Execute(pg::Connection& conn, const std::string& sql,
                                         std::chrono::milliseconds deadline = 10s) {
    return RunWithDeadline(io_, conn.Execute(sql), deadline);
  }
};

TEST_F(PgConnectionTest, ConnectsAndReadsRowsAsText) {
  auto conn = MustConnect(cluster().Dsn());
  ASSERT_TRUE(conn);
  EXPECT_TRUE(conn->healthy());
  EXPECT_THAT(conn->ServerVersion(), StartsWith("15."));
  auto r = Execute(*conn, "SELECT 1 AS one, 'x'::text AS t, current_setting('application_name') AS app");
  ASSERT_TRUE(r);
  ASSERT_TRUE(r->ok()) << r->error;
  EXPECT_EQ(r->columns, (std::vector<std::string>{"one", "t", "app"}));
  EXPECT_EQ(r->column_types, (std::vector<Oid>{23, 25, 25}));
  EXPECT_EQ(r->rows, (std::vector<Row>{{"1", "x", "drwatchd"}}));
}

TEST_F(PgConnectionTest, ApplicationNameFromTheDsnWins) {
  auto conn = MustConnect(cluster().Dsn("application_name=billing_watch"));
  ASSERT_TRUE(conn);
  auto r = Execute(*conn, "SELECT current_setting('application_name')");
  ASSERT_TRUE(r && r->ok());
  EXPECT_EQ(r->rows, (std::vector<Row>{{"billing_watch"}}));
}

TEST_F(PgConnectionTest, UriDsnWorks) {
  auto conn = MustConnect("postgresql://postgres@127.0.0.1:" + std::to_string(cluster().Port()) + "/postgres");
  ASSERT_TRUE(conn);
  auto r = Execute(*conn, "SELECT 7");
  ASSERT_TRUE(r && r->ok());
  EXPECT_EQ(r->rows, (std::vector<Row>{{"7"}}));
}

TEST_F(PgConnectionTest, ClosedPortFailsFastWithTheReason) {
  int port = pgproc::FreeLoopbackPort();
  std::string error;
  auto start = std::chrono::steady_clock::now();
  auto conn = Connect("host=127.0.0.1 port=" + std::to_string(port) + " user=postgres dbname=postgres", error);
  EXPECT_FALSE(conn);
  EXPECT_LT(Since(start), 1s);
  EXPECT_THAT(error, HasSubstr("Connection refused"));
  EXPECT_EQ(error.find('\n'), std::string::npos) << error;
}

TEST_F(PgConnectionTest, BadPasswordFailsWithoutEchoingIt) {
  std::string error;
  auto conn = Connect(cluster().DsnFor(PgCluster::kPasswordUser, "WrongPw-8812"), error);
  EXPECT_FALSE(conn);
  EXPECT_THAT(error, HasSubstr("password authentication failed for user \"drwatch\""));
  EXPECT_THAT(error, Not(HasSubstr("WrongPw-8812")));
  EXPECT_THAT(error, Not(HasSubstr("password=")));

  auto good = MustConnect(cluster().PasswordDsn());
  ASSERT_TRUE(good);
  auto r = Execute(*good, "SELECT current_user");
  ASSERT_TRUE(r && r->ok());
  EXPECT_EQ(r->rows, (std::vector<Row>{{"drwatch"}}));
}

TEST_F(PgConnectionTest, UnparsableDsnFailsWithoutEchoingIt) {
  std::string error;
  auto conn = Connect("host=127.0.0.1 hunter2secret", error);
  EXPECT_FALSE(conn);
  EXPECT_EQ(error, "invalid connection string: missing \"=\" after a keyword");
}

TEST_F(PgConnectionTest, NullsEmptyStringsAndEmptyResults) {
  auto conn = MustConnect(cluster().Dsn());
  ASSERT_TRUE(conn);
  auto r = Execute(*conn, "SELECT NULL::int AS n, ''::text AS e");
  ASSERT_TRUE(r && r->ok());
  EXPECT_EQ(r->rows, (std::vector<Row>{{std::nullopt, ""}}));

  r = Execute(*conn, "SELECT 1 AS a WHERE false");
  ASSERT_TRUE(r && r->ok());
  EXPECT_EQ(r->columns, (std::vector<std::string>{"a"}));
  EXPECT_TRUE(r->rows.empty());

  r = Execute(*conn, "");
  ASSERT_TRUE(r && r->ok());
  EXPECT_TRUE(r->columns.empty());
  EXPECT_TRUE(conn->healthy());
}

TEST_F(PgConnectionTest, KeepsTheLastResultSet) {
  auto conn = MustConnect(cluster().Dsn());
  ASSERT_TRUE(conn);
  auto r = Execute(*conn, pg::WrapReadOnly("SELECT 1 AS a; SELECT 2 AS b, 3 AS c", 5s));
  ASSERT_TRUE(r && r->ok()) << (r ? r->error : "deadline");
  EXPECT_EQ(r->columns, (std::vector<std::string>{"b", "c"}));
  EXPECT_EQ(r->rows, (std::vector<Row>{{"2", "3"}}));
}

TEST_F(PgConnectionTest, ErrorsAreOneLineAndTheConnectionStaysUsable) {
  auto conn = MustConnect(cluster().Dsn());
  ASSERT_TRUE(conn);
  auto r = Execute(*conn, pg::WrapReadOnly("SELECT 1/0", 5s));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->error, "division by zero");
  EXPECT_TRUE(r->rows.empty());
  EXPECT_TRUE(conn->healthy());

  // Unwrapped: would fail with "current transaction is aborted" had the
  // failed transaction not been rolled back.
  r = Execute(*conn, "SELECT 2");
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->ok()) << r->error;

  r = Execute(*conn, pg::WrapReadOnly("CREATE TABLE forbidden (x int)", 5s));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->error, "cannot execute CREATE TABLE in a read-only transaction");

  r = Execute(*conn, "DO $$ BEGIN RAISE EXCEPTION E'first line\\nsecond line'; END $$");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->error, "first line");

  r = Execute(*conn, "SELECT 3");
  ASSERT_TRUE(r && r->ok());
  EXPECT_EQ(r->rows, (std::vector<Row>{{"3"}}));
}

TEST_F(PgConnectionTest, ATransactionLeftOpenIsRolledBack) {
  auto conn = MustConnect(cluster().Dsn());
  ASSERT_TRUE(conn);
  auto r = Execute(*conn, "BEGIN; CREATE TEMP TABLE left_open (x int); SELECT 1");
  ASSERT_TRUE(r && r->ok()) << (r ? r->error : "deadline");
  EXPECT_TRUE(conn->healthy());
  r = Execute(*conn, "SELECT count(*) FROM pg_class WHERE relname = 'left_open'");
  ASSERT_TRUE(r && r->ok());
  EXPECT_EQ(r->rows, (std::vector<Row>{{"0"}}));
}

TEST_F(PgConnectionTest, StatementTimeoutEndsTheQueryServerSide) {
  auto conn = MustConnect(cluster().Dsn());
  ASSERT_TRUE(conn);
  auto start = std::chrono::steady_clock::now();
  auto r = Execute(*conn, pg::WrapReadOnly("SELECT pg_sleep(5)", 200ms));
  ASSERT_TRUE(r);
  EXPECT_LT(Since(start), 1s);
  EXPECT_EQ(r->error, "canceling statement due to statement timeout");
  EXPECT_TRUE(conn->healthy());
  r = Execute(*conn, "SELECT 1");
  EXPECT_TRUE(r && r->ok());
}

TEST_F(PgConnectionTest, CancelledQueryEndsAtTheDeadlineAndLeavesTheServer) {
  std::string app = UniqueAppName();
  auto conn = MustConnect(cluster().Dsn("application_name=" + app));
  ASSERT_TRUE(conn);
  ASSERT_EQ(cluster().Backends(app), 1);

  auto start = std::chrono::steady_clock::now();
  auto r = Execute(*conn, "SELECT pg_sleep(30)", 1s);
  auto took = Since(start);
  EXPECT_FALSE(r) << "the query finished before the deadline";
  EXPECT_GE(took, 1s);
  EXPECT_LT(took, 1200ms);
  EXPECT_FALSE(conn->healthy());

  auto drop = std::chrono::steady_clock::now();
  conn.reset();
  EXPECT_LT(Since(drop), 20ms) << "the destructor must not wait for the server";
  auto gone = PollUntil(io_, [&] { return cluster().Backends(app) == 0; }, 5s);
  ASSERT_TRUE(gone) << "the backend is still in pg_stat_activity";
  EXPECT_LT(*gone, 1s);
  std::cout << "[ figures  ] cancelled query returned after " << took.count()
            << " ms; backend gone from pg_stat_activity " << gone->count() << " ms later\n";
  RecordProperty("backend_gone_ms", static_cast<int>(gone->count()));
}

TEST_F(PgConnectionTest, ConnectToAFrozenServerIsCancelledAtTheDeadline) {
  cluster().Freeze();
  LoopWatch watch(io_);
  std::string error;
  auto start = std::chrono::steady_clock::now();
  auto conn = Connect(cluster().Dsn(), error, 1s);
  auto took = Since(start);
  EXPECT_FALSE(conn);
  EXPECT_GE(took, 1s);
  EXPECT_LT(took, 2s);
  EXPECT_GE(watch.ticks(), 15);
  EXPECT_LT(watch.worst_lateness(), 250ms);
  cluster().Thaw();

  conn = MustConnect(cluster().Dsn());
  EXPECT_TRUE(conn);
}

TEST_F(PgConnectionTest, QueryOnAFrozenServerIsCancelledAtTheDeadline) {
  std::string app = UniqueAppName();
  auto conn = MustConnect(cluster().Dsn("application_name=" + app));
  ASSERT_TRUE(conn);
  cluster().Freeze();
  LoopWatch watch(io_);
  auto start = std::chrono::steady_clock::now();
  auto r = Execute(*conn, pg::WrapReadOnly("SELECT 1", 1s), 1s);
  auto took = Since(start);
  EXPECT_FALSE(r);
  EXPECT_GE(took, 1s);
  EXPECT_LT(took, 2s);

  // PQcancel now blocks on its own thread until the server answers.
  auto drop = std::chrono::steady_clock::now();
  conn.reset();
  EXPECT_LT(Since(drop), 20ms);
  TurnLoop(io_, 300ms);
  EXPECT_GE(watch.ticks(), 20);
  EXPECT_LT(watch.worst_lateness(), 250ms);

  cluster().Thaw();
  auto gone = PollUntil(io_, [&] { return cluster().Backends(app) == 0; }, 5s);
  EXPECT_TRUE(gone) << "the backend outlived the thaw";
}

TEST_F(PgConnectionTest, CancelThreadsAreCappedWhileTheServerIsFrozen) {
  constexpr int kQueries = 10;
  std::string app = UniqueAppName();
  std::vector<std::unique_ptr<pg::Connection>> conns;
  for (int i = 0; i < kQueries; ++i) {
    conns.push_back(MustConnect(cluster().Dsn("application_name=" + app)));
    ASSERT_TRUE(conns.back());
  }
  int finished = 0;
  for (auto& conn : conns) {
    SpawnWithDeadline<pg::QueryResult>(io_, conn->Execute(pg::WrapReadOnly("SELECT pg_sleep(30)", 1500ms)), 600ms,
                                       [&](auto, auto) { ++finished; });
  }
  TurnLoop(io_, 250ms);  // the queries are running
  cluster().Freeze();
  ASSERT_TRUE(PollUntil(io_, [&] { return finished == kQueries; }, 2s));

  LoopWatch watch(io_);
  int threads_before = ThreadCount();
  auto drop = std::chrono::steady_clock::now();
  conns.clear();
  EXPECT_LT(Since(drop), 50ms);
  TurnLoop(io_, 300ms);
  EXPECT_EQ(ThreadCount() - threads_before, 8) << "one blocked PQcancel thread per query, up to the cap";
  EXPECT_LT(watch.worst_lateness(), 250ms);
  // The shared pool is not held up by the frozen server.
  auto pooled = RunWithDeadline(io_, RunBlocking(pool_, [] { return 42; }, [](int) {}), 1s);
  ASSERT_TRUE(pooled);
  EXPECT_EQ(pooled->value_or(0), 42);

  cluster().Thaw();
  auto gone = PollUntil(io_, [&] { return cluster().Backends(app) == 0; }, 5s);
  ASSERT_TRUE(gone) << cluster().Backends(app) << " backends left";
  std::cout << "[ figures  ] " << kQueries << " queries cancelled on a frozen server: all backends gone "
            << gone->count() << " ms after the thaw\n";
  EXPECT_TRUE(PollUntil(io_, [&] { return ThreadCount() == threads_before; }, 2s));
}

}  // namespace
}  // namespace drwatch::test
