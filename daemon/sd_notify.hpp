#pragma once
// systemd integration: readiness, reload and stop notifications, and the
// watchdog heartbeat sent from a timer on the event loop (a wedged loop stops
// the heartbeat, and systemd restarts the daemon). No-ops outside systemd.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>

namespace drwatch::daemon {

void NotifyReady();
void NotifyReloading();
void NotifyStopping();
void NotifyStatus(const std::string& status);

/// Sends WATCHDOG=1 at half the WatchdogSec= interval while the loop runs.
/// Only when systemd asked for it: WATCHDOG_USEC set, WATCHDOG_PID unset or ours.
class Watchdog {
 public:
  explicit Watchdog(boost::asio::any_io_executor executor);
  void Start();
  /// No heartbeat after this returns, even one whose timer already fired.
  void Stop();

 private:
  void Arm();
  boost::asio::steady_timer timer_;
  std::chrono::microseconds period_{0};
  bool running_ = false;
};

}  // namespace drwatch::daemon
