#include "common/subprocess.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <array>
#include <cerrno>
#include <cstring>
#include <thread>

extern char** environ;

namespace drwatch {
namespace {

namespace asio = boost::asio;

// A pair of pipe ends, closed on destruction unless released.
struct Fd {
  int fd = -1;
  Fd() = default;
  explicit Fd(int f) : fd(f) {}
  Fd(Fd&& o) noexcept : fd(std::exchange(o.fd, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    Reset();
    fd = std::exchange(o.fd, -1);
    return *this;
  }
  ~Fd() { Reset(); }
  void Reset() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
  int Release() { return std::exchange(fd, -1); }
};

bool MakePipe(Fd& read_end, Fd& write_end) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return false;
  read_end = Fd(fds[0]);
  write_end = Fd(fds[1]);
  return true;
}

// True when `name` matches `pattern`: equal, or a prefix ending in '*'.
bool NameMatches(std::string_view name, std::string_view pattern) {
  if (pattern.ends_with('*')) return name.starts_with(pattern.substr(0, pattern.size() - 1));
  return name == pattern;
}

bool Inherited(std::string_view name, const SpawnSpec& spec) {
  for (std::string_view allowed : kChildEnvironment) {
    if (name == allowed) return true;
  }
  for (const auto& pattern : spec.inherit_env) {
    if (NameMatches(name, pattern)) return true;
  }
  return false;
}

// The child's environment: built from an allow-list, never the daemon's whole
// environment (it may hold the secrets ${env:} expanded, which a child could
// leak into a dump, a core file or /proc/PID/environ).
std::vector<std::string> BuildEnvironment(const SpawnSpec& spec) {
  std::map<std::string, std::string> merged{{"PATH", kDefaultChildPath}};
  for (char** e = environ; e && *e; ++e) {
    std::string_view entry(*e);
    auto eq = entry.find('=');
    if (eq == std::string_view::npos || !Inherited(entry.substr(0, eq), spec)) continue;
    merged[std::string(entry.substr(0, eq))] = std::string(entry.substr(eq + 1));
  }
  for (const auto& [name, value] : spec.env) merged[name] = value;
  std::vector<std::string> out;
  out.reserve(merged.size());
  for (const auto& [name, value] : merged) out.push_back(name + "=" + value);
  return out;
}

std::vector<char*> Pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// Runs in the forked child: only async-signal-safe calls until execve.
[[noreturn]] void ExecChild(const char* path, char* const* argv, char* const* envp, const char* cwd, int in_fd,
                            int out_fd, int err_fd, int report_fd) {
  ::setpgid(0, 0);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  // Dispositions set to "ignore" survive exec; the daemon's SIGPIPE must not.
  ::signal(SIGPIPE, SIG_DFL);
  int fds[3] = {in_fd, out_fd, err_fd};
  for (int target = 0; target < 3; ++target) {
    if (::dup2(fds[target], target) < 0) break;
  }
  if (cwd && *cwd && ::chdir(cwd) != 0) {
    int err = errno;
    (void)!::write(report_fd, &err, sizeof err);
    ::_exit(127);
  }
  ::execve(path, argv, envp);
  int err = errno;
  (void)!::write(report_fd, &err, sizeof err);
  ::_exit(127);
}

int OpenDevNull(int flags) { return ::open("/dev/null", flags | O_CLOEXEC); }

}  // namespace

std::string ExitStatus::Describe() const {
  if (signal != 0) return "killed by signal " + std::to_string(signal) + " (" + ::strsignal(signal) + ")";
  return "exit code " + std::to_string(code);
}

std::unique_ptr<Subprocess> Subprocess::Spawn(asio::any_io_executor executor, const SpawnSpec& spec,
                                              std::string& error) {
  if (spec.argv.empty() || spec.argv[0].empty() || spec.argv[0][0] != '/') {
    error = "cannot run \"" + (spec.argv.empty() ? std::string() : spec.argv[0]) + "\": not an absolute path";
    return nullptr;
  }
  const std::string& program = spec.argv[0];
  std::vector<std::string> argv_strings = spec.argv;
  std::vector<std::string> env_strings = BuildEnvironment(spec);
  std::vector<char*> argv = Pointers(argv_strings);
  std::vector<char*> envp = Pointers(env_strings);

  // Child ends (given to the child), parent ends (kept).
  Fd in_child, in_parent, out_parent, out_child, err_parent, err_child, report_read, report_write;
  bool ok = true;
  if (spec.pipe_stdin) {
    ok = ok && MakePipe(in_child, in_parent);
  } else if (!spec.stdin_file.empty()) {
    in_child = Fd(::open(spec.stdin_file.c_str(), O_RDONLY | O_CLOEXEC));
    if (in_child.fd < 0) {
      error = "cannot open " + spec.stdin_file + ": " + std::strerror(errno);
      return nullptr;
    }
  } else {
    in_child = Fd(OpenDevNull(O_RDONLY));
  }
  if (spec.pipe_stdout) {
    ok = ok && MakePipe(out_parent, out_child);
  } else {
    out_child = Fd(OpenDevNull(O_WRONLY));
  }
  if (spec.pipe_stderr) {
    ok = ok && MakePipe(err_parent, err_child);
  } else {
    err_child = Fd(OpenDevNull(O_WRONLY));
  }
  ok = ok && MakePipe(report_read, report_write) && in_child.fd >= 0 && out_child.fd >= 0 && err_child.fd >= 0;
  if (!ok) {
    error = "cannot run " + program + ": " + std::strerror(errno);
    return nullptr;
  }

  pid_t pid = ::fork();
  if (pid < 0) {
    error = "cannot run " + program + ": fork: " + std::strerror(errno);
    return nullptr;
  }
  if (pid == 0) {
    ExecChild(program.c_str(), argv.data(), envp.data(), spec.cwd.c_str(), in_child.fd, out_child.fd,
              err_child.fd, report_write.fd);
  }
  ::setpgid(pid, pid);  // also in the child: whichever runs first wins the race
  in_child.Reset();
  out_child.Reset();
  err_child.Reset();
  report_write.Reset();

  // The report pipe closes on a successful exec (O_CLOEXEC) or carries errno.
  int child_errno = 0;
  ssize_t n;
  do {
    n = ::read(report_read.fd, &child_errno, sizeof child_errno);
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof child_errno)) {
    int status;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    error = "cannot run " + program + ": " + std::strerror(child_errno);
    return nullptr;
  }

