// The catalogue rules of restore.drill and postgres.schema_drift: the check
// references they need (a backup.pg_dump check), the drill target that must
// not be the backup's source, and the RTO systems under `covers`.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "catalogue/catalogue.hpp"
#include "support/bad_fixtures.hpp"

namespace drwatch::catalogue {
namespace {

constexpr char kSourceRefused[] = ": a drill restores onto a drill server, never the database it protects";

const std::vector<test::BadCase> kBadCases = {
    {"bad_drill_backup_unknown.yml",
     {":24:13: checks[2].backup: unknown check \"nightly_dump\" (backup.pg_dump checks: nightly)"}},
    {"bad_drill_backup_kind.yml",
     {":24:13: checks[2].backup: kind restore.drill needs a backup.pg_dump check, \"ping\" is postgres.ping"}},
    {"bad_drift_backup_kind.yml",
     {":24:13: checks[2].backup: kind postgres.schema_drift needs a backup.pg_dump check, \"ping\" is postgres.ping"}},
    {"bad_drill_target_source.yml",
     {std::string(":23:13: checks[2].target: \"primary\" is the source of backup nightly") + kSourceRefused}},
    {"bad_drill_target_same_database.yml",
     {std::string(":23:13: checks[2].target: \"drill_server\" reaches the same database as \"primary\", the "
                  "source of backup nightly") + kSourceRefused}},
    {"bad_drill_covers_objective.yml",
     {":27:7: checks[2].covers.auth: unknown objective \"rto.auth\" (declared: rto.authentication, "
      "rto.core_business_logic)"}},
    {"bad_drill_covers_item.yml",
     {":26:23: checks[2].covers.authentication: invalid item \"auth.users.id\" (use a schema, e.g. auth, or a "
      "table, e.g. auth.users)"}},
};

class BadRestoreCatalogue : public testing::TestWithParam<test::BadCase> {};

TEST_P(BadRestoreCatalogue, ReportsExactly) {
  test::ExpectRefused(GetParam());
}

INSTANTIATE_TEST_SUITE_P(Fixtures, BadRestoreCatalogue, testing::ValuesIn(kBadCases), test::BadCaseName);

constexpr char kGood[] = R"(targets:
  primary: {type: postgres, dsn: "host=db.example dbname=app"}
  drill_server: {type: postgres, dsn: "host=drill.example dbname=postgres"}
  backups: {type: storage, url: "file:///var/backups/drwatch"}
objectives:
  rto: {authentication: 15m, core_business_logic: 30m, analytics_reporting: 2h}
checks:
  - name: drill
    kind: restore.drill
    target: drill_server
    backup: nightly
    covers:
      analytics_reporting: [analytics]
      authentication: [auth.users, auth.sessions]
      core_business_logic: [public]
    verify: ["SELECT count(*) > 0 FROM auth.users"]
    jobs: 2
  - name: drift
    kind: postgres.schema_drift
    target: primary
    backup: nightly
  - name: nightly
    kind: backup.pg_dump
    target: primary
    storage: backups
)";

const CheckSpec& Find(const Catalogue& c, const std::string& name) {
  for (const auto& check : c.checks) {
    if (check.name == name) return check;
  }
  throw std::runtime_error("no check " + name);
}

TEST(RestoreCatalogue, LinksABackupDeclaredLaterAndUsesItsStorage) {
  auto loaded = LoadCatalogueText(kGood, "drill.yml");
  ASSERT_TRUE(loaded.catalogue) << testing::PrintToString(loaded.errors);
  const auto& drill = Find(*loaded.catalogue, "drill");
  auto refs = drill.probe->ReferencedTargets();
  ASSERT_EQ(refs.size(), 1u);
  EXPECT_EQ(refs[0].target, "backups");
  EXPECT_EQ(refs[0].type, "storage");
  auto drift_refs = Find(*loaded.catalogue, "drift").probe->ReferencedTargets();
  ASSERT_EQ(drift_refs.size(), 1u);
  EXPECT_EQ(drift_refs[0].target, "backups");
  // A drill changes with its backup's configuration.
  EXPECT_NE(drill.fingerprint.find("backup:\n"), std::string::npos);
}

TEST(RestoreCatalogue, DrillDefaultsToAWeeklyScheduleAndALongTimeout) {
  auto loaded = LoadCatalogueText(kGood, "drill.yml");
  ASSERT_TRUE(loaded.catalogue);
  const auto& drill = Find(*loaded.catalogue, "drill");
  EXPECT_EQ(drill.interval, std::chrono::hours(24 * 7));
  EXPECT_EQ(drill.timeout, std::chrono::hours(6));
  EXPECT_EQ(Find(*loaded.catalogue, "drift").interval, std::chrono::hours(1));
}

TEST(RestoreCatalogue, DrillMeasuresEachCoveredSystemsRto) {
  auto loaded = LoadCatalogueText(kGood, "drill.yml");
  ASSERT_TRUE(loaded.catalogue);
  std::vector<std::string> measured;
  for (const auto& ref : Find(*loaded.catalogue, "drill").probe->MeasuredObjectives()) measured.push_back(ref.objective);
  // Shortest RTO first: the order in which the drill restores them.
  EXPECT_THAT(measured, testing::ElementsAre("rto.authentication", "rto.core_business_logic", "rto.analytics_reporting"));
}

}  // namespace
}  // namespace drwatch::catalogue
