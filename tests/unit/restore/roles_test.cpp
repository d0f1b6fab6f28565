#include "restore/roles.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "restore/structure.hpp"

namespace drwatch::restore {
namespace {

using ::testing::ElementsAre;

// pg_dumpall 15.18 --roles-only --no-role-passwords of a Supabase-shaped cluster.
constexpr char kRoles[] = R"(--
-- PostgreSQL database cluster dump
--

\restrict oQC0v8XHISjVCcEU7pBHxAO40cLvFhkNdNnTiv0MSUEZWhVX6FUMtIc1X5bBpLc

SET default_transaction_read_only = off;

SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;

--
-- Roles
--

CREATE ROLE anon;
ALTER ROLE anon WITH NOSUPERUSER NOINHERIT NOCREATEROLE NOCREATEDB NOLOGIN NOREPLICATION NOBYPASSRLS;
CREATE ROLE authenticator;
ALTER ROLE authenticator WITH NOSUPERUSER NOINHERIT NOCREATEROLE NOCREATEDB LOGIN NOREPLICATION NOBYPASSRLS;
CREATE ROLE "Odd ""Role""; x";
ALTER ROLE "Odd ""Role""; x" WITH NOSUPERUSER INHERIT NOCREATEROLE NOCREATEDB NOLOGIN NOREPLICATION NOBYPASSRLS;
CREATE ROLE service_role;
ALTER ROLE service_role WITH NOSUPERUSER NOINHERIT NOCREATEROLE NOCREATEDB NOLOGIN NOREPLICATION BYPASSRLS;
COMMENT ON ROLE service_role IS 'API role; it''s for servers -- only';

--
-- User Configurations
--

ALTER ROLE authenticator SET statement_timeout TO '8s';
ALTER ROLE authenticator IN DATABASE postgres SET search_path TO 'public';

--
-- Role memberships
--

GRANT anon TO authenticator GRANTED BY postgres;
GRANT service_role TO authenticator WITH ADMIN OPTION GRANTED BY postgres;
GRANT "Odd ""Role""; x" TO anon GRANTED BY postgres;

\unrestrict oQC0v8XHISjVCcEU7pBHxAO40cLvFhkNdNnTiv0MSUEZWhVX6FUMtIc1X5bBpLc

--
-- PostgreSQL database cluster dump complete
--
)";

TEST(ParseRoleScript, GroupsEachRolesStatementsAndKeepsQuotedNames) {
  auto script = ParseRoleScript(kRoles);
  ASSERT_EQ(script.roles.size(), 4u);
  EXPECT_EQ(script.roles[0].name, "anon");
  EXPECT_THAT(script.roles[0].statements,
              ElementsAre("CREATE ROLE anon", "ALTER ROLE anon WITH NOSUPERUSER NOINHERIT NOCREATEROLE NOCREATEDB "
                                              "NOLOGIN NOREPLICATION NOBYPASSRLS"));
  EXPECT_EQ(script.roles[1].name, "authenticator");
  ASSERT_EQ(script.roles[1].statements.size(), 3u) << "IN DATABASE settings are left out";
  EXPECT_EQ(script.roles[1].statements[2], "ALTER ROLE authenticator SET statement_timeout TO '8s'");
  EXPECT_EQ(script.roles[2].name, "Odd \"Role\"; x");
  EXPECT_EQ(script.roles[2].statements[0], "CREATE ROLE \"Odd \"\"Role\"\"; x\"");
  EXPECT_EQ(script.roles[3].statements.back(), "COMMENT ON ROLE service_role IS 'API role; it''s for servers -- only'");
}

TEST(ParseRoleScript, MembershipsLoseTheirGrantor) {
  auto script = ParseRoleScript(kRoles);
  ASSERT_EQ(script.memberships.size(), 3u);
  EXPECT_EQ(script.memberships[0].role, "anon");
  EXPECT_EQ(script.memberships[0].member, "authenticator");
  EXPECT_EQ(script.memberships[0].statement, "GRANT \"anon\" TO \"authenticator\"");
  EXPECT_EQ(script.memberships[1].statement, "GRANT \"service_role\" TO \"authenticator\" WITH ADMIN OPTION");
  EXPECT_EQ(script.memberships[2].role, "Odd \"Role\"; x");
  EXPECT_EQ(script.memberships[2].statement, "GRANT \"Odd \"\"Role\"\"; x\" TO \"anon\"");
}

TEST(ParseRoleScript, PostgreSQL16MembershipOptionsAreKept) {
  auto script = ParseRoleScript("GRANT anon TO authenticator WITH INHERIT TRUE, SET TRUE GRANTED BY supabase_admin;\n");
  ASSERT_EQ(script.memberships.size(), 1u);
  EXPECT_EQ(script.memberships[0].statement, "GRANT \"anon\" TO \"authenticator\" WITH INHERIT TRUE, SET TRUE");
}

TEST(ParseRoleScript, HostileOrEmptyInputGivesNothingToRun) {
  EXPECT_TRUE(ParseRoleScript("").roles.empty());
  EXPECT_TRUE(ParseRoleScript("DROP DATABASE postgres; SELECT 1; CREATE ROLE").roles.empty());
  EXPECT_TRUE(ParseRoleScript("CREATE ROLE \"unterminated;").roles.empty());
  auto script = ParseRoleScript("GRANT SELECT ON t TO anon; GRANT anon;");
  EXPECT_TRUE(script.memberships.empty());
}

TEST(SplitStatements, QuotesAndCommentsDoNotSplit) {
  EXPECT_THAT(SplitStatements("SELECT ';'; -- a; comment\nSELECT \"a;b\";\n\\restrict x;y\nSELECT 1"),
              ElementsAre("SELECT ';'", "SELECT \"a;b\""));
}

TEST(CompareStructure, NamesWhatIsMissingAndIgnoresExtras) {
  std::vector<backup::ManifestCount> backup = {{"tables", 9}, {"policies", 6}, {"publications", 1}};
  EXPECT_EQ(CompareStructure(backup, {{"tables", 9}, {"policies", 6}, {"publications", 1}}), "");
  EXPECT_EQ(CompareStructure(backup, {{"tables", 10}, {"policies", 6}, {"publications", 2}, {"views", 3}}), "");
  EXPECT_EQ(CompareStructure(backup, {{"tables", 9}, {"policies", 4}}),
            "structure: only 4 of 6 policies, 0 of 1 publications restored");
  EXPECT_EQ(CompareStructure({}, {{"tables", 1}}), "");
}

TEST(ReadStructure, RejectsAWrongShape) {
  std::vector<backup::ManifestCount> out;
  pg::QueryResult bad;
  bad.rows = {{std::string("1")}};
  EXPECT_EQ(ReadStructure(bad, out), "count structure: unexpected result");
  pg::QueryResult failed;
  failed.error = "permission denied";
  EXPECT_EQ(ReadStructure(failed, out), "count structure: permission denied");
}

}  // namespace
}  // namespace drwatch::restore
