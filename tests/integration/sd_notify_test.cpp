// drwatchd under a stand-in systemd: a Unix datagram socket as NOTIFY_SOCKET
// receives what a Type=notify unit would. Readiness must mean ready (the
// listener answers the moment READY=1 arrives), the watchdog heartbeat must
// beat faster than WATCHDOG_USEC, reloads are bracketed by RELOADING=1/READY=1
// and a stop announces STOPPING=1 before a clean exit.

#include <signal.h>
#include <time.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "support/http_client.hpp"
#include "support/notify_socket.hpp"
#include "support/pg_cluster.hpp"
#include "support/process.hpp"

namespace drwatch::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

const char* kDaemon = DRWATCH_DAEMON_PATH;

// Nothing listens on port 1: checks fail, which is irrelevant here; the
// interval keeps them quiet.
const char* kCatalogue = R"(global: {interval: 1h, timeout: 1s}
targets:
  t: {type: postgres, dsn: "host=127.0.0.1 port=1 dbname=x connect_timeout=1"}
checks:
  - name: t_ping
    kind: postgres.ping
    target: t
)";

std::vector<std::string> Without(std::vector<std::string> lines, const std::string& drop) {
  lines.erase(std::remove(lines.begin(), lines.end(), drop), lines.end());
  return lines;
}

std::size_t IndexOf(const std::vector<std::string>& lines, const std::string& line) {
  return static_cast<std::size_t>(std::find(lines.begin(), lines.end(), line) - lines.begin());
}

std::uint64_t MonotonicUsec() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000u + static_cast<std::uint64_t>(ts.tv_nsec) / 1000u;
}

class SdNotify : public ::testing::Test {
 protected:
  void SetUp() override {
    // The child inherits our environment first: a NOTIFY_SOCKET of our own
    // (ctest under systemd) would shadow the stand-in.
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
    catalogue_ = WriteTempFile("notify.yml", kCatalogue);
  }

  std::unique_ptr<ChildProcess> Start(NotifySocket& socket, std::vector<std::string> env,
                                      std::vector<std::string> flags = {}) {
    port_ = pgproc::FreeLoopbackPort();
    std::vector<std::string> argv = {kDaemon, "--config.file=" + catalogue_,
                                     "--web.listen-address=127.0.0.1:" + std::to_string(port_),
                                     "--storage.path=" + MakeStateDir()};
    argv.insert(argv.end(), flags.begin(), flags.end());
    env.push_back(socket.EnvEntry());
    return std::make_unique<ChildProcess>(argv, env);
  }

  std::string catalogue_;
  int port_ = 0;
};

TEST_F(SdNotify, ReadyArrivesOnceListeningWithTheCatalogueLoaded) {
  NotifySocket socket;
  auto daemon = Start(socket, {});
  auto seen = socket.WaitFor("READY=1", 10s);
  ASSERT_TRUE(seen) << daemon->Output();
  // No polling: READY=1 promises the endpoint answers now.
  EXPECT_EQ(HttpGet("127.0.0.1", port_, "/-/ready").status, 200);
  EXPECT_EQ(seen->back(), "STATUS=running");
  EXPECT_EQ(Without(*seen, "WATCHDOG=1"), (std::vector<std::string>{"READY=1", "STATUS=running"}));
}

TEST_F(SdNotify, WatchdogBeatsFasterThanWatchdogUsec) {
  NotifySocket socket;
  auto daemon = Start(socket, {"WATCHDOG_USEC=200000"});
  ASSERT_TRUE(socket.WaitFor("READY=1", 10s)) << daemon->Output();
  int beats = 0;
  auto worst_gap = Clock::duration::zero();
  auto last = Clock::now();
  for (auto until = Clock::now() + 1s; Clock::now() < until;) {
    auto lines = socket.Receive(300ms);
    if (!lines) break;
    if (*lines != std::vector<std::string>{"WATCHDOG=1"}) continue;
    ++beats;
    worst_gap = std::max(worst_gap, Clock::now() - last);
    last = Clock::now();
  }
  // Every WATCHDOG_USEC/2 = 100 ms: about 10 a second.
  EXPECT_GE(beats, 5);
  EXPECT_LE(beats, 15) << "heartbeat far faster than WATCHDOG_USEC/2";
  EXPECT_LT(worst_gap, 200ms) << "systemd would have killed it";
}

