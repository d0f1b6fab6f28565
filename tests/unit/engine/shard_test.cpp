// --shard=i/N: the hash is stable, the shards partition the checks exactly,
// adding a shard moves about 1/(N+1) of them, objectives go where they can
// be judged, and bad values are refused with their exact message.

#include "engine/shard.hpp"

#include <gtest/gtest.h>

#include <map>

#include "common/hash.hpp"

namespace drwatch::engine {
namespace {

std::vector<std::string> Names(int count) {
  std::vector<std::string> names;
  for (int i = 0; i < count; ++i) names.push_back("db" + std::to_string(i % 100) + "_check_" + std::to_string(i));
  return names;
}

// One postgres.ping check per name; the first `fed` feed rpo.daily_operations.
std::shared_ptr<const catalogue::Catalogue> Catalogue(const std::vector<std::string>& names, std::size_t fed = 0) {
  std::string yaml =
      "targets:\n  primary:\n    type: postgres\n    dsn: \"host=127.0.0.1 dbname=x user=u\"\n"
      "objectives:\n  rpo: {daily_operations: 24h, unused: 1h}\n  rto: {authentication: 15m}\nchecks:\n";
  for (std::size_t i = 0; i < names.size(); ++i) {
    yaml += "  - {name: " + names[i] + ", kind: postgres.ping, target: primary" +
            (i < fed ? ", objective: rpo.daily_operations" : "") + "}\n";
  }
  auto loaded = catalogue::LoadCatalogueText(yaml, "shard.yml");
  EXPECT_TRUE(loaded.errors.empty()) << loaded.errors.front();
  return loaded.catalogue;
}

TEST(Shard, TheHashIsFnv1aThenJumpConsistentHash) {
  EXPECT_EQ(Fnv1a64(""), 0xcbf29ce484222325ULL);  // FNV-1a test vectors
  EXPECT_EQ(Fnv1a64("a"), 0xaf63dc4c8601ec8cULL);
  EXPECT_EQ(Fnv1a64("foobar"), 0x85944171f73967e8ULL);
  for (std::uint64_t key : {0ULL, 1ULL, 0xdeadbeefULL}) EXPECT_EQ(JumpConsistentHash(key, 1), 0u);
  // Pinned (and computed independently from the published algorithms): a
  // release that changed these would move checks between shards.
  const std::vector<std::uint32_t> connectivity{0, 0, 0, 0, 4, 4, 4, 4};
  const std::vector<std::uint32_t> recency{0, 1, 2, 3, 3, 3, 3, 3};
  for (std::uint32_t n = 1; n <= 8; ++n) {
    EXPECT_EQ(ShardOf("db_connectivity", n), connectivity[n - 1]) << n;
    EXPECT_EQ(ShardOf("audit_logs_recency", n), recency[n - 1]) << n;
  }
}

TEST(Shard, ShardsPartitionTheChecksExactly) {
  auto names = Names(1000);
  auto full = Catalogue(names);
  for (std::uint32_t n = 1; n <= 8; ++n) {
    std::map<std::string, int> runs;
    std::vector<std::size_t> sizes;
    for (std::uint32_t i = 0; i < n; ++i) {
      auto mine = ShardCatalogue(full, {i, n});
      sizes.push_back(mine->checks.size());
      for (const auto& c : mine->checks) {
        ++runs[c.name];
        EXPECT_EQ(ShardOf(c.name, n), i);
      }
    }
    ASSERT_EQ(runs.size(), names.size()) << "every check on some shard, N=" << n;
    for (const auto& [name, count] : runs) EXPECT_EQ(count, 1) << name << " on one shard only, N=" << n;
    for (auto size : sizes) {
      EXPECT_NEAR(static_cast<double>(size), 1000.0 / n, 1000.0 / n * 0.25) << "balanced, N=" << n;
    }
  }
}

TEST(Shard, AddingAShardMovesAboutOneInNPlusOneAllToTheNewShard) {
  auto names = Names(1000);
  for (std::uint32_t n = 1; n <= 8; ++n) {
    int moved = 0;
    for (const auto& name : names) {
      auto before = ShardOf(name, n), after = ShardOf(name, n + 1);
      if (before == after) continue;
      ++moved;
      EXPECT_EQ(after, n) << name << " moves only to the new shard";
    }
    EXPECT_NEAR(moved / 1000.0, 1.0 / (n + 1), 0.05) << "N=" << n << " -> " << n + 1;
  }
}

TEST(Shard, OneShardIsTheWholeCatalogue) {
  auto full = Catalogue(Names(10), 3);
  EXPECT_EQ(ShardCatalogue(full, {0, 1}), full);
}

TEST(Shard, ObjectivesGoWhereTheyCanBeJudged) {
  auto names = Names(40);
  auto full = Catalogue(names, 40);  // every check feeds rpo.daily_operations
  std::map<std::string, int> exported;
  for (std::uint32_t i = 0; i < 4; ++i) {
    auto mine = ShardCatalogue(full, {i, 4});
    for (const auto& o : mine->objectives) ++exported[o.id()];
    bool has_feeder = !mine->checks.empty();
    EXPECT_EQ(std::count_if(mine->objectives.begin(), mine->objectives.end(),
                            [](const auto& o) { return o.id() == "rpo.daily_operations"; }),
              has_feeder ? 1 : 0)
        << "a fed objective is judged by each shard holding one of its feeders";
  }
  EXPECT_EQ(exported["rpo.daily_operations"], 4) << "40 feeders reach all 4 shards";
  EXPECT_EQ(exported["rpo.unused"], 1) << "an objective nobody feeds: on the shard of its id only";
  EXPECT_EQ(exported["rto.authentication"], 1);
  for (const char* id : {"rpo.unused", "rto.authentication"}) {
    auto mine = ShardCatalogue(full, {ShardOf(id, 4), 4});
    EXPECT_TRUE(std::any_of(mine->objectives.begin(), mine->objectives.end(),
                            [&](const auto& o) { return o.id() == id; }));
  }
}

TEST(Shard, BadValuesAreRefused) {
  std::string error;
  auto shard = ParseShard("2/3", error);
  ASSERT_TRUE(shard);
  EXPECT_EQ(shard->index, 2u);
  EXPECT_EQ(shard->count, 3u);
  const std::map<std::string, std::string> bad{
      {"0/0", "invalid --shard \"0/0\": the number of shards N must be 1 to 1024"},
      {"1/0", "invalid --shard \"1/0\": the number of shards N must be 1 to 1024"},
      {"3/2", "invalid --shard \"3/2\": the shard index must be below N (0 to 1)"},
      {"2/2", "invalid --shard \"2/2\": the shard index must be below N (0 to 1)"},
      {"a/b", "invalid --shard \"a/b\": use i/N, the shard index i from 0 to N-1 of N shards"},
      {"1", "invalid --shard \"1\": use i/N, the shard index i from 0 to N-1 of N shards"},
      {"-1/2", "invalid --shard \"-1/2\": use i/N, the shard index i from 0 to N-1 of N shards"},
      {"1/2/3", "invalid --shard \"1/2/3\": use i/N, the shard index i from 0 to N-1 of N shards"},
      {"0/2000", "invalid --shard \"0/2000\": the number of shards N must be 1 to 1024"},
  };
  for (const auto& [text, message] : bad) {
    error.clear();
    EXPECT_FALSE(ParseShard(text, error)) << text;
    EXPECT_EQ(error, message);
  }
}

TEST(Shard, InfoSeries) {
  std::vector<metrics::Sample> out;
  AppendShardInfo({1, 3}, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].name, "drwatch_shard_info");
  EXPECT_EQ(out[0].labels, (metrics::Labels{{"shard", "1"}, {"shards", "3"}}));
  EXPECT_EQ(out[0].value, 1);
}

}  // namespace
}  // namespace drwatch::engine
