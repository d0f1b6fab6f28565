// The three PostgreSQL probe kinds, built from catalogue text as the daemon
// builds them, run against a real cluster (and through PgBouncer in
// transaction pooling mode).

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

#include "catalogue/catalogue.hpp"
#include "support/pg_cluster.hpp"
#include "support/check_runner.hpp"
#include "support/pgbouncer.hpp"
#include "engine/run_once.hpp"

namespace drwatch::test {
namespace {

using namespace std::chrono_literals;
using ::testing::AllOf;
using ::testing::DoubleNear;
using ::testing::Ge;
using ::testing::HasSubstr;
using ::testing::Lt;
using ::testing::Not;
using ::testing::StartsWith;

class PostgresProbesTest : public PgClusterTest {
 protected:
  // Loads a catalogue with one target `db` at `dsn` and the given checks.
  std::shared_ptr<const catalogue::Catalogue> Load(const std::string& dsn, const std::string& checks) {
    std::string text = "targets:\n  db:\n    type: postgres\n    dsn: \"" + dsn + "\"\nchecks:\n" + checks;
    auto loaded = catalogue::LoadCatalogueText(text, "probes_test.yml");
    std::string errors;
    for (const auto& e : loaded.errors) errors += e + "\n";
    EXPECT_TRUE(loaded.catalogue) << errors;
    if (loaded.catalogue) target_ = loaded.catalogue->targets.at("db")->MakeRuntime(io_.get_executor(), pool_);
    return loaded.catalogue;
  }

  const catalogue::CheckSpec& Check(const catalogue::Catalogue& catalogue, const std::string& name) {
    for (const auto& check : catalogue.checks) {
      if (check.name == name) return check;
    }
    throw std::runtime_error("no check " + name);
  }

  // One run as the runner does it: the probe races its deadline.
  std::optional<probes::ProbeResult> Run(const catalogue::CheckSpec& check, std::chrono::milliseconds timeout = 5s) {
    auto ctx = engine::MakeRunContext(io_.get_executor(), pool_, check, *target_, timeout, Clock::now() + timeout);
    return RunWithDeadline(io_, check.probe->Run(ctx), timeout);
  }

  std::shared_ptr<targets::TargetRuntime> target_;
};

constexpr char kPing[] = "  - {name: ping, kind: postgres.ping, target: db}\n";

TEST_F(PostgresProbesTest, PingSucceedsWithItsSamples) {
  auto catalogue = Load(cluster().Dsn(), kPing);
  ASSERT_TRUE(catalogue);
  auto r = Run(Check(*catalogue, "ping"));
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->success) << r->reason;
  ASSERT_EQ(r->samples.size(), 3u);
  EXPECT_EQ(r->samples[0].name, "drwatch_postgres_connect_duration_seconds");
  EXPECT_THAT(r->samples[0].value, AllOf(Ge(0.0), Lt(1.0)));
  EXPECT_EQ(r->samples[1].name, "drwatch_postgres_query_duration_seconds");
  EXPECT_THAT(r->samples[1].value, AllOf(Ge(0.0), Lt(1.0)));
  EXPECT_EQ(r->samples[2].name, "drwatch_postgres_server_info");
  ASSERT_EQ(r->samples[2].labels.size(), 1u);
  EXPECT_EQ(r->samples[2].labels[0].first, "version");
  EXPECT_THAT(r->samples[2].labels[0].second, StartsWith("15."));
  ASSERT_TRUE(r->observed);
  EXPECT_GT(*r->observed, 0.0);
}

TEST_F(PostgresProbesTest, PingFailureNamesTheCauseAndNotThePassword) {
  auto catalogue = Load(cluster().DsnFor(PgCluster::kPasswordUser, "WrongPw-3141"), kPing);
  ASSERT_TRUE(catalogue);
  auto r = Run(Check(*catalogue, "ping"));
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->success);
  EXPECT_THAT(r->reason, StartsWith("connect: "));
  EXPECT_THAT(r->reason, HasSubstr("password authentication failed"));
  EXPECT_THAT(r->reason, Not(HasSubstr("WrongPw-3141")));

