// postgres.security against a real cluster: a database seeded with one
// problem per rule, each reported with its count, and every count back to
// zero once the problems are fixed.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <map>

#include "catalogue/catalogue.hpp"
#include "support/pg_cluster.hpp"
#include "support/check_runner.hpp"
#include "engine/run_once.hpp"

namespace drwatch::test {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::Not;

// One of each problem the rules look for, in its own database so the other
// tests' objects do not count.
constexpr char kProblems[] =
    "CREATE ROLE anon NOLOGIN;"
    "CREATE SCHEMA auth;"
    "CREATE TABLE auth.users (id int PRIMARY KEY, email text);"
    "CREATE TABLE public.notes (id int PRIMARY KEY, body text);"                       // rls_disabled_in_public
    "CREATE TABLE public.secrets (id int);"
    "ALTER TABLE public.secrets ENABLE ROW LEVEL SECURITY;"                            // rls_enabled_no_policy
    "CREATE TABLE public.drafts (id int);"
    "CREATE POLICY p ON public.drafts USING (true);"                                   // policy_exists_rls_disabled
    "CREATE VIEW public.user_emails AS SELECT email FROM auth.users;"                  // auth_users_exposed + security_definer_view
    "CREATE FUNCTION public.elevate() RETURNS int LANGUAGE sql SECURITY DEFINER AS 'SELECT 1';"  // function_search_path_mutable
    "CREATE EXTENSION pg_trgm SCHEMA public;"                                          // extension_in_public
    "GRANT INSERT, DELETE ON public.notes TO anon;"                                    // anon_write_grants
    "GRANT CREATE ON SCHEMA public TO PUBLIC;"                                         // public_schema_create
    "CREATE ROLE mallory SUPERUSER NOLOGIN;"                                           // superuser_roles
    "SET password_encryption = 'md5'; CREATE ROLE legacy LOGIN PASSWORD 'legacy-pw';";  // md5_passwords

constexpr char kFixes[] =
    "ALTER TABLE public.notes ENABLE ROW LEVEL SECURITY;"
    "CREATE POLICY own ON public.notes USING (true);"
    "CREATE POLICY own ON public.secrets USING (true);"
    "ALTER TABLE public.drafts ENABLE ROW LEVEL SECURITY;"
    "DROP VIEW public.user_emails;"
    "ALTER FUNCTION public.elevate() SET search_path = '';"
    "CREATE SCHEMA extensions; ALTER EXTENSION pg_trgm SET SCHEMA extensions;"
    "REVOKE INSERT, DELETE ON public.notes FROM anon;"
    "REVOKE CREATE ON SCHEMA public FROM PUBLIC;"
    "DROP ROLE mallory;"
    "SET password_encryption = 'scram-sha-256'; ALTER ROLE legacy PASSWORD 'legacy-pw';";

class PostgresSecurityTest : public PgClusterTest {
 protected:
  void SetUp() override {
    PgClusterTest::SetUp();
    static int databases = 0;
    db_ = "security_" + std::to_string(++databases);
    cluster().Exec("CREATE DATABASE " + db_);
  }
  void TearDown() override {
    target_.reset();
    TurnLoop(io_, 100ms);
    PgClusterTest::TearDown();
  }

  // Runs `sql` in this test's database as the superuser.
  void Exec(const std::string& sql) {
    PGconn* conn = PQconnectdb(cluster().Dsn("dbname=" + db_ + " connect_timeout=5").c_str());
    ASSERT_EQ(PQstatus(conn), CONNECTION_OK) << PQerrorMessage(conn);
    PGresult* result = PQexec(conn, sql.c_str());
    EXPECT_EQ(PQresultStatus(result), PGRES_COMMAND_OK) << PQerrorMessage(conn);
    PQclear(result);
    PQfinish(conn);
  }

  std::optional<probes::ProbeResult> Review(const std::string& dsn, const std::string& extra = "") {
    std::string text = "targets:\n  db: {type: postgres, dsn: \"" + dsn + "\"}\nchecks:\n"
                       "  - name: review\n    kind: postgres.security\n    target: db\n" + extra;
    auto loaded = catalogue::LoadCatalogueText(text, "security_test.yml");
    std::string errors;
    for (const auto& e : loaded.errors) errors += e + "\n";
    EXPECT_TRUE(loaded.catalogue) << errors;
    if (!loaded.catalogue) return std::nullopt;
    catalogue_ = loaded.catalogue;
    target_ = catalogue_->targets.at("db")->MakeRuntime(io_.get_executor(), pool_);
    const auto& check = catalogue_->checks.at(0);
    auto ctx = engine::MakeRunContext(io_.get_executor(), pool_, check, *target_, 10s, Clock::now() + 10s);
    return RunWithDeadline(io_, check.probe->Run(ctx), 10s);
  }

