// Logging: secrets masked, JSON lines, and the daemon's asynchronous logger
// never blocking its caller (the event loop) when stderr stops draining.

#include "common/log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <string>
#include <thread>

#include "common/redact.hpp"

namespace drwatch {
namespace {

using namespace std::chrono_literals;

// Points fd 2 at a pipe for the test's lifetime; restores it after.
class StderrPipe {
 public:
  StderrPipe() {
    EXPECT_EQ(::pipe2(fds_, O_CLOEXEC), 0);
    saved_ = ::dup(2);
    ::dup2(fds_[1], 2);
  }
  ~StderrPipe() {
    ::dup2(saved_, 2);
    ::close(saved_);
    ::close(fds_[0]);
    ::close(fds_[1]);
  }
  // Everything written so far (the pipe is read without blocking).
  std::string Drain() {
    std::string out;
    int flags = ::fcntl(fds_[0], F_GETFL);
    ::fcntl(fds_[0], F_SETFL, flags | O_NONBLOCK);
    char buffer[4096];
    for (ssize_t n; (n = ::read(fds_[0], buffer, sizeof buffer)) > 0;) out.append(buffer, static_cast<std::size_t>(n));
    ::fcntl(fds_[0], F_SETFL, flags);
    return out;
  }

 private:
  int fds_[2] = {-1, -1};
  int saved_ = -1;
};

TEST(Logging, TextAndJsonLinesMaskSecrets) {
  Redactor::Global().Add("hunter2-log-secret");
  StderrPipe pipe;
  SetupLogging(spdlog::level::info, LogFormat::kJson);
  spdlog::info("connect failed: password=hunter2-log-secret \"quoted\"");
  spdlog::debug("not at info");
  std::string out = pipe.Drain();
  EXPECT_NE(out.find("\"level\":\"info\",\"msg\":\"connect failed: password=<redacted> \\\"quoted\\\"\"}\n"),
            std::string::npos)
      << out;
  EXPECT_EQ(out.find("not at info"), std::string::npos);
}

// Nobody reads the pipe: once its 64 KiB are full a synchronous write would
// block forever. The asynchronous logger's callers return at once; the
// queue drops its oldest lines and counts them.
TEST(Logging, TheAsynchronousLoggerNeverBlocksWhenStderrIsStuck) {
  StderrPipe pipe;
  SetupLogging(spdlog::level::info, LogFormat::kText, LogMode::kAsync);
  auto writer = std::async(std::launch::async, [] {
    for (int i = 0; i < 50000; ++i) spdlog::info("line {} of a flood that nobody reads, padded to be long enough", i);
  });
  ASSERT_EQ(writer.wait_for(60s), std::future_status::ready) << "logging blocked on a stuck stderr";
  EXPECT_GT(DroppedLogLines(), 0u);
  // Unstick the writer thread so that StopLogging can flush and join it.
  std::atomic<bool> stopped{false};
  auto drainer = std::async(std::launch::async, [&] {
    while (!stopped) {
      pipe.Drain();
      std::this_thread::sleep_for(1ms);
    }
  });
  StopLogging();
  stopped = true;
  drainer.get();
  SetupLogging(spdlog::level::info, LogFormat::kText);  // for the tests that follow
}

}  // namespace
}  // namespace drwatch