  catalogue = Load("host=127.0.0.1 port=" + std::to_string(pgproc::FreeLoopbackPort()) + " user=postgres", kPing);
  ASSERT_TRUE(catalogue);
  r = Run(Check(*catalogue, "ping"));
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->success);
  EXPECT_THAT(r->reason, AllOf(StartsWith("connect: "), HasSubstr("Connection refused")));
}

TEST_F(PostgresProbesTest, RecencyTurnsStaleWhenTheNewestRowAges) {
  cluster().Exec("CREATE TABLE recency_events (created_at timestamptz NOT NULL)");
  cluster().Exec("INSERT INTO recency_events VALUES (now())");
  auto catalogue = Load(cluster().Dsn(), R"yaml(  - name: fresh
    kind: postgres.recency
    target: db
    query: "SELECT max(created_at) FROM recency_events;"
    max_age: 1s
  - name: hourly
    kind: postgres.recency
    target: db
    query: "SELECT max(created_at) FROM recency_events"
    max_age: 1m
)yaml");
  ASSERT_TRUE(catalogue);
  const auto& fresh = Check(*catalogue, "fresh");
  auto r = Run(fresh);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->success) << r->reason;
  EXPECT_THAT(r->reason, StartsWith("newest row is "));
  ASSERT_TRUE(r->observed);
  EXPECT_LT(*r->observed, 1.0);
  EXPECT_THAT(SamplesByName(r->samples), ::testing::ElementsAre(::testing::Pair("drwatch_data_age_seconds", *r->observed)));
  std::vector<metrics::Sample> static_samples;
  fresh.probe->StaticSamples(static_samples);
  EXPECT_THAT(SamplesByName(static_samples), ::testing::ElementsAre(::testing::Pair("drwatch_data_max_age_seconds", 1.0)));

  TurnLoop(io_, 1200ms);
  r = Run(fresh);
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->success);
  EXPECT_THAT(r->reason, AllOf(StartsWith("newest row is "), HasSubstr(" old, max_age 1s")));

  cluster().Exec("UPDATE recency_events SET created_at = now() - interval '1 hour'");
  r = Run(Check(*catalogue, "hourly"));
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->success);
  EXPECT_THAT(r->reason, AllOf(StartsWith("newest row is 1h"), HasSubstr(" old, max_age 1m")));
  ASSERT_TRUE(r->observed);
  EXPECT_THAT(*r->observed, DoubleNear(3600.0, 5.0));
}

TEST_F(PostgresProbesTest, RecencyOfAnEmptyTableIsNoRows) {
  cluster().Exec("CREATE TABLE empty_events (created_at timestamptz)");
  auto catalogue = Load(cluster().Dsn(), R"yaml(  - name: null_max
    kind: postgres.recency
    target: db
    query: SELECT max(created_at) FROM empty_events
    max_age: 1h
  - name: zero_rows
    kind: postgres.recency
    target: db
    query: SELECT created_at FROM empty_events LIMIT 1
    max_age: 1h
)yaml");
  ASSERT_TRUE(catalogue);
  for (const char* name : {"null_max", "zero_rows"}) {
    auto r = Run(Check(*catalogue, name));
    ASSERT_TRUE(r);
    EXPECT_FALSE(r->success);
    EXPECT_EQ(r->reason, "no rows") << name;
  }
}