  static std::map<std::string, double> Findings(const probes::ProbeResult& r) {
    std::map<std::string, double> out;
    for (const auto& s : r.samples) {
      if (s.name == "drwatch_security_findings") out[s.labels.at(0).second] = s.value;
    }
    return out;
  }

  std::string db_;
  std::shared_ptr<const catalogue::Catalogue> catalogue_;
  std::shared_ptr<targets::TargetRuntime> target_;
};

TEST_F(PostgresSecurityTest, EachRuleCountsItsFindingsAndDropsToZeroWhenFixed) {
  Exec(kProblems);
  auto r = Review(cluster().Dsn("dbname=" + db_));
  ASSERT_TRUE(r) << "timed out";
  std::cout << r->details;
  EXPECT_FALSE(r->success);
  EXPECT_EQ(r->reason,
            "critical findings: rls_disabled_in_public (2), policy_exists_rls_disabled (1), "
            "security_definer_view (1), auth_users_exposed (1)");
  std::map<std::string, double> want = {
      {"rls_disabled_in_public", 2},  // notes, drafts
      {"rls_enabled_no_policy", 1},     {"policy_exists_rls_disabled", 1}, {"security_definer_view", 1},
      {"function_search_path_mutable", 1}, {"auth_users_exposed", 1},     {"extension_in_public", 1},
      {"anon_write_grants", 1},         {"public_schema_create", 1},        {"superuser_roles", 1},
      {"md5_passwords", 1},             {"ssl_off", 1}};
  EXPECT_EQ(Findings(*r), want);
  EXPECT_THAT(r->details, HasSubstr("anon_write_grants (warning): 1: public.notes DELETE,INSERT to anon"));
  EXPECT_THAT(r->details, HasSubstr("superuser_roles (warning): 1: mallory (superuser)"));
  EXPECT_THAT(r->details, HasSubstr("function_search_path_mutable (warning): 1: public.elevate()"));
  for (const auto& s : r->samples) {
    for (const auto& [name, value] : s.labels) EXPECT_THAT(value, Not(HasSubstr("."))) << "no object in a label";
  }

  Exec(kFixes);
  auto fixed = Review(cluster().Dsn("dbname=" + db_), "    rules: {ssl_off: off}\n");
  ASSERT_TRUE(fixed);
  EXPECT_TRUE(fixed->success) << fixed->reason;
  for (const auto& [rule, n] : Findings(*fixed)) EXPECT_EQ(n, 0) << rule << "\n" << fixed->details;
  EXPECT_FALSE(Findings(*fixed).contains("ssl_off")) << "a rule turned off exports nothing";
}

TEST_F(PostgresSecurityTest, SeverityOverridesDecideWhatFailsTheCheck) {
  Exec("CREATE TABLE public.open (id int);");
  auto r = Review(cluster().Dsn("dbname=" + db_), "    rules: {rls_disabled_in_public: warning, ssl_off: info}\n");
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->success) << r->reason;
  EXPECT_EQ(Findings(*r).at("rls_disabled_in_public"), 1);
  auto strict = Review(cluster().Dsn("dbname=" + db_), "    rules: {ssl_off: critical}\n");
  ASSERT_TRUE(strict);
  EXPECT_FALSE(strict->success);
  EXPECT_THAT(strict->reason, HasSubstr("ssl_off (1)"));
}

TEST_F(PostgresSecurityTest, WithoutPgAuthidTheMd5RuleIsSkippedWithAReason) {
  Exec(std::string("GRANT CONNECT ON DATABASE ") + db_ + " TO " + PgCluster::kPasswordUser);
  auto r = Review(cluster().DsnFor(PgCluster::kPasswordUser, PgCluster::kPassword, "dbname=" + db_));
  ASSERT_TRUE(r);
  EXPECT_FALSE(Findings(*r).contains("md5_passwords"));
  EXPECT_THAT(r->details, HasSubstr("md5_passwords skipped: pg_authid is not readable by this role"));
}

TEST(PostgresSecurityCatalogue, UnknownRulesAndSeveritiesAreRefusedWithTheirKey) {
  std::string text =
      "targets:\n  db: {type: postgres, dsn: \"host=127.0.0.1\"}\nchecks:\n"
      "  - name: review\n    kind: postgres.security\n    target: db\n"
      "    rules: {no_such_rule: warning, ssl_off: loud}\n";
  auto loaded = catalogue::LoadCatalogueText(text, "bad.yml");
  EXPECT_FALSE(loaded.catalogue);
  EXPECT_THAT(loaded.errors, ::testing::ElementsAre(
                                 "bad.yml:7:27: checks[0].rules.no_such_rule: unknown rule (see "
                                 "docs/catalogue.md#postgressecurity)",
                                 "bad.yml:7:45: checks[0].rules.ssl_off: expected off, info, warning or critical"));
}

}  // namespace
}  // namespace drwatch::test
