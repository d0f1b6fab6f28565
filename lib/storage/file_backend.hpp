#pragma once
// file:// storage: a directory on a local or mounted file system. Every
// file-system call runs on the BlockingPool (RunBlocking), never on the loop.
//
// A hung mount (NFS, FUSE) blocks a pool thread until the kernel gives up.
// Calls abandoned at a deadline but still running are counted per backend;
// once kMaxStuck of them hang, new calls fail at once instead of taking more
// pool threads from every other check.

#include <atomic>
#include <memory>
#include <string>

#include "common/blocking.hpp"
#include "storage/backend.hpp"

namespace drwatch::storage {

class FileBackend final : public Backend {
 public:
  /// `root`: an absolute path without a trailing slash ("/" allowed).
  FileBackend(BlockingPool& pool, std::string root);

  std::string Describe() const override;
  std::string Locate(std::string_view key) const override;
  boost::asio::awaitable<Status> Check() override;
  boost::asio::awaitable<Status> Put(std::string key, std::string data) override;
  boost::asio::awaitable<GetResult> Get(std::string key, std::size_t max_bytes) override;
  boost::asio::awaitable<Status> Delete(std::string key) override;
  void DeleteDetached(std::string key) override;
  boost::asio::awaitable<ListResult> List(std::string pattern, std::size_t max_entries) override;
  boost::asio::awaitable<ListResult> ListDirectories(std::string pattern, std::size_t max_entries) override;
  boost::asio::awaitable<Status> RemoveDirectory(std::string key) override;
  boost::asio::awaitable<WriterResult> OpenWriter(std::string key) override;
  boost::asio::awaitable<Status> GetToFile(std::string key, std::string path, std::uint64_t max_bytes) override;
  boost::asio::awaitable<std::optional<SpaceResult>> FreeSpace() override;

  /// Calls abandoned at a deadline that are still running.
  int stuck() const { return stuck_->load(); }
  static constexpr int kMaxStuck = 2;

  /// One blocking call; shared by the pool job and the loop.
  struct Job;

 private:
  friend class FileWriter;  // its writes and commit go through Blocking too
  template <typename T, typename F, typename D>
  boost::asio::awaitable<T> Blocking(F fn, D on_abandoned);
  boost::asio::awaitable<ListResult> Walk(std::string pattern, std::size_t max_entries, bool directories);

  BlockingPool& pool_;
  std::string root_;
  std::shared_ptr<std::atomic<int>> stuck_ = std::make_shared<std::atomic<int>>(0);
};

}  // namespace drwatch::storage
