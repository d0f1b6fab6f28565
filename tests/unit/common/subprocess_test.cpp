#include "common/subprocess.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

namespace drwatch {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

SpawnSpec Spec(std::vector<std::string> argv) {
  SpawnSpec spec;
  spec.argv = std::move(argv);
  return spec;
}

struct Finished {
  ExitStatus status;
  std::string out;
  std::string err;
};

// Runs `spec` to the end on a fresh loop.
Finished RunToEnd(const SpawnSpec& spec) {
  asio::io_context io;
  Finished result;
  std::string error;
  auto child = Subprocess::Spawn(io.get_executor(), spec, error);
  EXPECT_TRUE(child) << error;
  if (!child) return result;
  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    result.out = co_await ReadAllCapped(child->stdout_pipe(), 1 << 20);
    result.err = co_await ReadAllCapped(child->stderr_pipe(), 1 << 20);
    result.status = co_await child->Wait();
  }, asio::detached);
  io.run_for(10s);
  return result;
}

bool Alive(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return false;
  auto close = line.rfind(')');
  return close != std::string::npos && line.size() > close + 2 && line[close + 2] != 'Z';
}

bool GoneWithin(pid_t pid, std::chrono::milliseconds limit) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (!Alive(pid)) return true;
    std::this_thread::sleep_for(10ms);
  }
  return !Alive(pid);
}

TEST(Subprocess, CapturesOutputAndExitCode) {
  auto r = RunToEnd(Spec({"/bin/sh", "-c", "echo out; echo err >&2; exit 3"}));
  EXPECT_EQ(r.out, "out\n");
  EXPECT_EQ(r.err, "err\n");
  EXPECT_EQ(r.status.code, 3);
  EXPECT_FALSE(r.status.ok());
  EXPECT_EQ(r.status.Describe(), "exit code 3");
}

// The child's whole environment, one "NAME=value" per line.
std::vector<std::string> ChildEnvironment(SpawnSpec spec) {
  spec.argv = {"/usr/bin/env"};
  auto r = RunToEnd(spec);
  EXPECT_TRUE(r.status.ok()) << r.err;
  std::vector<std::string> lines;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Issue 10 §6 / issue 12 "Secrets": a secret the daemon holds in its
// environment (${env:} expansion) never reaches a child.
TEST(Subprocess, ChildrenGetAMinimalEnvironmentNotTheDaemons) {
  ::setenv("DRWATCH_TEST_SECRET", "s3cr3t-from-the-daemon", 1);
  ::setenv("PGPASSWORD", "daemon-own-pg-password", 1);
  ::setenv("AWS_SECRET_ACCESS_KEY", "daemon-s3-key", 1);
  ::setenv("LANG", "C.UTF-8", 1);
  SpawnSpec spec;
  spec.env = {{"PGHOST", "127.0.0.1"}, {"LC_ALL", "C"}};
  auto env = ChildEnvironment(spec);
  std::vector<std::string> names;
  for (const auto& line : env) names.push_back(line.substr(0, line.find('=')));
  for (const auto& name : names) {
    EXPECT_TRUE(name == "PATH" || name == "HOME" || name == "LANG" || name == "LC_ALL" || name == "TZ" ||
                name == "PGHOST")
        << "the child got " << name;
  }
  EXPECT_THAT(env, ::testing::Contains("PATH=" + std::string(std::getenv("PATH"))));
  EXPECT_THAT(env, ::testing::Contains("LANG=C.UTF-8"));
  EXPECT_THAT(env, ::testing::Contains("LC_ALL=C"));
  EXPECT_THAT(env, ::testing::Contains("PGHOST=127.0.0.1"));
  for (const auto& line : env) {
    EXPECT_EQ(line.find("s3cr3t-from-the-daemon"), std::string::npos) << line;
    EXPECT_EQ(line.find("daemon-own-pg-password"), std::string::npos) << line;
    EXPECT_EQ(line.find("daemon-s3-key"), std::string::npos) << line;
  }
  ::unsetenv("DRWATCH_TEST_SECRET");
  ::unsetenv("PGPASSWORD");
  ::unsetenv("AWS_SECRET_ACCESS_KEY");
}

TEST(Subprocess, PathHasADefaultWhenTheDaemonHasNone) {
  std::string saved = std::getenv("PATH") ? std::getenv("PATH") : "";
  ::unsetenv("PATH");
  auto env = ChildEnvironment(SpawnSpec{});
  ::setenv("PATH", saved.c_str(), 1);
  EXPECT_THAT(env, ::testing::Contains(std::string("PATH=") + kDefaultChildPath));
}

// restore latest: the operator's own PG* variables, and the spec's own win.
TEST(Subprocess, InheritsOnlyTheNamesAskedFor) {
  ::setenv("PGPASSWORD", "operator-pw", 1);
  ::setenv("PGUSER", "operator", 1);
  ::setenv("DRWATCH_TEST_SECRET", "s3cr3t", 1);
  SpawnSpec spec;
  spec.inherit_env = {"PG*"};
  spec.env = {{"PGUSER", "from-dsn"}};
  auto env = ChildEnvironment(spec);
  EXPECT_THAT(env, ::testing::Contains("PGPASSWORD=operator-pw"));
  EXPECT_THAT(env, ::testing::Contains("PGUSER=from-dsn"));
  EXPECT_THAT(env, ::testing::Not(::testing::Contains("DRWATCH_TEST_SECRET=s3cr3t")));
  ::unsetenv("PGPASSWORD");
  ::unsetenv("PGUSER");
  ::unsetenv("DRWATCH_TEST_SECRET");
}

TEST(Subprocess, UsesWorkingDirectoryAndStdinFile) {
  char dir_template[] = "/tmp/drwatch-subprocess-XXXXXX";
  std::string dir = ::mkdtemp(dir_template);
  std::ofstream(dir + "/input.txt") << "from file\n";
  SpawnSpec spec = Spec({"/bin/sh", "-c", "pwd; cat"});
  spec.cwd = dir;
  spec.stdin_file = dir + "/input.txt";
  auto r = RunToEnd(spec);
  EXPECT_EQ(r.out, dir + "\nfrom file\n");
  std::remove((dir + "/input.txt").c_str());
  ::rmdir(dir.c_str());
}

TEST(Subprocess, MissingProgramIsAnErrorNotAChild) {
  asio::io_context io;
  std::string error;
  EXPECT_FALSE(Subprocess::Spawn(io.get_executor(), Spec({"/nonexistent/pg_dump", "--version"}), error));
  EXPECT_EQ(error, "cannot run /nonexistent/pg_dump: No such file or directory");
  EXPECT_FALSE(Subprocess::Spawn(io.get_executor(), Spec({"pg_dump"}), error));
  EXPECT_EQ(error, "cannot run \"pg_dump\": not an absolute path");
  char path[] = "/tmp/drwatch-not-executable-XXXXXX";
  int fd = ::mkstemp(path);  // mode 0600: no execute bit, not even for root
  ASSERT_GE(fd, 0);
  ::close(fd);
  EXPECT_FALSE(Subprocess::Spawn(io.get_executor(), Spec({path}), error));
  EXPECT_EQ(error, std::string("cannot run ") + path + ": Permission denied");
  std::remove(path);
}

TEST(Subprocess, MissingStdinFileIsAnError) {
  asio::io_context io;
  std::string error;
  SpawnSpec spec = Spec({"/bin/cat"});
  spec.stdin_file = "/nonexistent/data.dump";
  EXPECT_FALSE(Subprocess::Spawn(io.get_executor(), spec, error));
  EXPECT_EQ(error, "cannot open /nonexistent/data.dump: No such file or directory");
}

// A shell that starts a grandchild: killing the group takes both.
TEST(Subprocess, KillTakesTheWholeProcessGroup) {
  asio::io_context io;
  std::string error;
  auto child = Subprocess::Spawn(io.get_executor(), Spec({"/bin/sh", "-c", "sleep 600 & echo $!; wait"}), error);
  ASSERT_TRUE(child) << error;
  std::string first_line;
  ExitStatus status;
  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    std::array<char, 64> buf;
    std::size_t n = co_await child->stdout_pipe().async_read_some(asio::buffer(buf), asio::use_awaitable);
    first_line.assign(buf.data(), n);
    child->Kill(SIGKILL);
    status = co_await child->Wait();
  }, asio::detached);
  io.run_for(10s);
  pid_t grandchild = std::stoi(first_line);
  EXPECT_EQ(status.signal, SIGKILL);
  EXPECT_EQ(status.Describe().rfind("killed by signal 9 (", 0), 0u) << status.Describe();
  // Left alone it would sleep for ten minutes.
  bool gone = GoneWithin(grandchild, 30s);
  EXPECT_TRUE(gone);
  if (!gone) ::kill(grandchild, SIGKILL);  // not left behind by a failing run
  EXPECT_TRUE(child->exited());
}

