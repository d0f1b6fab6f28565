#pragma once
// --shard=i/N: N drwatchd instances share one catalogue. A check runs on the
// shard JumpConsistentHash(Fnv1a64(check name), N) (common/hash.hpp), so the
// split depends on the name only and going from N to N+1 shards moves about
// 1/(N+1) of the checks, all of them to the new shard. See docs/scaling.md.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "catalogue/catalogue.hpp"
#include "metrics/sample.hpp"

namespace drwatch::engine {

struct Shard {
  std::uint32_t index = 0;  // 0 … count-1
  std::uint32_t count = 1;  // 1: unsharded
  static constexpr std::uint32_t kMaxCount = 1024;
};

/// Parses "i/N" (decimal, 0 <= i < N <= Shard::kMaxCount); nullopt with
/// `error` set otherwise.
std::optional<Shard> ParseShard(std::string_view text, std::string& error);

/// The shard of the check (or objective id) named `name` among `count`.
std::uint32_t ShardOf(std::string_view name, std::uint32_t count);

/// The part of `catalogue` that `shard` runs: its checks, every target, and
/// the objectives it can judge: those fed by at least one of its checks
/// (judged over those checks only; shards compose with min/max, see
/// docs/scaling.md), and those fed by no check at all when ShardOf(their id)
/// is this shard. With count 1 the catalogue itself.
std::shared_ptr<const catalogue::Catalogue> ShardCatalogue(std::shared_ptr<const catalogue::Catalogue> catalogue,
                                                        Shard shard);

/// drwatch_shard_info{shard="i",shards="N"} 1.
void AppendShardInfo(Shard shard, std::vector<metrics::Sample>& out);

}  // namespace drwatch::engine
