// postgres.baseline against a real PostgreSQL 15 with pg_stat_statements
// preloaded: a statement made 5x slower (its data asks pg_sleep for five
// times as long) is caught after `for` runs, the judgement survives a
// restart (a new probe reading the history file), and the check recovers
// when the statement is fast again. Without pg_stat_statements it says so
// and still judges a named check's duration.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <filesystem>
#include <fstream>

#include "engine/state_store.hpp"
#include "probes/history.hpp"
#include "support/pg_cluster.hpp"
#include "support/check_runner.hpp"

namespace drwatch::test {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::Not;
namespace fs = std::filesystem;

constexpr char kSlowStatement[] = "SELECT pg_sleep(v) FROM knob";

class BaselineTest : public ProbeHarness {
 protected:
  static void SetUpTestSuite() {
    cluster_ = new PgCluster(PgClusterOptions{.settings = {"shared_preload_libraries = 'pg_stat_statements'",
                                                           "pg_stat_statements.track = top"}});
  }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }
  void SetUp() override { storage_path_ = pgproc::MakeOwnedTempDir("drwatch-baseline"); }
  void TearDown() override {
    ProbeHarness::TearDown();
    fs::remove_all(storage_path_);
  }

  // Runs `sql` in database `db` on one connection (the same queryid each time).
  static void Exec(const std::string& db, const std::string& sql, int times = 1) {
    PGconn* conn = PQconnectdb(cluster_->Dsn("dbname=" + db + " connect_timeout=5").c_str());
    ASSERT_EQ(PQstatus(conn), CONNECTION_OK) << PQerrorMessage(conn);
    for (int i = 0; i < times; ++i) {
      PGresult* result = PQexec(conn, sql.c_str());
      EXPECT_TRUE(PQresultStatus(result) == PGRES_COMMAND_OK || PQresultStatus(result) == PGRES_TUPLES_OK)
          << PQerrorMessage(conn);
      PQclear(result);
    }
    PQfinish(conn);
  }

  // The first column of the first row of `sql` in database `db`, or "".
  static std::string QueryValue(const std::string& db, const std::string& sql) {
    PGconn* conn = PQconnectdb(cluster_->Dsn("dbname=" + db + " connect_timeout=5").c_str());
    PGresult* result = PQexec(conn, sql.c_str());
    std::string value = PQresultStatus(result) == PGRES_TUPLES_OK && PQntuples(result) > 0 ? PQgetvalue(result, 0, 0) : "";
    EXPECT_EQ(PQresultStatus(result), PGRES_TUPLES_OK) << PQerrorMessage(conn);
    PQclear(result);
    PQfinish(conn);
    return value;
  }

  static PgCluster* cluster_;
};

PgCluster* BaselineTest::cluster_ = nullptr;

double RatioOf(const probes::ProbeResult& r, const std::string& subject) {
  for (const auto& s : r.samples) {
    if (s.name == "drwatch_baseline_ratio" && s.labels == metrics::Labels{{"subject", subject}}) return s.value;
  }
  return -1;
}