TEST_F(SdNotify, NoWatchdogWithoutWatchdogUsecOrForAnotherPid) {
  NotifySocket unset_socket, other_socket;
  auto unset = Start(unset_socket, {});
  auto other = Start(other_socket, {"WATCHDOG_USEC=200000", "WATCHDOG_PID=1"});
  ASSERT_TRUE(unset_socket.WaitFor("READY=1", 10s)) << unset->Output();
  ASSERT_TRUE(other_socket.WaitFor("READY=1", 10s)) << other->Output();
  std::this_thread::sleep_for(1s);
  EXPECT_FALSE(unset_socket.Receive(0ms)) << "no WATCHDOG_USEC, no heartbeat";
  EXPECT_FALSE(other_socket.Receive(0ms)) << "WATCHDOG_PID names another process";
}

TEST_F(SdNotify, ReloadIsBracketedByReloadingAndReady) {
  NotifySocket socket;
  auto daemon = Start(socket, {"WATCHDOG_USEC=200000"}, {"--web.enable-lifecycle"});
  ASSERT_TRUE(socket.WaitFor("READY=1", 10s)) << daemon->Output();

  auto before = MonotonicUsec();
  daemon->Signal(SIGHUP);
  auto seen = socket.WaitFor("READY=1", 5s);
  auto after = MonotonicUsec();
  ASSERT_TRUE(seen) << daemon->Output();
  auto lines = Without(*seen, "WATCHDOG=1");
  ASSERT_EQ(lines.size(), 4u) << ::testing::PrintToString(lines);
  EXPECT_EQ(lines[0], "RELOADING=1");
  ASSERT_EQ(lines[1].rfind("MONOTONIC_USEC=", 0), 0u) << lines[1];
  auto usec = std::stoull(lines[1].substr(std::string("MONOTONIC_USEC=").size()));
  EXPECT_GE(usec, before);
  EXPECT_LE(usec, after);
  EXPECT_EQ(lines[2], "READY=1");
  EXPECT_EQ(lines[3], "STATUS=running");

  // A refused catalogue: still RELOADING=1 then READY=1, the old one runs on.
  std::ofstream(catalogue_) << "checks: [not valid\n";
  daemon->Signal(SIGHUP);
  seen = socket.WaitFor("READY=1", 5s);
  ASSERT_TRUE(seen) << daemon->Output();
  lines = Without(*seen, "WATCHDOG=1");
  EXPECT_EQ(IndexOf(lines, "RELOADING=1"), 0u) << ::testing::PrintToString(lines);
  EXPECT_LT(IndexOf(lines, "RELOADING=1"), IndexOf(lines, "READY=1"));
  EXPECT_TRUE(daemon->WaitForOutput("reload refused", 5s));
  EXPECT_FALSE(daemon->WaitExit(0ms)) << "a refused reload must not stop the daemon";

  // POST /-/reload goes through the same path.
  std::ofstream(catalogue_) << kCatalogue;
  EXPECT_EQ(HttpRequest("POST", "127.0.0.1", port_, "/-/reload").status, 200);
  seen = socket.WaitFor("READY=1", 5s);
  ASSERT_TRUE(seen) << daemon->Output();
  lines = Without(*seen, "WATCHDOG=1");
  EXPECT_EQ(IndexOf(lines, "RELOADING=1"), 0u) << ::testing::PrintToString(lines);
}

TEST_F(SdNotify, StopSendsStoppingThenExitsZero) {
  NotifySocket socket;
  auto daemon = Start(socket, {"WATCHDOG_USEC=200000"});
  ASSERT_TRUE(socket.WaitFor("READY=1", 10s)) << daemon->Output();
  daemon->Signal(SIGTERM);
  EXPECT_TRUE(socket.WaitFor("STOPPING=1", 5s)) << daemon->Output();
  EXPECT_EQ(daemon->WaitExit(5s), 0) << daemon->Output();
  // Not even a heartbeat whose timer had already fired.
  auto after = socket.Receive(0ms);
  EXPECT_FALSE(after) << "after STOPPING=1: " << ::testing::PrintToString(*after);
}

TEST_F(SdNotify, BadCatalogueNeverSignalsReady) {
  std::ofstream(catalogue_) << "checks: []\nbogus: 1\n";
  NotifySocket socket;
  auto daemon = Start(socket, {"WATCHDOG_USEC=200000"});
  EXPECT_EQ(daemon->WaitExit(10s), 1) << daemon->Output();
  while (auto lines = socket.Receive(0ms)) {
    EXPECT_EQ(std::find(lines->begin(), lines->end(), "READY=1"), lines->end());
    EXPECT_EQ(std::find(lines->begin(), lines->end(), "WATCHDOG=1"), lines->end());
  }
}

}  // namespace
}  // namespace drwatch::test
