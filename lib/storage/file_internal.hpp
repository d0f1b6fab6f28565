#pragma once
// What the pieces of the file:// backend share: the accounting of one
// blocking call, FileBackend::Blocking and the path helpers. Only for
// lib/storage/file_*.cpp.

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "storage/file_backend.hpp"

namespace drwatch::storage {

// The first of "finished" (pool thread) and "abandoned" (loop, at the
// deadline) decides who accounts for the call: an abandoned call counts as
// stuck until it finishes.
struct FileBackend::Job {
  std::mutex mu;
  bool finished = false;
  std::atomic<bool> abandoned{false};  // also read by long walks, to stop early

  // Returns true when the loop gave up on the call.
  bool Finish(std::atomic<int>& stuck) {
    std::lock_guard lock(mu);
    finished = true;
    if (abandoned) --stuck;
    return abandoned;
  }
  void Abandon(std::atomic<int>& stuck) {
    std::lock_guard lock(mu);
    if (finished) return;
    abandoned = true;
    ++stuck;
  }
};

// The public operations are plain functions returning Blocking's awaitable,
// and Blocking names its lambdas: GCC 12 destroys a lambda temporary in a
// co_await expression twice.
template <typename T, typename F, typename D>
boost::asio::awaitable<T> FileBackend::Blocking(F fn, D on_abandoned) {
  if (int stuck = stuck_->load(); stuck >= kMaxStuck) {
    T out;
    out.error = std::to_string(stuck) + " earlier file-system calls on " + root_ +
                " are still hanging (is the mount stuck?)";
    co_return out;
  }
  auto job = std::make_shared<Job>();
  auto stuck = stuck_;
  auto call = [fn = std::move(fn), on_abandoned = std::move(on_abandoned), job, stuck]() mutable {
    T value = fn(*job);
    if (job->Finish(*stuck)) on_abandoned(value);
    return value;
  };
  auto discard = [](T) {};
  auto result = co_await RunBlocking(pool_, std::move(call), discard);
  if (!result) {
    job->Abandon(*stuck_);
    T out;
    out.error = std::string(kCancelled);
    co_return out;
  }
  co_return std::move(*result);
}

namespace file_detail {

// "<what> <path>: <strerror>".
std::string Fail(std::string_view what, const std::string& path, int error);

// The path of `key` under `root`.
std::string Join(const std::string& root, std::string_view key);

// "" when `root` is an existing directory, else why not.
std::string CheckRoot(const std::string& root);

// mkdir -p of the directories of `path` below `root` (which exists).
std::string MakeParents(const std::string& root, const std::string& path);

// The hidden temp file of a write of `path`: ".NAME.partial-XXXXXX" next to
// it, left out of listings; retention removes one a crash left behind.
std::string TempTemplate(const std::string& path);

// A rename is durable only once its directory is.
std::string SyncDirectoryOf(const std::string& path);

template <typename T>
void Ignore(const T&) {}

}  // namespace file_detail
}  // namespace drwatch::storage
