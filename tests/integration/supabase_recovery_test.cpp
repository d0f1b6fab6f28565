// Recovery of a database shaped like a Supabase project
// (tests/testdata/supabase/fixture.sql: platform roles owning schemas, RLS
// policies naming API roles, extensions in their own schema, a partitioned
// audit log fed by a trigger, an enum, a generated column, inheritance, a
// publication), backed up as a non-superuser with BYPASSRLS and
// pg_read_all_data (as Supabase's postgres role is), then drilled on a plain
// cluster that has none of the roles and restored into another fresh one.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "backup/runs.hpp"
#include "restore/restore_latest.hpp"
#include "storage/file_backend.hpp"
#include "support/check_runner.hpp"
#include "support/drill_fixture.hpp"
#include "support/pg_cluster.hpp"
#include "support/process.hpp"

namespace drwatch::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::Not;

// Row counts the fixture makes (count(*) of a parent includes its children).
const std::map<std::string, std::string> kRows = {
    {"auth.users", "5000"},        {"auth.sessions", "15000"},   {"storage.buckets", "2"},
    {"storage.objects", "4000"},   {"public.profiles", "5000"},  {"public.posts", "40000"},
    {"public.comments", "21000"},  {"public.flagged_comments", "1000"}, {"public.audit_logs", "100100"},
    {"public.audit_logs_history", "60000"}, {"public.audit_logs_future", "100"}};

constexpr char kTables[] =
    "[auth.users, auth.sessions, storage.objects, public.profiles, public.posts, public.comments, "
    "public.audit_logs, public.audit_logs_history]";

// What an application sees of a database besides its rows, each as one
// sorted text (`Sorted` aggregates the rows of a query of one text column).
std::string Sorted(const std::string& query) {
  return "SELECT coalesce(string_agg(x, E'\\n' ORDER BY x), '') FROM (" + query + ") AS s(x)";
}
const std::string kPolicies = Sorted(
    "SELECT format('%s.%s %s %s %s %s', schemaname, tablename, policyname, roles, cmd, qual) FROM pg_policies");
const std::string kRlsTables = Sorted("SELECT oid::regclass::text FROM pg_class WHERE relrowsecurity");
const std::string kApiGrants = Sorted(
    "SELECT format('%s %s.%s %s', grantee, table_schema, table_name, privilege_type) "
    "FROM information_schema.role_table_grants WHERE grantee IN ('anon', 'authenticated', 'service_role')");
const std::string kOwners = Sorted(
    "SELECT format('%s.%s %s', schemaname, tablename, tableowner) FROM pg_tables "
    "WHERE schemaname IN ('auth', 'storage', 'public')");
const std::string kSchemaOwners = Sorted(
    "SELECT format('%s %s', nspname, nspowner::regrole) FROM pg_namespace "
    "WHERE nspname IN ('auth', 'storage', 'extensions')");
const std::string kMemberships = Sorted(
    "SELECT format('%s>%s', roleid::regrole, member::regrole) FROM pg_auth_members "
    "WHERE member::regrole::text = 'authenticator'");

class SupabaseRecoveryTest : public DrillServerTest {
 protected:
  void SetUp() override {
    DrillServerTest::SetUp();
    if (HasFatalFailure()) return;
    static bool seeded = false;
    if (!seeded) {
      seeded = true;
      cluster().Exec(ReadFile(std::string(DRWATCH_TESTDATA_DIR) + "/supabase/fixture.sql"));
      // The backup connects as Supabase's postgres role does: no superuser,
      // but BYPASSRLS and read access to everything.
      cluster().Exec(std::string("ALTER ROLE ") + PgCluster::kPasswordUser + " BYPASSRLS;"
                     "GRANT pg_read_all_data TO " + PgCluster::kPasswordUser);
    }
    runner_.Load(Catalogue(), "supabase_test.yml");
  }

  std::string Catalogue() const {
    return CatalogueWithBackup(kTables) +
           "  - name: weekly_drill\n"
           "    kind: restore.drill\n"
           "    target: drill\n"
           "    backup: nightly\n"
           "    covers:\n"
           "      authentication: [auth]\n"
           "      core_business_logic: [public.audit_logs, public.posts, storage]\n"
           "      analytics_reporting: [public.published_posts]\n"
           "    verify:\n"
           "      - \"SELECT count(*) = 100100 FROM public.audit_logs\"\n"
           "      - \"SELECT count(*) = 6 FROM pg_policies\"\n";
  }

