#pragma once
// Stable hashes of names: the same on every machine, build and release, so
// that a name's spread offset and its shard never move unless the name does.

#include <cstdint>
#include <string_view>

namespace drwatch {

/// 64-bit FNV-1a of the bytes of `text` (offset basis 14695981039346656037,
/// prime 1099511628211).
constexpr std::uint64_t Fnv1a64(std::string_view text) {
  std::uint64_t h = 14695981039346656037ULL;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

/// Jump consistent hash (Lamping & Veach, 2014, arXiv:1406.2294): maps `key`
/// to a bucket in [0, buckets), buckets >= 1. Going from N to N+1 buckets
/// moves exactly the keys that land in the new bucket, about 1/(N+1) of them.
constexpr std::uint32_t JumpConsistentHash(std::uint64_t key, std::uint32_t buckets) {
  std::int64_t b = -1;
  std::int64_t j = 0;
  while (j < static_cast<std::int64_t>(buckets)) {
    b = j;
    key = key * 2862933555777941757ULL + 1;
    j = static_cast<std::int64_t>(static_cast<double>(b + 1) *
                                  (static_cast<double>(1LL << 31) / static_cast<double>((key >> 33) + 1)));
  }
  return static_cast<std::uint32_t>(b);
}

}  // namespace drwatch