TEST_F(BaselineTest, CatchesAStatementMadeFiveTimesSlowerAndRemembersItAcrossARestart) {
  cluster_->Exec("CREATE DATABASE perf");
  Exec("perf", "CREATE EXTENSION pg_stat_statements; CREATE TABLE knob (v float8); INSERT INTO knob VALUES (0.02)");
  const std::string checks =
      "  - {name: baseline, kind: postgres.baseline, target: db, top: 10, tables: 3, warmup: 3, for: 2}\n";
  ASSERT_TRUE(Load(cluster_->Dsn("dbname=perf"), checks));
  auto workload = [] { Exec("perf", kSlowStatement, 5); };

  // The first run only reads the counters; three more warm the baseline up.
  for (int i = 0; i < 4; ++i) {
    workload();
    auto r = Run("baseline", 10s);
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->success) << r->reason;
  }
  std::string id = QueryValue("perf", "SELECT queryid FROM pg_stat_statements WHERE query = '" +
                                        std::string(kSlowStatement) + "' LIMIT 1");
  ASSERT_NE(id, "");
  const std::string subject = "statement:" + id;

  workload();
  auto normal = Run("baseline", 10s);
  ASSERT_TRUE(normal);
  double ratio = RatioOf(*normal, subject);
  EXPECT_GT(ratio, 0.5) << normal->details;
  EXPECT_LT(ratio, 2) << normal->details;
  EXPECT_THAT(normal->reason, Not(HasSubstr(subject)));
  for (const auto& s : normal->samples) {
    for (const auto& [k, v] : s.labels) EXPECT_THAT(v, Not(HasSubstr("pg_sleep"))) << "query text in a label";
  }
  EXPECT_THAT(normal->details, Not(HasSubstr("pg_sleep")));

  // Five times slower: above the factor once (for: 2 not yet reached), then failing.
  Exec("perf", "UPDATE knob SET v = 0.1");
  workload();
  auto first = Run("baseline", 10s);
  ASSERT_TRUE(first);
  EXPECT_GT(RatioOf(*first, subject), 3) << first->details;
  EXPECT_LT(RatioOf(*first, subject), 8) << first->details;
  EXPECT_THAT(first->reason, Not(HasSubstr(subject)));
  workload();
  auto caught = Run("baseline", 10s);
  ASSERT_TRUE(caught);
  EXPECT_FALSE(caught->success);
  EXPECT_THAT(caught->reason, HasSubstr("above 2.00x the baseline: " + subject));
  EXPECT_THAT(caught->reason, HasSubstr("for 2 runs"));
  std::cout << "[ measured ] " << caught->reason << "\n" << caught->details;

  // A restart: a new probe from the same catalogue, the history from the file.
  std::string file = storage_path_ + "/history/baseline.json";
  ASSERT_TRUE(fs::exists(file));
  ASSERT_TRUE(Load(cluster_->Dsn("dbname=perf"), checks));
  workload();
  auto after = Run("baseline", 10s);
  ASSERT_TRUE(after);
  EXPECT_FALSE(after->success);
  EXPECT_THAT(after->reason, HasSubstr(subject + " "));
  EXPECT_THAT(after->reason, HasSubstr("for 3 runs"));

  // Fast again: judged normal at once, the count reset.
  Exec("perf", "UPDATE knob SET v = 0.02");
  workload();
  auto back = Run("baseline", 10s);
  ASSERT_TRUE(back);
  EXPECT_THAT(back->reason, Not(HasSubstr(subject)));
  EXPECT_LT(RatioOf(*back, subject), 2) << back->details;

  // pg_stat_statements gone for a while: said, and the statements' baselines kept.
  Exec("perf", "DROP EXTENSION pg_stat_statements");
  auto without = Run("baseline", 10s);
  ASSERT_TRUE(without);
  EXPECT_THAT(without->reason, HasSubstr("pg_stat_statements is not installed in this database"));
  std::string error;
  probes::History kept = probes::LoadHistory(storage_path_, "baseline", error);
  EXPECT_EQ(error, "");
  EXPECT_TRUE(kept.subjects.contains(subject));
}

TEST_F(BaselineTest, WithoutPgStatStatementsItSaysSoAndJudgesANamedChecksDuration) {
  cluster_->Exec("CREATE DATABASE plain");
  ASSERT_TRUE(Load(cluster_->Dsn("dbname=plain"),
                   "  - {name: ping, kind: postgres.ping, target: db}\n"
                   "  - {name: baseline, kind: postgres.baseline, target: db, checks: [ping], warmup: 3, for: 2}\n"));
  engine::StateStore store(storage_path_);
  std::string error;
  ASSERT_TRUE(store.Prepare(error)) << error;
  double at = 1.7e9;
  auto ping_took = [&](double seconds) {
    engine::CheckState s;
    s.has_result = true;
    s.success = true;
    s.last_result = engine::RunResult::kSuccess;
    s.last_duration_seconds = seconds;
    s.last_run_timestamp = at += 60;
    std::int64_t mtime = 0;
    ASSERT_TRUE(store.Write("ping", engine::EncodeState("ping", "postgres.ping", s), mtime, error)) << error;
  };
  for (double seconds : {0.10, 0.12, 0.11, 0.10}) {
    ping_took(seconds);
    auto r = Run("baseline", 10s);
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->success) << r->reason;
    EXPECT_THAT(r->reason, HasSubstr("pg_stat_statements is not installed in this database"));
  }
  // No new run of ping: no new sample, nothing judged for it.
  auto same = Run("baseline", 10s);
  ASSERT_TRUE(same);
  EXPECT_EQ(RatioOf(*same, "check:ping"), -1);

  // The baseline is the median of the kept samples 0.10, 0.12, 0.11, 0.10: 0.105 s.
  ping_took(0.315);
  auto slow = Run("baseline", 10s);
  ASSERT_TRUE(slow);
  EXPECT_TRUE(slow->success);
  EXPECT_NEAR(RatioOf(*slow, "check:ping"), 3, 1e-9);
  ping_took(0.315);
  auto failing = Run("baseline", 10s);
  ASSERT_TRUE(failing);
  EXPECT_FALSE(failing->success);
  EXPECT_THAT(failing->reason, HasSubstr("check:ping"));
}

}  // namespace
}  // namespace drwatch::test
