#pragma once
// What backup.pg_dump and backup.files share besides BackupJob::Run (defined
// in backup_common.cpp: the start and end of a run, manifest last, retention,
// samples, the command line's report): the `keep` and `encryption` keys and
// streaming a child's stdout into a storage object (SHA-256 on the way, one
// 64 KiB chunk in memory at a time).

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <optional>
#include <string>

#include "backup/encryption.hpp"
#include "backup/manifest.hpp"
#include "backup/retention.hpp"
#include "backup/runs.hpp"
#include "common/subprocess.hpp"
#include "probes/probe.hpp"
#include "storage/backend.hpp"

namespace drwatch::config {
class NodeReader;
}

namespace drwatch::probes {

inline constexpr std::size_t kBackupChunkBytes = 64 * 1024;
inline constexpr std::size_t kMaxChildStderr = 64 * 1024;

/// Reads `keep: {last, daily, weekly}` (defaults last 7, daily 0, weekly 0;
/// last at least 1, so the newest complete run is never removed).
std::optional<backup::Keep> ParseKeep(config::NodeReader& check);

/// Reads `encryption: {key, old_keys}` (each any ${env:}/${file:}/${cred:}
/// form of a base64 32-byte key). Absent: an empty ring (no encryption). A
/// bad key is reported at its position, never echoed.
std::optional<backup::KeyRing> ParseEncryption(config::NodeReader& check);

struct StreamResult {
  std::string error;            // one line, redacted
  backup::ManifestFile file;    // name, size, sha256 when ok
  bool ok() const { return error.empty(); }
};

/// Runs `spec` and streams its stdout into `key` of `store` as file `name`:
/// the object is committed only when the child exits 0. With a non-empty
/// `keys` the stream is encrypted with keys.keys[0] on the way (key and name
/// get ".enc"; the SHA-256 and size are of what is stored). A child that fails
/// gives "<program> failed (exit code 1): <first stderr line>" (the whole
/// stderr, capped, goes to the log); a storage error kills the child's group.
/// Cancellation kills the group and discards the partial object.
boost::asio::awaitable<StreamResult> StreamChildToObject(boost::asio::any_io_executor executor, SpawnSpec spec,
                                                         storage::Backend& store, std::string key,
                                                         std::string name, std::string program,
                                                         std::string check, const backup::KeyRing& keys);

}  // namespace drwatch::probes