// Issue 10 §4: under RLS a recency check used to read "no rows" (no
// activity) when the truth was "this role cannot see the rows". Checks run
// with row_security = off, so only a role that bypasses RLS reads the table;
// a policy for the role is not enough (PostgreSQL then refuses the query too).
TEST_F(PostgresProbesTest, RowLevelSecurityFailsTheCheckWithTheReasonInsteadOfNoRows) {
  cluster().Exec(R"sql(
    CREATE TABLE audit_logs (created_at timestamptz NOT NULL);
    INSERT INTO audit_logs VALUES (now());
    ALTER TABLE audit_logs ENABLE ROW LEVEL SECURITY;
    CREATE ROLE drwatch_monitor LOGIN IN ROLE pg_monitor;
    CREATE ROLE drwatch_with_policy LOGIN IN ROLE pg_monitor;
    CREATE ROLE drwatch_bypass LOGIN BYPASSRLS IN ROLE pg_monitor;
    GRANT SELECT ON audit_logs TO drwatch_monitor, drwatch_with_policy, drwatch_bypass;
    CREATE POLICY drwatch_reads ON audit_logs FOR SELECT TO drwatch_with_policy USING (true);
    -- The least privilege that works without BYPASSRLS: a function of the
    -- table's owner that returns only the newest time.
    CREATE FUNCTION audit_logs_newest() RETURNS timestamptz LANGUAGE sql STABLE SECURITY DEFINER
      SET search_path = public AS 'SELECT max(created_at) FROM audit_logs';
    REVOKE EXECUTE ON FUNCTION audit_logs_newest() FROM PUBLIC;
    GRANT EXECUTE ON FUNCTION audit_logs_newest() TO drwatch_monitor;
    -- The owner itself, when RLS is forced on it.
    CREATE ROLE app_owner LOGIN;
    CREATE TABLE forced_logs (created_at timestamptz NOT NULL);
    INSERT INTO forced_logs VALUES (now());
    ALTER TABLE forced_logs OWNER TO app_owner;
    ALTER TABLE forced_logs ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
  )sql");
  constexpr char kChecks[] = R"yaml(
  - {name: recency, kind: postgres.recency, target: db, query: SELECT max(created_at) FROM audit_logs, max_age: 1h}
  - {name: count, kind: postgres.query, target: db, query: "SELECT count(*) AS n FROM audit_logs"}
  - {name: forced, kind: postgres.recency, target: db, query: SELECT max(created_at) FROM forced_logs, max_age: 1h}
  - {name: through_function, kind: postgres.recency, target: db, query: SELECT audit_logs_newest(), max_age: 1h}
)yaml";
  auto Reason = [](const std::string& role, const std::string& table) {
    return "query: row-level security hides rows of " + table + " from role " + role +
           ": grant it BYPASSRLS (checks run with row_security = off, so a policy is not enough)";
  };
  for (const char* role : {"drwatch_monitor", "drwatch_with_policy"}) {
    auto catalogue = Load(cluster().DsnFor(role, ""), kChecks);
    ASSERT_TRUE(catalogue);
    for (int i = 0; i < 2; ++i) {  // the shared connection stays usable
      for (const char* check : {"recency", "count"}) {
        auto r = Run(Check(*catalogue, check));
        ASSERT_TRUE(r);
        EXPECT_FALSE(r->success) << role << " " << check;
        EXPECT_EQ(r->reason, Reason(role, "public.audit_logs")) << check;
      }
    }
  }
  auto catalogue = Load(cluster().DsnFor("drwatch_monitor", ""), kChecks);
  ASSERT_TRUE(catalogue);
  auto r = Run(Check(*catalogue, "through_function"));
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->success) << r->reason;

  catalogue = Load(cluster().DsnFor("app_owner", ""), kChecks);
  ASSERT_TRUE(catalogue);
  r = Run(Check(*catalogue, "forced"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->reason, Reason("app_owner", "public.forced_logs"));

  catalogue = Load(cluster().DsnFor("drwatch_bypass", ""), kChecks);
  ASSERT_TRUE(catalogue);
  r = Run(Check(*catalogue, "recency"));
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->success) << r->reason;
  EXPECT_THAT(r->reason, StartsWith("newest row is "));
  r = Run(Check(*catalogue, "count"));
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->success) << r->reason;
  EXPECT_THAT(SamplesByName(r->samples), ::testing::ElementsAre(::testing::Pair("drwatch_query_n", 1.0)));
}

