#pragma once
// The first steps of every restore: a private scratch directory, and each
// backup file copied into it and proved intact against its manifest (size
// and SHA-256) before anything is restored from it.

#include <boost/asio/awaitable.hpp>
#include <memory>
#include <string>

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

}  // namespace drwatch::restore
