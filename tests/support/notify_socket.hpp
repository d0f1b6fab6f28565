#pragma once
// A stand-in for systemd's NOTIFY_SOCKET: a Unix datagram socket bound in a
// fresh temporary directory, collecting sd_notify() messages.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace drwatch::test {

class NotifySocket {
 public:
  /// Binds the socket; throws std::runtime_error when it cannot.
  NotifySocket();
  /// Closes the socket and removes its directory.
  ~NotifySocket();
  NotifySocket(const NotifySocket&) = delete;
  NotifySocket& operator=(const NotifySocket&) = delete;

  /// "NOTIFY_SOCKET=<path>", for a child's environment.
  std::string EnvEntry() const { return "NOTIFY_SOCKET=" + path_; }

  /// The next datagram, split into its "KEY=value" lines, or nullopt when none
  /// arrives within `timeout`.
  std::optional<std::vector<std::string>> Receive(std::chrono::milliseconds timeout);

  /// Receives until a datagram holds `line` exactly; returns every line
  /// received on the way (that datagram included), or nullopt on timeout.
  std::optional<std::vector<std::string>> WaitFor(const std::string& line,
                                                  std::chrono::milliseconds timeout);

 private:
  std::string dir_;
  std::string path_;
  int fd_ = -1;
};

}  // namespace drwatch::test
