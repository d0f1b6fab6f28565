#pragma once
// A throwaway PostgreSQL 15 cluster for integration tests: a fresh data
// directory (copied from a cached initdb template) on a free loopback port,
// removed again by the destructor. Missing binaries or a failed start are
// test failures (the constructor throws), never skips.

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace drwatch::test {

/// Connection string knobs; empty fields fall back to the cluster's defaults.
struct DsnOptions {
  std::string user = "postgres";
  std::string password;  // none when empty
  std::string dbname = "postgres";
  std::string extra;     // appended verbatim, e.g. "application_name=x"
};

using Rows = std::vector<std::vector<std::optional<std::string>>>;

class PgCluster {
 public:
  /// A login role that must authenticate with a password (scram-sha-256 on 127.0.0.1).
  static constexpr char kPasswordUser[] = "drwatch";
  static constexpr char kPassword[] = "Sekr1t-pw-4711";

  /// initdb (or copies the cached template), starts the postmaster and waits
  /// until it accepts connections. Throws std::runtime_error on any failure.
  PgCluster();
  /// Thaws, stops and removes the data directory.
  ~PgCluster();
  PgCluster(const PgCluster&) = delete;
  PgCluster& operator=(const PgCluster&) = delete;

  int Port() const { return port_; }
  /// A key=value DSN for 127.0.0.1:Port().
  std::string Dsn(const DsnOptions& options = {}) const;
  /// The DSN of kPasswordUser with its password.
  std::string PasswordDsn() const;

  /// Runs `sql` on a fresh blocking connection as postgres; throws on error.
  void Exec(const std::string& sql) const;
  /// Runs `sql` and returns its rows as text; throws on error.
  Rows Query(const std::string& sql) const;
  /// The first column of the first row, or "" when there is none or it is NULL.
  std::string QueryValue(const std::string& sql) const;

  /// Starts the postmaster again after Stop().
  void Start();
  /// Fast shutdown; waits for the postmaster to exit.
  void Stop();
  /// SIGSTOPs the postmaster and all its children: connections then hang.
  void Freeze();
  /// SIGCONTs whatever Freeze() stopped.
  void Thaw();

 private:
  void WriteConfig() const;
  void WaitReady();

  std::string dir_;  // owned by postgres; holds data/, the socket and the log
  int port_ = 0;
  pid_t postmaster_ = -1;
  std::vector<pid_t> frozen_;
};

namespace pgproc {

/// Where the PostgreSQL 15 binaries live.
std::string BinDir();
/// A loopback TCP port that was free a moment ago.
int FreeLoopbackPort();
/// A fresh directory under the temp dir, owned by the postgres user when root.
std::string MakeOwnedTempDir(const std::string& prefix);
/// Runs argv[0] (absolute path) as postgres when root, else as ourselves;
/// returns the exit status and its combined output.
int RunAsPostgres(const std::vector<std::string>& argv, std::string& output);
/// Starts argv as postgres with stdout and stderr appended to `log`; the
/// child gets `death_signal` if this thread exits.
pid_t SpawnAsPostgres(const std::vector<std::string>& argv, const std::string& log, int death_signal);
/// Sends `signal`, waits up to `timeout_ms` for the child to exit, then SIGKILLs it.
void StopChild(pid_t pid, int signal, int timeout_ms);
/// True while `pid` (our child) has not exited.
bool ChildAlive(pid_t pid);
/// The last few lines of a log file, for failure messages.
std::string Tail(const std::string& path);
/// Throws std::runtime_error with `what` (also an ADD_FAILURE, so it is loud).
[[noreturn]] void Fail(const std::string& what);

}  // namespace pgproc

}  // namespace drwatch::test
