#pragma once
// The first steps of every restore: a private scratch directory, and each
// backup file copied into it and proved intact against its manifest (size
// and SHA-256) before anything is restored from it.

#include <boost/asio/awaitable.hpp>
#include <functional>
#include <memory>
#include <string>

#include "backup/encryption.hpp"
#include "backup/manifest.hpp"
#include "common/blocking.hpp"
#include "storage/backend.hpp"

namespace drwatch::restore {

/// A private directory (mode 0700) under TMPDIR or /tmp. Its destructor
/// removes it with everything in it on the pool, detached: also when the run
/// that made it is cancelled.
class ScratchDir {
 public:
  static boost::asio::awaitable<std::unique_ptr<ScratchDir>> Create(BlockingPool& pool, std::string& error);
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  ScratchDir(BlockingPool& pool, std::string path) : pool_(pool), path_(std::move(path)) {}
  BlockingPool& pool_;
  std::string path_;
};

/// Copies file `name` of run manifest.run of backup check `check` to
/// `path`. Returns "" or the store's error (one line).
boost::asio::awaitable<std::string> DownloadFile(storage::Backend& store, const backup::Manifest& manifest,
                                                 std::string check, std::string name, std::string path);

/// Proves the local copy `path` of file `name` intact against `manifest`
/// (hashed on the pool). Returns "" when intact, else one line: "data.dump
/// is not in the manifest", "checksum mismatch: data.dump", "size mismatch:
/// data.dump is 10 bytes, the manifest says 12".
boost::asio::awaitable<std::string> VerifyFile(BlockingPool& pool, const backup::Manifest& manifest,
                                               std::string name, std::string path);

/// Brings file `name` ("data.dump") of run manifest.run of backup check
/// `check` to the local plaintext file `path`: downloads what is stored
/// ("data.dump", or "data.dump.enc" in an encrypted run), proves it intact
/// (VerifyFile), and decrypts it chunk by chunk on the pool with `keys`
/// (the encrypted copy is removed afterwards). `step` is told each step done
/// ("download data.dump.enc", "verify checksums", "decrypt data.dump").
/// Returns "" or one line; a key it lacks is named before anything is
/// downloaded: "data.dump.enc was encrypted with key 3f9a…, configured keys: 77c2…".
boost::asio::awaitable<std::string> FetchFile(BlockingPool& pool, storage::Backend& store,
                                              const backup::Manifest& manifest, std::string check, std::string name,
                                              std::string path, const backup::KeyRing& keys,
                                              std::function<void(const std::string&)> step = {});

/// The plaintext size of file `name` per the manifest (0 when absent).
std::uint64_t PlainSize(const backup::Manifest& manifest, std::string_view name);

}  // namespace drwatch::restore