  std::string Backup() {
    auto r = runner_.Run("nightly", 180s);
    EXPECT_TRUE(r && r->success) << (r ? r->reason : "timed out");
    storage::FileBackend store(pool_, dir_ + "/store");
    auto latest = RunWithDeadline(io_, backup::LatestComplete(store, "nightly"), 10s);
    EXPECT_TRUE(latest && latest->ok());
    if (!latest || !latest->ok()) return "";
    manifest_ = latest->manifest;
    return latest->manifest.run;
  }

  int RestoreLatest(const PgCluster& to, bool no_owner, std::string& out) {
    storage::FileBackend store(pool_, dir_ + "/store");
    auto ctx = runner_.Context("nightly", 300s);
    std::ostringstream text;
    restore::RestoreLatestOptions options{"nightly", to.Dsn(), false, no_owner};
    auto status = RunWithDeadline(io_, restore::RestoreLatestCommand(ctx, store, options, text), 300s);
    out = text.str();
    std::cout << out;
    return status.value_or(-1);
  }

  backup::Manifest manifest_;
};

TEST_F(SupabaseRecoveryTest, EveryRunStoresTheRolesWithoutPasswordsAndTheStructure) {
  std::string run = Backup();
  ASSERT_FALSE(run.empty());
  const auto* roles = manifest_.File("roles.sql");
  ASSERT_NE(roles, nullptr) << "roles.sql is listed in the manifest";
  EXPECT_GT(roles->size, 0u);
  std::string text = ReadFile(dir_ + "/store/nightly/" + run + "/roles.sql");
  EXPECT_EQ(text.size(), roles->size);
  for (const char* role : {"CREATE ROLE anon;", "CREATE ROLE authenticated;", "CREATE ROLE service_role;",
                           "CREATE ROLE supabase_auth_admin;", "GRANT anon TO authenticator"}) {
    EXPECT_THAT(text, HasSubstr(role));
  }
  // The password user has a SCRAM verifier: neither it nor any hash is stored.
  EXPECT_THAT(text, Not(HasSubstr("PASSWORD")));
  EXPECT_THAT(text, Not(HasSubstr("SCRAM-SHA-256")));
  EXPECT_THAT(text, Not(HasSubstr(PgCluster::kPassword)));

  std::map<std::string, std::int64_t> counts;
  for (const auto& c : manifest_.structure) counts[c.name] = c.count;
  EXPECT_EQ(counts["tables"], 9);
  EXPECT_EQ(counts["partitions"], 3);
  EXPECT_EQ(counts["views"], 1);
  EXPECT_EQ(counts["functions"], 2);
  EXPECT_EQ(counts["triggers"], 1);
  EXPECT_EQ(counts["policies"], 6);
  EXPECT_EQ(counts["rls_tables"], 4);
  EXPECT_EQ(counts["extensions"], 3);
  EXPECT_EQ(counts["enums"], 2);
  EXPECT_EQ(counts["publications"], 1);
}

TEST_F(SupabaseRecoveryTest, DrillRestoresPartitionsPoliciesAndOwnersOnAClusterWithoutTheRoles) {
  ASSERT_EQ(drill_server_->QueryValue("SELECT count(*) FROM pg_roles WHERE rolname = 'supabase_auth_admin'"), "0");
  std::string run = Backup();
  ASSERT_FALSE(run.empty());
  auto r = runner_.Run("weekly_drill", 300s);
  ASSERT_TRUE(r) << "timed out";
  std::cout << r->details;
  ASSERT_TRUE(r->success) << r->reason;
  EXPECT_EQ(r->reason, "run " + run + " restored, 9 tables verified");
  EXPECT_THAT(r->details, HasSubstr("roles: anon, authenticated, authenticator, dashboard_user"));
  EXPECT_THAT(r->details, HasSubstr("verify structure (11 counts)"));
  // The roles stay on the drill server, with their attributes and memberships.
  EXPECT_EQ(drill_server_->QueryValue("SELECT rolbypassrls FROM pg_roles WHERE rolname = 'service_role'"), "t");
  EXPECT_EQ(drill_server_->QueryValue(kMemberships), cluster().QueryValue(kMemberships));
  auto samples = SamplesByName(r->samples);
  double auth = samples.at("drwatch_restore_duration_seconds{system=authentication}");
  double core = samples.at("drwatch_restore_duration_seconds{system=core_business_logic}");
  EXPECT_GT(core, auth);
  // The dump's bytes over pg_restore's time: more than 5.6 MB in less than the whole drill.
  EXPECT_GT(samples.at("drwatch_restore_throughput_bytes_per_second"),
            static_cast<double>(manifest_.File("data.dump")->size) / samples.at(
                "drwatch_restore_duration_seconds{system=analytics_reporting}"));
  // A second drill finds the roles there and still passes.
  auto again = runner_.Run("weekly_drill", 300s);
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->success) << again->reason;
  EXPECT_THAT(again->details, HasSubstr("roles: none created (9 existed)"));
}

