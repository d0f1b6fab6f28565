// The one conninfo → PG* variables function every PostgreSQL tool uses
// (pg_dump, pg_restore, psql), and the spawn spec built from it.

#include "pg/tools.hpp"

#include <gtest/gtest.h>

namespace drwatch::pg {
namespace {

using Vars = std::map<std::string, std::string>;

TEST(PgEnvironment, EveryConninfoSettingBecomesItsLibpqVariable) {
  auto env = PgEnvironment("host=db.internal port=6543 user=monitor password='p w' sslmode=require dbname=app",
                           "app_scratch", "drwatchd pg_dump");
  EXPECT_EQ(env.error, "");
  EXPECT_EQ(env.set, (Vars{{"PGHOST", "db.internal"},
                           {"PGPORT", "6543"},
                           {"PGUSER", "monitor"},
                           {"PGPASSWORD", "p w"},
                           {"PGSSLMODE", "require"},
                           {"PGDATABASE", "app_scratch"},
                           {"PGAPPNAME", "drwatchd pg_dump"}}));
  EXPECT_FALSE(env.inherit_own);
}

TEST(PgEnvironment, TheDsnsOwnDatabaseAndApplicationNameStayWhenNoneIsGiven) {
  auto env = PgEnvironment("postgresql://u@h/app?application_name=mine", "", "drwatchd pg_dump");
  EXPECT_EQ(env.set, (Vars{{"PGHOST", "h"}, {"PGUSER", "u"}, {"PGDATABASE", "app"}, {"PGAPPNAME", "mine"}}));
}

TEST(PgEnvironment, AnInvalidConninfoIsAnErrorWithoutIt) {
  auto env = PgEnvironment("host=h password=Sekr1t bogus");
  EXPECT_EQ(env.error, "invalid connection string");
  EXPECT_TRUE(env.set.empty());
}

TEST(WithDatabase, KeepsEveryOtherSettingQuotedSoItParsesBack) {
  std::string dsn = WithDatabase("host=h user=u password='it\\'s a \\\\ secret' dbname=app", "app_scratch");
  EXPECT_EQ(PgEnvironment(dsn).set, (Vars{{"PGHOST", "h"},
                                          {"PGUSER", "u"},
                                          {"PGPASSWORD", "it's a \\ secret"},
                                          {"PGDATABASE", "app_scratch"}}));
}

TEST(ServerMajor, ReadsVersionTextAndVersionNumber) {
  EXPECT_EQ(ServerMajor("15.18 (Debian 15.18-0+deb12u1)"), 15);
  EXPECT_EQ(ServerMajor("150018"), 15);
  EXPECT_EQ(ServerMajor("9.6.24"), 9);
  EXPECT_EQ(ServerMajor("devel"), 0);
}

TEST(ToolSpec, PassesTheOperatorsOwnPgVariablesOnlyWhenAsked) {
  auto env = PgEnvironment("host=h");
  SpawnSpec daemon = ToolSpec({"/usr/bin/pg_restore"}, env);
  EXPECT_EQ(daemon.env, (Vars{{"PGHOST", "h"}}));
  EXPECT_TRUE(daemon.inherit_env.empty());
  env.inherit_own = true;  // restore latest
  SpawnSpec operator_command = ToolSpec({"/usr/bin/pg_restore"}, env);
  EXPECT_EQ(operator_command.inherit_env, std::vector<std::string>{"PG*"});
}

TEST(PostgresBinDir, FindsInstalledMajorOnly) {
  EXPECT_EQ(PostgresBinDir(15), "/usr/lib/postgresql/15/bin");
  EXPECT_EQ(PostgresBinDir(3), "");
}

}  // namespace
}  // namespace drwatch::pg
