#pragma once
// Backup storage as the storage probes see it: a flat space of objects under
// a root (a directory, or an S3 bucket and prefix), named by keys relative to
// that root ("daily/2024-01-02.dump"). One implementation per URL scheme:
// file_backend.hpp (file://), s3_backend.hpp (s3://).
//
// Every operation is an awaitable that never blocks the loop and never
// throws for a failing store: it reports an error text instead. Cancelling
// the awaiting coroutine (a probe's deadline) completes the operation at once
// with error kCancelled; work already started off the loop finishes there.

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace drwatch::storage {

inline constexpr std::string_view kCancelled = "cancelled";

/// One stored object.
struct ObjectInfo {
  std::string key;  // relative to the root, '/'-separated
  std::uint64_t size = 0;
  std::chrono::system_clock::time_point mtime;
};

/// Result of an operation that returns nothing: empty error means success.
struct Status {
  std::string error;  // "write /backups/.drwatch/probe-…: Permission denied"
  bool ok() const { return error.empty(); }
};

struct GetResult {
  std::string error;
  std::string data;
  bool ok() const { return error.empty(); }
};

struct ListResult {
  std::string error;
  std::vector<ObjectInfo> objects;  // every object whose key matches the pattern, any order
  bool ok() const { return error.empty(); }
};

/// Free space of the file system holding the root.
struct SpaceResult {
  std::string error;
  std::uint64_t free_bytes = 0;   // available to unprivileged users (f_bavail)
  std::uint64_t free_inodes = 0;  // f_favail
  bool ok() const { return error.empty(); }
};

/// A streaming write of one object (a backup file of unknown size). Data
/// is appended with Write; the object appears under its key only when Commit
/// succeeds (file: temp file, fsync, rename; s3: a multipart upload completed,
/// or one PUT when small). Destroying a writer that was not committed
/// discards what was written (best effort, detached, never blocking), so a
/// failed or cancelled backup never leaves an object that looks complete.
/// After any error the writer is dead: later calls return that error.
class Writer {
 public:
  virtual ~Writer() = default;
  /// Appends `data`. May buffer (s3 sends parts of kPartBytes); memory stays
  /// bounded whatever the object's size.
  virtual boost::asio::awaitable<Status> Write(std::string data) = 0;
  /// Makes the object durable and visible.
  virtual boost::asio::awaitable<Status> Commit() = 0;
  /// Bytes accepted by Write so far.
  virtual std::uint64_t written() const = 0;
};

struct WriterResult {
  std::string error;
  std::unique_ptr<Writer> writer;
  bool ok() const { return error.empty(); }
};

class Backend {
 public:
  virtual ~Backend() = default;

  /// "file:///backups" or "s3://bucket/prefix": for messages.
  virtual std::string Describe() const = 0;
  /// Where `key` lives, for messages ("/backups/daily/x.dump", "s3://b/p/daily/x.dump").
  virtual std::string Locate(std::string_view key) const = 0;

  /// The root exists and is usable (stat the directory / HEAD the bucket).
  virtual boost::asio::awaitable<Status> Check() = 0;
  /// Writes `data` as `key` durably and atomically, creating parent
  /// directories as needed: readers see the whole object or none (file: a
  /// hidden temp file, fsync, rename, fsync of the directory; s3: one PUT).
  /// file:// refuses to replace an existing object.
  virtual boost::asio::awaitable<Status> Put(std::string key, std::string data) = 0;
  /// Reads `key` whole, refusing more than `max_bytes`.
  virtual boost::asio::awaitable<GetResult> Get(std::string key, std::size_t max_bytes) = 0;
  virtual boost::asio::awaitable<Status> Delete(std::string key) = 0;
  /// Best-effort removal that nobody waits for (cleanup after a cancelled
  /// write test). Must not block the caller.
  virtual void DeleteDetached(std::string key) = 0;
  /// Every object whose key matches `pattern` (see pattern.hpp), visiting at
  /// most `max_entries` entries: more is an error, never a partial answer.
  virtual boost::asio::awaitable<ListResult> List(std::string pattern, std::size_t max_entries) = 0;
  /// Directories (not objects) whose key matches `pattern`, with their
  /// mtime: how retention finds empty run directories. Stores without
  /// directories (S3) have none.
  virtual boost::asio::awaitable<ListResult> ListDirectories(std::string pattern, std::size_t max_entries);
  /// Removes the directory `key` if it is empty; a directory that is gone or
  /// not empty is left alone without error. Stores without directories: nothing.
  virtual boost::asio::awaitable<Status> RemoveDirectory(std::string key);
  /// Starts a streaming write of `key` (see Writer).
  virtual boost::asio::awaitable<WriterResult> OpenWriter(std::string key) = 0;
  /// Copies `key` into the local file `path` (created or truncated, fsynced),
  /// streaming, refusing more than `max_bytes`. On failure `path` may hold a
  /// partial copy: the caller removes it.
  virtual boost::asio::awaitable<Status> GetToFile(std::string key, std::string path, std::uint64_t max_bytes) = 0;
  /// Free space; nullopt when the store has no such notion (S3).
  virtual boost::asio::awaitable<std::optional<SpaceResult>> FreeSpace() = 0;
};

/// The newest object by mtime (ties: the greater key), or nullptr.
const ObjectInfo* Newest(const std::vector<ObjectInfo>& objects);
/// The newest object older than or as old as `newest` other than it, or nullptr.
const ObjectInfo* Previous(const std::vector<ObjectInfo>& objects, const ObjectInfo& newest);

inline constexpr std::size_t kMaxListEntries = 100000;
/// Part size of streaming S3 writes (S3 requires >= 5 MiB for all but the last part).
inline constexpr std::size_t kPartBytes = 8 * 1024 * 1024;

}  // namespace drwatch::storage