TEST_F(SupabaseRecoveryTest, RestoreLatestIntoAFreshClusterIsIndistinguishableForTheApplication) {
  std::string run = Backup();
  ASSERT_FALSE(run.empty());
  PgCluster fresh;
  std::string out;
  ASSERT_EQ(RestoreLatest(fresh, false, out), 0) << out;
  EXPECT_THAT(out, HasSubstr("roles: anon, authenticated, authenticator, dashboard_user, service_role, "
                             "supabase_auth_admin, supabase_storage_admin (7 created"));
  EXPECT_THAT(out, HasSubstr("verify structure (11 counts)"));
  for (const auto& [table, rows] : kRows) {
    EXPECT_EQ(fresh.QueryValue("SELECT count(*) FROM " + table), rows) << table;
  }
  for (const auto& query : {kPolicies, kRlsTables, kApiGrants, kOwners, kSchemaOwners, kMemberships}) {
    EXPECT_EQ(fresh.QueryValue(query), cluster().QueryValue(query)) << query;
  }
  EXPECT_EQ(fresh.QueryValue("SELECT pubname FROM pg_publication_tables WHERE tablename = 'posts'"),
            "supabase_realtime");
  EXPECT_EQ(fresh.QueryValue("SELECT setting FROM pg_db_role_setting s, unnest(s.setconfig) setting "
                             "WHERE setrole = 'authenticator'::regrole"),
            "statement_timeout=8s");
  // The application writes: identity columns continue, the trigger fires
  // into the right partition, the generated column computes.
  fresh.Exec("INSERT INTO public.posts (author_id, title, created_at) SELECT id, 'after recovery', "
             "'2026-12-06' FROM public.profiles LIMIT 1");
  EXPECT_EQ(fresh.QueryValue("SELECT max(id) FROM public.posts"), "40001");
  EXPECT_EQ(fresh.QueryValue("SELECT count(*) FROM public.audit_logs_2026 WHERE action = 'INSERT post' "
                             "AND detail->>'title' = 'after recovery'"),
            "1");
  fresh.Exec("INSERT INTO public.audit_logs (action) VALUES ('manual')");
  EXPECT_EQ(fresh.QueryValue("SELECT count(*) FROM public.audit_logs"), "100102");
  EXPECT_EQ(fresh.QueryValue("SELECT full_name FROM public.profiles ORDER BY first_name LIMIT 1"), "First1 Last1");
  // RLS applies to the API roles as it did.
  EXPECT_EQ(fresh.QueryValue("SET ROLE anon; SELECT count(*) FROM public.posts"),
            cluster().QueryValue("SET ROLE anon; SELECT count(*) FROM public.posts"));
}

TEST_F(SupabaseRecoveryTest, RestoreLatestWithNoOwnerLeavesTheConnectingUserOwningEverything) {
  Backup();
  PgCluster fresh;
  std::string out;
  ASSERT_EQ(RestoreLatest(fresh, true, out), 0) << out;
  EXPECT_EQ(fresh.QueryValue("SELECT count(*) FROM pg_tables WHERE schemaname = 'auth' AND tableowner <> 'postgres'"),
            "0");
  EXPECT_EQ(fresh.QueryValue(kPolicies), cluster().QueryValue(kPolicies));
}

TEST_F(SupabaseRecoveryTest, ARunMissingAPolicyFailsTheDrillNamingIt) {
  std::string run = Backup();
  ASSERT_FALSE(run.empty());
  // The backup says 6 policies; a restored database with fewer is no recovery.
  auto& m = manifest_;
  for (auto& c : m.structure) {
    if (c.name == "policies") c.count = 7;
  }
  std::string path = dir_ + "/store/nightly/" + run + "/manifest.json";
  std::ofstream(path, std::ios::trunc) << backup::ToJson(m);
  auto r = runner_.Run("weekly_drill", 300s);
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->success);
  EXPECT_EQ(r->reason, "structure: only 6 of 7 policies restored");
}

}  // namespace
}  // namespace drwatch::test
