#pragma once
// Child processes on the event loop (pg_dump, pg_restore, psql, tar): no
// shell, arguments as a vector, a minimal environment built for the child
// (connection secrets go there, never on the command line where ps shows
// them; the daemon's own environment, which may hold ${env:} secrets, is not
// inherited), stdout/stderr as Asio pipes, exit observed through a pidfd, so
// nothing ever blocks the loop.
//
// Each child leads its own process group; Kill() signals the whole group
// (pg_dump -j workers included). A Subprocess destroyed while its child runs
// kills the group with SIGKILL and reaps it off the loop.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <csignal>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace drwatch {

/// The daemon's variables every child gets, when set (PATH defaults to
/// kDefaultChildPath): nothing else of the daemon's environment is passed on.
inline constexpr const char* kChildEnvironment[] = {"PATH", "HOME", "LANG", "LC_ALL", "TZ"};
inline constexpr char kDefaultChildPath[] = "/usr/local/bin:/usr/bin:/bin";

/// What to start. The child's environment is kChildEnvironment taken from the
/// daemon's, then `inherit_env`, then `env` (each wins over the one before).
struct SpawnSpec {
  std::vector<std::string> argv;            // argv[0]: absolute path of the program
  std::map<std::string, std::string> env;   // the child's own variables (PGHOST, PGPASSWORD, LC_ALL=C)
  /// Further names passed on from the daemon's environment; "PG*" passes
  /// every name starting with "PG" (restore latest: the operator's PGPASSWORD).
  std::vector<std::string> inherit_env;
  std::string cwd;                          // empty: inherit
  bool pipe_stdin = false;                  // else /dev/null
  bool pipe_stdout = true;                  // else /dev/null
  bool pipe_stderr = true;                  // else /dev/null
  /// File to open as stdin instead of /dev/null or a pipe (pg_restore < file).
  std::string stdin_file;
};

/// How a child ended.
struct ExitStatus {
  int code = -1;    // exit code, or -1 when killed by a signal
  int signal = 0;   // the signal that killed it, or 0
  bool ok() const { return code == 0; }
  /// "exit code 1", "killed by signal 9 (Killed)".
  std::string Describe() const;
};

class Subprocess {
 public:
  /// Starts the child. On failure (program missing, not executable, fork
  /// failure) returns nullptr and sets `error` ("cannot run /usr/bin/x: No
  /// such file or directory"). Never throws for a failing program.
  static std::unique_ptr<Subprocess> Spawn(boost::asio::any_io_executor executor, const SpawnSpec& spec,
                                           std::string& error);
  ~Subprocess();
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  int pid() const { return pid_; }
  /// The pipes requested in SpawnSpec (closed = not requested). Read with
  /// async_read_some; EOF arrives as boost::asio::error::eof. Close stdin_pipe
  /// to send EOF.
  boost::asio::posix::stream_descriptor& stdin_pipe() { return *stdin_; }
  boost::asio::posix::stream_descriptor& stdout_pipe() { return *stdout_; }
  boost::asio::posix::stream_descriptor& stderr_pipe() { return *stderr_; }

  /// Waits (asynchronously) for the child to exit and reaps it. Cancellable;
  /// a cancelled wait leaves the child running (call Kill).
  boost::asio::awaitable<ExitStatus> Wait();
  /// Sends `sig` to the child's process group (no-op once reaped).
  void Kill(int sig = SIGKILL);
  bool exited() const { return status_.has_value(); }

 private:
  Subprocess() = default;
  struct Pipes;
  int pid_ = -1;
  std::unique_ptr<boost::asio::posix::stream_descriptor> pidfd_, stdin_, stdout_, stderr_;
  std::optional<ExitStatus> status_;
};

/// Reads a whole pipe into a string, keeping at most `max_bytes` (the rest is
/// read and dropped, so the child never blocks on a full pipe). For stderr.
boost::asio::awaitable<std::string> ReadAllCapped(boost::asio::posix::stream_descriptor& pipe,
                                                  std::size_t max_bytes);

}  // namespace drwatch
