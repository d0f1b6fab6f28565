#pragma once
// A throwaway PostgreSQL 15 cluster for integration tests: a fresh data
// directory (copied from a cached initdb template) on a free loopback port,
// removed again by the destructor. Missing binaries or a failed start are
// test failures (the constructor throws), never skips.

#include <gtest/gtest.h>
#include <sys/types.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/blocking.hpp"
#include "common/clock.hpp"

namespace drwatch::test {

using Rows = std::vector<std::vector<std::optional<std::string>>>;

class PgCluster;

/// What makes a cluster differ from the default one.
struct PgClusterOptions {
  /// Lines appended to postgresql.conf ("cluster_name = 'standby1'"). Unlike
  /// the fixed -c settings of the postmaster, ALTER SYSTEM can override them.
  std::vector<std::string> settings = {};
  /// archive_mode = on with an archive_command copying into ArchiveDir().
  bool archive = false;
  /// Makes a streaming standby of this running cluster (pg_basebackup -R)
  /// instead of a fresh cluster; it inherits the primary's roles and settings.
  const PgCluster* standby_of = nullptr;
};

class PgCluster {
 public:
  /// A login role that must authenticate with a password (scram-sha-256 on 127.0.0.1).
  static constexpr char kPasswordUser[] = "drwatch";
  static constexpr char kPassword[] = "Sekr1t-pw-4711";

  /// initdb (or copies the cached template), starts the postmaster and waits
  /// until it accepts connections. Throws std::runtime_error on any failure.
  PgCluster();
  /// The same with `options` (archiving, a standby, extra settings).
  explicit PgCluster(const PgClusterOptions& options);
  /// Thaws, stops and removes the data directory.
  ~PgCluster();
  PgCluster(const PgCluster&) = delete;
  PgCluster& operator=(const PgCluster&) = delete;

  int Port() const { return port_; }
  /// Where archive = true archives to (owned by postgres, removed with the cluster).
  std::string ArchiveDir() const { return dir_ + "/archive"; }
  /// A key=value DSN for user postgres, database postgres on 127.0.0.1:Port();
  /// `extra` is appended verbatim ("application_name=x").
  std::string Dsn(const std::string& extra = "") const;
  /// The same for another user; no password when `password` is empty.
  std::string DsnFor(const std::string& user, const std::string& password, const std::string& extra = "") const;
  /// The DSN of kPasswordUser with its password.
  std::string PasswordDsn() const;

  /// Runs `sql` on a fresh blocking connection as postgres; throws on error.
  void Exec(const std::string& sql) const;
  /// Runs `sql` and returns its rows as text; throws on error.
  Rows Query(const std::string& sql) const;
  /// The first column of the first row, or "" when there is none or it is NULL.
  std::string QueryValue(const std::string& sql) const;
  /// Sessions in pg_stat_activity with this application_name.
  int Backends(const std::string& application_name) const;

  /// Starts the postmaster again after Stop(), on the same port while it is free.
  void Start();
  /// Fast shutdown; waits for the postmaster to exit.
  void Stop();
  /// SIGSTOPs the postmaster and all its children: connections then hang.
  void Freeze();
  /// SIGCONTs whatever Freeze() stopped.
  void Thaw();

 private:
  void WriteConfig() const;
  void WriteSettings(const PgClusterOptions& options) const;
  void BaseBackup(const PgCluster& primary);
  void WaitReady();

  std::string dir_;  // owned by postgres; holds data/, the socket and the log
  int port_ = 0;
  pid_t postmaster_ = -1;
  std::vector<pid_t> frozen_;
};

/// Base fixture: the suite shares one cluster (started in SetUpTestSuite, so
/// a start failure fails every test); each test gets its own io_context and
/// blocking pool.
class PgClusterTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite();
  static void TearDownTestSuite();
  void SetUp() override;
  /// Thaws the cluster and lets abandoned blocking calls finish.
  void TearDown() override;

  static PgCluster& cluster() { return *cluster_; }

  boost::asio::io_context io_;
  BlockingPool pool_{4};  // destroyed first: its last jobs may still post to io_

 private:
  static PgCluster* cluster_;
  static std::string setup_error_;
};

/// An application_name no other test of this process uses.
std::string UniqueAppName();
/// Milliseconds since `start`.
std::chrono::milliseconds Since(std::chrono::steady_clock::time_point start);

// --- Driving the asynchronous PostgreSQL code in tests -------------------

