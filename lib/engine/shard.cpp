#include "engine/shard.hpp"

#include <algorithm>
#include <charconv>
#include <set>

#include "common/hash.hpp"
#include "metrics/families.hpp"

namespace drwatch::engine {
namespace {

bool ParseNumber(std::string_view text, std::uint32_t& out) {
  if (text.empty()) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

// The objectives a check feeds: its `objective:` and those its probe measures.
void FedBy(const catalogue::CheckSpec& check, std::set<std::string>& out) {
  if (!check.objective.empty()) out.insert(check.objective);
  for (const auto& ref : check.probe->MeasuredObjectives()) out.insert(ref.objective);
}

}  // namespace

std::optional<Shard> ParseShard(std::string_view text, std::string& error) {
  auto slash = text.find('/');
  Shard shard;
  if (slash == std::string_view::npos || !ParseNumber(text.substr(0, slash), shard.index) ||
      !ParseNumber(text.substr(slash + 1), shard.count)) {
    error = "invalid --shard \"" + std::string(text) + "\": use i/N, the shard index i from 0 to N-1 of N shards";
    return std::nullopt;
  }
  if (shard.count < 1 || shard.count > Shard::kMaxCount) {
    error = "invalid --shard \"" + std::string(text) + "\": the number of shards N must be 1 to " +
            std::to_string(Shard::kMaxCount);
    return std::nullopt;
  }
  if (shard.index >= shard.count) {
    error = "invalid --shard \"" + std::string(text) + "\": the shard index must be below N (0 to " +
            std::to_string(shard.count - 1) + ")";
    return std::nullopt;
  }
  return shard;
}

std::uint32_t ShardOf(std::string_view name, std::uint32_t count) {
  return JumpConsistentHash(Fnv1a64(name), count);
}

std::shared_ptr<const catalogue::Catalogue> ShardCatalogue(std::shared_ptr<const catalogue::Catalogue> catalogue,
                                                        Shard shard) {
  if (shard.count <= 1) return catalogue;
  auto mine = std::make_shared<catalogue::Catalogue>(*catalogue);
  std::set<std::string> fed_anywhere, fed_here;
  mine->checks.clear();
  for (const auto& check : catalogue->checks) {
    FedBy(check, fed_anywhere);
    if (ShardOf(check.name, shard.count) != shard.index) continue;
    FedBy(check, fed_here);
    mine->checks.push_back(check);
  }
  std::erase_if(mine->objectives, [&](const catalogue::Objective& o) {
    const std::string id = o.id();
    if (fed_anywhere.contains(id)) return !fed_here.contains(id);
    return ShardOf(id, shard.count) != shard.index;
  });
  return mine;
}

void AppendShardInfo(Shard shard, std::vector<metrics::Sample>& out) {
  out.push_back(
      metrics::kShardInfo.Make(1, {{"shard", std::to_string(shard.index)}, {"shards", std::to_string(shard.count)}}));
}

}  // namespace drwatch::engine
