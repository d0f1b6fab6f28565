#pragma once
// Child processes for integration tests: drwatchd itself, promtool, psql.

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace drwatch::test {

/// A running child with stdout and stderr going to a log file.
class ChildProcess {
 public:
  /// Starts argv[0] (a path) with the current environment plus `env`
  /// ("NAME=value" entries). Fails the test (throws) when it cannot start.
  ChildProcess(std::vector<std::string> argv, std::vector<std::string> env = {});
  /// SIGTERM, then SIGKILL after 5 s.
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  void Signal(int signo) const;
  /// The exit code once it exited within `timeout` (128+N for signal N).
  std::optional<int> WaitExit(std::chrono::milliseconds timeout);
  /// Everything it wrote so far.
  std::string Output() const;
  /// Waits until Output() contains `needle`.
  bool WaitForOutput(const std::string& needle, std::chrono::milliseconds timeout) const;

 private:
  pid_t pid_ = -1;
  std::string log_path_;
  std::optional<int> exit_code_;
};

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

/// Runs a command to completion (killed after `timeout`), with `stdin_text`
/// on its standard input.
CommandResult RunCommand(const std::vector<std::string>& argv, const std::string& stdin_text = "",
                         std::vector<std::string> env = {},
                         std::chrono::milliseconds timeout = std::chrono::seconds(60));

/// A fresh empty directory under /tmp.
std::string MakeTempDir();
/// The whole file, empty when it cannot be read.
std::string ReadFile(const std::string& path);

/// A fresh empty temporary directory for drwatchd's --storage.path: tests
/// never write the default /var/lib/drwatch.
std::string MakeStateDir();

/// Regular files under `dir`, recursively, as sorted paths relative to it
/// (empty when `dir` does not exist). Tolerates files vanishing while it
/// walks (a cleanup running on another thread).
std::vector<std::string> AllFiles(const std::string& dir);

/// Writes `text` to a new file in a fresh temporary directory; returns its path.
std::string WriteTempFile(const std::string& name, const std::string& text);

}  // namespace drwatch::test