TEST(Subprocess, DestroyingARunningChildKillsAndReapsIt) {
  asio::io_context io;
  std::string error;
  auto child = Subprocess::Spawn(io.get_executor(), Spec({"/bin/sleep", "60"}), error);
  ASSERT_TRUE(child) << error;
  pid_t pid = child->pid();
  EXPECT_TRUE(Alive(pid));
  child.reset();
  // Reaped, not just dead: /proc/<pid> disappears.
  auto end = std::chrono::steady_clock::now() + 2s;
  struct stat st;
  while (::stat(("/proc/" + std::to_string(pid)).c_str(), &st) == 0 && std::chrono::steady_clock::now() < end) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_NE(::stat(("/proc/" + std::to_string(pid)).c_str(), &st), 0);
}

// The loop keeps serving timers while a child runs: Wait is asynchronous.
TEST(Subprocess, WaitingNeverBlocksTheLoop) {
  asio::io_context io;
  std::string error;
  auto child = Subprocess::Spawn(io.get_executor(), Spec({"/bin/sleep", "0.3"}), error);
  ASSERT_TRUE(child) << error;
  int ticks = 0;
  bool done = false;
  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    co_await child->Wait();
    done = true;
  }, asio::detached);
  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    asio::steady_timer t(io);
    while (!done) {
      t.expires_after(20ms);
      co_await t.async_wait(asio::use_awaitable);
      ++ticks;
    }
  }, asio::detached);
  io.run_for(5s);
  EXPECT_TRUE(done);
  EXPECT_GE(ticks, 5);
}

TEST(Subprocess, ReadAllCappedKeepsTheHeadAndDrainsTheRest) {
  auto spec = Spec({"/bin/sh", "-c", "head -c 200000 /dev/zero | tr '\\0' x; echo done >&2"});
  asio::io_context io;
  std::string error;
  auto child = Subprocess::Spawn(io.get_executor(), spec, error);
  ASSERT_TRUE(child) << error;
  std::string out;
  ExitStatus status;
  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    out = co_await ReadAllCapped(child->stdout_pipe(), 1000);
    status = co_await child->Wait();
  }, asio::detached);
  io.run_for(10s);
  EXPECT_EQ(out, std::string(1000, 'x'));
  EXPECT_TRUE(status.ok());
}

}  // namespace
}  // namespace drwatch
