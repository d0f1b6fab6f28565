// The keys of postgres.wal_archive and postgres.replication: one bad fixture
// per rule with its exact errors, and the accepted forms.

#include <gtest/gtest.h>

#include "catalogue/catalogue.hpp"
#include "support/bad_fixtures.hpp"

namespace drwatch::catalogue {
namespace {

using Errors = std::vector<std::string>;

const std::vector<test::BadCase> kBadCases = {
    {"bad_wal_archive_max_age.yml",
     {":9:14: checks[0].max_age: invalid duration \"soon\" (use e.g. 500ms, 30s, 5m, 1h30m, 7d)"}},
    {"bad_wal_archive_missing_max_age.yml",
     {":6:5: checks[0].max_age: missing required key", ":9:5: checks[0].query: unknown key"}},
    {"bad_replication_min_standbys.yml",
     {":10:19: checks[0].min_standbys: expected an integer between 0 and 1000",
      ":15:19: checks[1].min_standbys: expected an integer between 0 and 1000"}},
    {"bad_replication_max_slot_retained.yml",
     {":10:24: checks[0].max_slot_retained: expected an integer between 0 and 1125899906842624"}},
    {"bad_replication_missing_max_lag.yml",
     {":6:5: checks[0].max_lag: missing required key", ":9:5: checks[0].max_age: unknown key"}},
};

class BadWalReplicationKeys : public testing::TestWithParam<test::BadCase> {};

TEST_P(BadWalReplicationKeys, ReportsExactErrors) {
  test::ExpectRefused(GetParam());
}

INSTANTIATE_TEST_SUITE_P(Fixtures, BadWalReplicationKeys, testing::ValuesIn(kBadCases), test::BadCaseName);

constexpr const char* kTarget = R"(targets:
  primary:
    type: postgres
    dsn: "host=127.0.0.1 dbname=x user=u"
objectives:
  rpo: {realtime: 5m}
checks:
)";

TEST(WalReplicationKeys, AcceptsEveryKeyAndFeedsAnObjective) {
  std::string text = std::string(kTarget) + R"(  - name: wal_archiving
    kind: postgres.wal_archive
    target: primary
    max_age: 5m
    objective: rpo.realtime
  - {name: replication, kind: postgres.replication, target: primary, max_lag: 30s}
  - {name: no_standby_needed, kind: postgres.replication, target: primary, max_lag: 1m, min_standbys: 0,
     max_slot_retained: 1073741824}
)";
  LoadResult result = LoadCatalogueText(text, "f.yml");
  ASSERT_EQ(result.errors, Errors{});
  ASSERT_EQ(result.catalogue->checks.size(), 3u);
  EXPECT_EQ(result.catalogue->checks[0].objective, "rpo.realtime");
  std::vector<metrics::Sample> samples;
  result.catalogue->checks[0].probe->StaticSamples(samples);
  ASSERT_EQ(samples.size(), 1u);
  EXPECT_EQ(samples[0].name, "drwatch_data_max_age_seconds");
  EXPECT_EQ(samples[0].value, 300);
}

}  // namespace
}  // namespace drwatch::catalogue
