#include "support/notify_socket.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <stdexcept>

namespace drwatch::test {

NotifySocket::NotifySocket() {
  char tmpl[] = "/tmp/drwatch-notify.XXXXXX";
  if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  path_ = dir_ + "/notify";
  fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw std::runtime_error("socket(AF_UNIX) failed");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path_.c_str(), sizeof addr.sun_path - 1);
  if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd_);
    throw std::runtime_error("bind " + path_ + ": " + std::strerror(errno));
  }
}

NotifySocket::~NotifySocket() {
  if (fd_ >= 0) close(fd_);
  unlink(path_.c_str());
  rmdir(dir_.c_str());
}

std::optional<std::vector<std::string>> NotifySocket::Receive(std::chrono::milliseconds timeout) {
  pollfd p{fd_, POLLIN, 0};
  if (poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return std::nullopt;
  char buf[4096];
  ssize_t n = recv(fd_, buf, sizeof buf, 0);
  if (n < 0) return std::nullopt;
  std::vector<std::string> lines;
  std::istringstream in(std::string(buf, static_cast<std::size_t>(n)));
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

std::optional<std::vector<std::string>> NotifySocket::WaitFor(const std::string& line,
                                                              std::chrono::milliseconds timeout) {
  using Clock = std::chrono::steady_clock;
  std::vector<std::string> seen;
  for (auto until = Clock::now() + timeout; Clock::now() < until;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now());
    auto lines = Receive(std::max(left, std::chrono::milliseconds(1)));
    if (!lines) break;
    seen.insert(seen.end(), lines->begin(), lines->end());
    if (std::find(lines->begin(), lines->end(), line) != lines->end()) return seen;
  }
  return std::nullopt;
}

}  // namespace drwatch::test