  std::unique_ptr<Subprocess> p(new Subprocess);
  p->pid_ = pid;
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) {
    error = "cannot watch " + program + ": pidfd_open: " + std::strerror(errno);
    ::kill(-pid, SIGKILL);
    int status;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return nullptr;
  }
  auto wrap = [&executor](Fd& fd) {
    auto d = std::make_unique<asio::posix::stream_descriptor>(executor);
    if (fd.fd >= 0) d->assign(fd.Release());
    return d;
  };
  Fd pidfd_holder(pidfd);
  p->pidfd_ = wrap(pidfd_holder);
  p->stdin_ = wrap(in_parent);
  p->stdout_ = wrap(out_parent);
  p->stderr_ = wrap(err_parent);
  return p;
}

Subprocess::~Subprocess() {
  if (pid_ <= 0 || status_) return;
  ::kill(-pid_, SIGKILL);
  // Reap off the loop: a child stuck in uninterruptible sleep (a hung mount)
  // would block here.
  std::thread([pid = pid_] {
    int status;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  }).detach();
}

asio::awaitable<ExitStatus> Subprocess::Wait() {
  while (!status_) {
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      ExitStatus s;
      if (WIFEXITED(status)) {
        s.code = WEXITSTATUS(status);
      } else if (WIFSIGNALED(status)) {
        s.signal = WTERMSIG(status);
      }
      status_ = s;
      break;
    }
    if (r < 0 && errno != EINTR) {
      status_ = ExitStatus{};  // ECHILD: reaped elsewhere; the status is lost
      break;
    }
    if (r == 0) co_await pidfd_->async_wait(asio::posix::stream_descriptor::wait_read, asio::use_awaitable);
  }
  co_return *status_;
}

void Subprocess::Kill(int sig) {
  if (pid_ > 0 && !status_) ::kill(-pid_, sig);
}

asio::awaitable<std::string> ReadAllCapped(asio::posix::stream_descriptor& pipe, std::size_t max_bytes) {
  std::string out;
  std::array<char, 16384> buf;
  for (;;) {
    boost::system::error_code ec;
    std::size_t n =
        co_await pipe.async_read_some(asio::buffer(buf), asio::redirect_error(asio::use_awaitable, ec));
    if (n > 0 && out.size() < max_bytes) out.append(buf.data(), std::min(n, max_bytes - out.size()));
    if (ec == asio::error::operation_aborted) throw boost::system::system_error(ec);
    if (ec) break;  // eof or a broken pipe: the writer is gone
  }
  co_return out;
}

}  // namespace drwatch
