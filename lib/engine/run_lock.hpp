#pragma once
// One run of a backup or drill check at a time on this host, across
// processes (the daemon, `drwatchd backup run` next to it, a daemon after a
// reload): an exclusive flock(2) on <storage.path>/locks/<check>.lock, held
// for the whole run. The kernel releases it when the holder exits, however
// it exits (SIGKILL included), so a crash never leaves a stale lock. The
// file holds the holder's pid and start time, for the refusal message.
//
// The calls here block (file I/O, never a wait for the lock: LOCK_NB): the
// scheduler makes them on the BlockingPool.

#include <chrono>
#include <string>

namespace drwatch::engine {

/// A lock held; released when destroyed.
class RunLock {
 public:
  RunLock() = default;
  explicit RunLock(int fd) : fd_(fd) {}
  ~RunLock();
  RunLock(RunLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  RunLock& operator=(RunLock&& other) noexcept;
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;

  bool held() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

struct RunLockResult {
  /// Empty when taken. Busy: "already running (pid 4242, since
  /// 2026-11-25T02:30:00.250Z)". Otherwise why the lock file is unusable
  /// ("open /var/lib/drwatch/locks/nightly.lock: Permission denied").
  std::string error;
  bool busy = false;  // another run holds the lock (error says which)
  RunLock lock;
  bool ok() const { return error.empty(); }
};

/// The lock file of `check` under `dir` (<storage.path>/locks).
std::string RunLockPath(const std::string& dir, const std::string& check);

/// Takes the lock of `check` under `dir` (created if missing, with its parent) without
/// waiting, and records this process's pid and `since` in it.
RunLockResult TryLockRun(const std::string& dir, const std::string& check,
                         std::chrono::system_clock::time_point since);

}  // namespace drwatch::engine
