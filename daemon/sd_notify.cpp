#include "sd_notify.hpp"

#include <systemd/sd-daemon.h>

#include <string>

namespace drwatch::daemon {

void NotifyReady() { sd_notify(0, "READY=1\nSTATUS=running"); }

void NotifyReloading() {
  // RELOADING=1 wants MONOTONIC_USEC= since systemd 253; older versions ignore it.
  struct timespec ts {};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  auto usec = static_cast<unsigned long long>(ts.tv_sec) * 1000000ULL + ts.tv_nsec / 1000;
  std::string msg = "RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec);
  sd_notify(0, msg.c_str());
}

void NotifyStopping() { sd_notify(0, "STOPPING=1"); }

void NotifyStatus(const std::string& status) { sd_notify(0, ("STATUS=" + status).c_str()); }

Watchdog::Watchdog(boost::asio::any_io_executor executor) : timer_(executor) {}

void Watchdog::Start() {
  uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return;
  period_ = std::chrono::microseconds(usec / 2);
  running_ = true;
  Arm();
}

void Watchdog::Stop() {
  running_ = false;
  timer_.cancel();
}

void Watchdog::Arm() {
  sd_notify(0, "WATCHDOG=1");
  timer_.expires_after(period_);
  // cancel() cannot recall a completion already queued: check running_ too.
  timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec && running_) Arm();
  });
}

}  // namespace drwatch::daemon
