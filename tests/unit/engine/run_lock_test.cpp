// The run lock of checks that run alone: refusal text, release on exit
// (SIGKILL included), and an unusable lock directory.

#include "engine/run_lock.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "common/iso8601.hpp"

namespace drwatch::engine {
namespace {

namespace fs = std::filesystem;

class RunLockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string templ = (fs::temp_directory_path() / "drwatch-runlock-XXXXXX").string();
    ASSERT_NE(::mkdtemp(templ.data()), nullptr);
    root_ = templ;
    dir_ = root_ + "/locks";
  }
  void TearDown() override { fs::remove_all(root_); }

  std::string root_, dir_;
  std::chrono::system_clock::time_point since_ = *ParseIso8601("2026-11-25T02:30:00.250Z");
};

TEST_F(RunLockTest, ASecondRunIsRefusedWithTheHoldersPidAndStart) {
  RunLockResult first = TryLockRun(dir_, "nightly", since_);
  ASSERT_TRUE(first.ok()) << first.error;
  EXPECT_TRUE(first.lock.held());
  RunLockResult second = TryLockRun(dir_, "nightly", since_);
  EXPECT_TRUE(second.busy);
  EXPECT_EQ(second.error, "already running (pid " + std::to_string(::getpid()) + ", since 2026-11-25T02:30:00.250Z)");
  EXPECT_FALSE(second.lock.held());
  EXPECT_TRUE(TryLockRun(dir_, "weekly", since_).ok()) << "another check has its own lock";
  first = RunLockResult{};  // released
  EXPECT_TRUE(TryLockRun(dir_, "nightly", since_).ok());
  EXPECT_EQ(RunLockPath(dir_, "nightly"), dir_ + "/nightly.lock");
}

TEST_F(RunLockTest, AKilledHolderLeavesNoStaleLock) {
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    RunLockResult held = TryLockRun(dir_, "nightly", since_);
    char c = held.ok() ? '1' : '0';
    (void)!::write(ready[1], &c, 1);
    ::pause();
    ::_exit(0);
  }
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  ASSERT_EQ(c, '1');
  RunLockResult busy = TryLockRun(dir_, "nightly", since_);
  EXPECT_EQ(busy.error, "already running (pid " + std::to_string(child) + ", since 2026-11-25T02:30:00.250Z)");
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  ::close(ready[0]);
  ::close(ready[1]);
  RunLockResult after = TryLockRun(dir_, "nightly", since_);
  EXPECT_TRUE(after.ok()) << after.error;
}

TEST_F(RunLockTest, AnUnusableLockDirectoryIsNamed) {
  std::ofstream(dir_) << "a file where the lock directory should be";
  RunLockResult r = TryLockRun(dir_, "nightly", since_);
  EXPECT_FALSE(r.busy);
  EXPECT_EQ(r.error, "open " + dir_ + "/nightly.lock: Not a directory");
}

TEST_F(RunLockTest, AMissingStateDirectoryIsCreated) {
  std::string nested = root_ + "/state/locks";
  RunLockResult r = TryLockRun(nested, "nightly", since_);
  EXPECT_TRUE(r.ok()) << r.error;
  EXPECT_TRUE(fs::exists(nested + "/nightly.lock"));
}

}  // namespace
}  // namespace drwatch::engine
