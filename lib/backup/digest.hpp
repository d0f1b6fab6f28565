#pragma once
// SHA-256 of backup files: incremental while a dump streams to storage, and
// of an object already stored (downloaded to a temp file on the blocking
// pool and hashed there, so memory stays bounded whatever its size).

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <string>

#include "common/blocking.hpp"
#include "common/crypto.hpp"
#include "storage/backend.hpp"

namespace drwatch::backup {

struct DigestResult {
  std::string error;
  std::uint64_t size = 0;
  std::string sha256;
  bool ok() const { return error.empty(); }
};

/// Hashes the local file `path` (blocking: call on the pool).
DigestResult HashFileBlocking(const std::string& path);

/// Copies `key` from `store` into a private temp file (TMPDIR or /tmp),
/// hashes it on `pool`, and removes the file, also when cancelled.
boost::asio::awaitable<DigestResult> HashStoredObject(storage::Backend& store, BlockingPool& pool, std::string key,
                                                      std::uint64_t max_bytes);

}  // namespace drwatch::backup
