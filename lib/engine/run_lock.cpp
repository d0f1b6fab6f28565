#include "engine/run_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>
#include <thread>

#include "common/iso8601.hpp"

namespace drwatch::engine {
namespace {

std::string Fail(std::string_view what, const std::string& path, int error) {
  return std::string(what) + " " + path + ": " + std::generic_category().message(error);
}

std::string ReadHolder(int fd) {
  char buf[128];
  ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "";
}

// "pid 4242, since 2026-…Z" from the file's "4242 2026-…Z\n".
std::string DescribeHolder(const std::string& text) {
  auto space = text.find(' ');
  auto end = text.find('\n');
  if (space == std::string::npos || end == std::string::npos || end < space) return "";
  return "pid " + text.substr(0, space) + ", since " + text.substr(space + 1, end - space - 1);
}

}  // namespace

RunLock::~RunLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the flock
}

RunLock& RunLock::operator=(RunLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

std::string RunLockPath(const std::string& dir, const std::string& check) { return dir + "/" + check + ".lock"; }

RunLockResult TryLockRun(const std::string& dir, const std::string& check,
                         std::chrono::system_clock::time_point since) {
  RunLockResult out;
  for (const std::string& d : {dir.substr(0, dir.rfind('/')), dir}) {  // --storage.path, then locks/
    if (!d.empty() && ::mkdir(d.c_str(), 0750) != 0 && errno != EEXIST) {
      out.error = Fail("mkdir", d, errno);
      return out;
    }
  }
  std::string path = RunLockPath(dir, check);
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) {
    out.error = Fail("open", path, errno);
    return out;
  }
  RunLock lock(fd);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK) {
      out.error = Fail("lock", path, errno);
      return out;
    }
    out.busy = true;
    // The holder writes its line just after locking: give it a moment.
    std::string holder;
    for (int i = 0; i < 20 && holder.empty(); ++i) {
      holder = DescribeHolder(ReadHolder(fd));
      if (holder.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    out.error = "already running (" + (holder.empty() ? "another process holds " + path : holder) + ")";
    return out;
  }
  std::string line = std::to_string(::getpid()) + " " + FormatRfc3339(since) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, line.data(), line.size(), 0) != static_cast<ssize_t>(line.size())) {
    out.error = Fail("write", path, errno);
    return out;
  }
  out.lock = std::move(lock);
  return out;
}

}  // namespace drwatch::engine