TEST_F(PostgresProbesTest, QueryTurnsNumericColumnsIntoLabelledSamples) {
  auto catalogue = Load(cluster().Dsn(), R"yaml(  - name: lag
    kind: postgres.query
    target: db
    query: |
      SELECT * FROM (VALUES ('a', 3, 2.5::float8, 'x', true, NULL::int),
                            ('b', 4, 0.5::float8, 'y', false, 7))
        AS t(shard, lag, ratio, note, ok, maybe)
    labels: [shard]
)yaml");
  ASSERT_TRUE(catalogue);
  auto r = Run(Check(*catalogue, "lag"));
  ASSERT_TRUE(r);
  ASSERT_TRUE(r->success) << r->reason;
  EXPECT_EQ(r->reason, "2 rows");
  EXPECT_EQ(r->observed, 2.0);
  std::map<std::string, double> expected = {
      {"drwatch_query_lag{shard=a}", 3},   {"drwatch_query_ratio{shard=a}", 2.5},
      {"drwatch_query_ok{shard=a}", 1},    {"drwatch_query_lag{shard=b}", 4},
      {"drwatch_query_ratio{shard=b}", 0.5}, {"drwatch_query_ok{shard=b}", 0},
      {"drwatch_query_maybe{shard=b}", 7},
  };
  EXPECT_EQ(SamplesByName(r->samples), expected);
}

TEST_F(PostgresProbesTest, AFailingQueryDoesNotSpoilTheSharedConnection) {
  auto catalogue = Load(cluster().Dsn(), R"yaml(  - {name: broken, kind: postgres.query, target: db, query: "SELECT 1/0 AS x"}
  - {name: writes, kind: postgres.query, target: db, query: "CREATE TABLE nope (x int)"}
  - {name: fine, kind: postgres.query, target: db, query: "SELECT 5 AS five"}
)yaml");
  ASSERT_TRUE(catalogue);
  auto r = Run(Check(*catalogue, "broken"));
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->success);
  EXPECT_EQ(r->reason, "query: division by zero");
  r = Run(Check(*catalogue, "writes"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->reason, "query: cannot execute CREATE TABLE in a read-only transaction");
  r = Run(Check(*catalogue, "fine"));
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->success) << r->reason;
  EXPECT_EQ(SamplesByName(r->samples), (std::map<std::string, double>{{"drwatch_query_five", 5}}));
}

TEST_F(PostgresProbesTest, ASlowQueryEndsAtTheDeadline) {
  std::string app = UniqueAppName();
  auto catalogue = Load(cluster().Dsn("application_name=" + app), R"yaml(  - name: slow
    kind: postgres.recency
    target: db
    query: SELECT now() FROM pg_sleep(30)
    max_age: 1h
)yaml");
  ASSERT_TRUE(catalogue);
  auto start = std::chrono::steady_clock::now();
  auto r = Run(Check(*catalogue, "slow"), 1s);
  auto took = Since(start);
  EXPECT_FALSE(r) << "finished before the deadline: " << r->reason;
  EXPECT_GE(took, 1s);
  EXPECT_LT(took, 1200ms);
  EXPECT_TRUE(PollUntil(io_, [&] { return cluster().Backends(app) == 0; }, 2s)) << "the query still runs";
}

TEST_F(PostgresProbesTest, RecencyWorksRepeatedlyThroughPgBouncerInTransactionMode) {
  PgBouncer bouncer(cluster());
  cluster().Exec("CREATE TABLE bouncer_events (created_at timestamptz NOT NULL)");
  cluster().Exec("INSERT INTO bouncer_events VALUES (now() - interval '5 minutes')");
  auto catalogue = Load(bouncer.Dsn(), R"yaml(  - name: recency
    kind: postgres.recency
    target: db
    query: SELECT max(created_at) FROM bouncer_events
    max_age: 1h
  - {name: broken, kind: postgres.query, target: db, query: "SELECT 1/0 AS x"}
  - {name: ping, kind: postgres.ping, target: db}
)yaml");
  ASSERT_TRUE(catalogue);
  for (int i = 0; i < 20; ++i) {
    auto r = Run(Check(*catalogue, i % 5 == 4 ? "broken" : "recency"));
    ASSERT_TRUE(r) << "run " << i;
    if (i % 5 == 4) {
      EXPECT_EQ(r->reason, "query: division by zero");
      continue;
    }
    EXPECT_TRUE(r->success) << "run " << i << ": " << r->reason;
    ASSERT_TRUE(r->observed);
    EXPECT_THAT(*r->observed, DoubleNear(300.0, 5.0));
  }
  auto r = Run(Check(*catalogue, "ping"));
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->success) << r->reason;
}

}  // namespace
}  // namespace drwatch::test