/// Starts `task` on `io` racing a `deadline` timer, as the check runner does
/// (`co_await (task || timer.async_wait(...))`); `done` receives the result,
/// or nullopt when the deadline won, and any exception the task threw.
template <typename T>
void SpawnWithDeadline(boost::asio::io_context& io, boost::asio::awaitable<T> task,
                       std::chrono::milliseconds deadline,
                       std::function<void(std::optional<T>, std::exception_ptr)> done) {
  auto body = [](boost::asio::awaitable<T> task, std::chrono::milliseconds deadline,
                 std::optional<T>& out) -> boost::asio::awaitable<void> {
    using namespace boost::asio::experimental::awaitable_operators;
    Timer timer(co_await boost::asio::this_coro::executor);
    timer.expires_after(deadline);
    auto wait = timer.async_wait(boost::asio::use_awaitable);
    auto winner = co_await (std::move(task) || std::move(wait));
    if (winner.index() == 0) out = std::move(std::get<0>(winner));
  };
  auto out = std::make_shared<std::optional<T>>();
  boost::asio::co_spawn(io, body(std::move(task), deadline, *out),
                        [out, done = std::move(done)](std::exception_ptr error) {
                          done(std::move(*out), error);
                        });
}

/// Runs `task` as SpawnWithDeadline does and turns the loop until it is done
/// (other work on `io` keeps going). Rethrows what the task threw.
template <typename T>
std::optional<T> RunWithDeadline(boost::asio::io_context& io, boost::asio::awaitable<T> task,
                                 std::chrono::milliseconds deadline = std::chrono::seconds(30)) {
  std::optional<T> result;
  std::exception_ptr error;
  bool finished = false;
  SpawnWithDeadline<T>(io, std::move(task), deadline, [&](std::optional<T> r, std::exception_ptr e) {
    result = std::move(r);
    error = e;
    finished = true;
  });
  io.restart();
  while (!finished) io.run_one();
  if (error) std::rethrow_exception(error);
  return result;
}

/// Turns `io` until `done()` holds or `timeout` passes; returns how long that
/// took, or nullopt on timeout.
std::optional<std::chrono::milliseconds> PollUntil(boost::asio::io_context& io,
                                                   const std::function<bool()>& done,
                                                   std::chrono::milliseconds timeout);

/// Turns `io` for `duration` (a sleep that keeps the loop running).
void TurnLoop(boost::asio::io_context& io, std::chrono::milliseconds duration);

/// A repeating timer on the loop that records how late it fires: while the
/// loop is never blocked, the worst lateness stays a few milliseconds.
class LoopWatch {
 public:
  explicit LoopWatch(boost::asio::io_context& io,
                     std::chrono::milliseconds period = std::chrono::milliseconds(50));
  ~LoopWatch();
  LoopWatch(const LoopWatch&) = delete;
  LoopWatch& operator=(const LoopWatch&) = delete;

  int ticks() const { return ticks_; }
  std::chrono::milliseconds worst_lateness() const { return worst_; }

 private:
  void Arm();

  boost::asio::steady_timer timer_;
  std::chrono::milliseconds period_;
  std::chrono::steady_clock::time_point next_;
  int ticks_ = 0;
  std::chrono::milliseconds worst_{0};
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // a completion may be queued already
};

/// The bound a unit test puts on a call that can only end by its deadline:
/// ten times the deadline. A busy machine stays far below it, while a call
/// that ignored its deadline waits for a release that never comes (a stall
/// server, a FIFO nobody writes to) and breaks it, or hangs until the test's
/// CTest TIMEOUT. Tight figures belong in bench/, not in tests.
constexpr std::chrono::milliseconds WellWithin(std::chrono::milliseconds deadline) { return 10 * deadline; }

/// Loop lag for the tests labelled `timing` (suites named *Timing, which CTest
/// runs alone): the worst lateness of a LoopWatch while the loop only idles,
/// as a baseline, and then while `work` turns it.
struct LoopLag {
  std::chrono::milliseconds idle;
  std::chrono::milliseconds busy;
};
LoopLag MeasureLoopLag(boost::asio::io_context& io, const std::function<void()>& work,
                       std::chrono::milliseconds idle_for = std::chrono::milliseconds(500),
                       std::chrono::milliseconds period = std::chrono::milliseconds(10));

/// How much worse than its idle baseline a `timing` test lets the loop lag
/// while a call is blocked: generous for a loaded 2-core machine, yet a
/// quarter of the 1 s deadlines those tests use, so a call that holds the
/// loop until its deadline (or its release) still fails them.
inline constexpr std::chrono::milliseconds kLagSlack{250};

namespace pgproc {

/// "host=127.0.0.1 port=P user=U dbname=postgres [password=W] [extra]".
std::string LoopbackDsn(int port, const std::string& user, const std::string& password, const std::string& extra);
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
