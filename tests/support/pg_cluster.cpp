#include "support/pg_cluster.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace drwatch::test {
namespace fs = std::filesystem;

namespace pgproc {
namespace {

// Who the servers run as: PostgreSQL and PgBouncer refuse to run as root.
struct Credentials {
  bool drop = false;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
};

const Credentials& PostgresCredentials() {
  static const Credentials credentials = [] {
    Credentials c;
    if (geteuid() != 0) return c;
    passwd* pw = getpwnam("postgres");
    if (!pw) Fail("running as root, but there is no postgres user to run the servers as");
    c.drop = true;
    c.uid = pw->pw_uid;
    c.gid = pw->pw_gid;
    int count = 64;
    c.groups.resize(count);
    if (getgrouplist(pw->pw_name, pw->pw_gid, c.groups.data(), &count) < 0) count = 0;
    c.groups.resize(count);
    return c;
  }();
  return credentials;
}

// Between fork and exec only async-signal-safe calls: everything is prepared
// by the parent.
[[noreturn]] void ExecChild(const Credentials& cred, char* const* argv, int out_fd, int death_signal) {
  int null_fd = open("/dev/null", O_RDONLY);
  if (null_fd >= 0) dup2(null_fd, 0);
  dup2(out_fd, 1);
  dup2(out_fd, 2);
  close_range(3, ~0U, 0);
  if (chdir("/tmp") != 0) _exit(126);
  if (cred.drop) {
    if (setgroups(cred.groups.size(), cred.groups.data()) != 0 || setgid(cred.gid) != 0 ||
        setuid(cred.uid) != 0) {
      _exit(126);
    }
  }
  // Set after setuid: changing credentials clears it.
  if (death_signal) prctl(PR_SET_PDEATHSIG, death_signal);
  execv(argv[0], argv);
  _exit(127);
}

pid_t Fork(const std::vector<std::string>& argv, int out_fd, int death_signal) {
  if (!fs::exists(argv.at(0))) Fail("not found: " + argv[0]);
  const Credentials& cred = PostgresCredentials();
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0) Fail(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) ExecChild(cred, args.data(), out_fd, death_signal);
  return pid;
}

int ExitCode(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}

}  // namespace

void Fail(const std::string& what) {
  ADD_FAILURE() << what;
  throw std::runtime_error(what);
}

std::string BinDir() {
  const char* dir = "/usr/lib/postgresql/15/bin";
  for (const char* tool : {"initdb", "postgres"}) {
    if (!fs::exists(fs::path(dir) / tool)) {
      Fail(std::string("PostgreSQL 15 is not installed: ") + dir + "/" + tool +
           " is missing (apt-get install postgresql-15)");
    }
  }
  return dir;
}

int FreeLoopbackPort() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) Fail(std::string("socket: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(fd);
    Fail(std::string("bind: ") + std::strerror(errno));
  }
  close(fd);
  return ntohs(addr.sin_port);
}

std::string MakeOwnedTempDir(const std::string& prefix) {
  std::string pattern = (fs::temp_directory_path() / (prefix + "XXXXXX")).string();
  if (!mkdtemp(pattern.data())) Fail("mkdtemp: " + std::string(std::strerror(errno)));
  const Credentials& cred = PostgresCredentials();
  if (cred.drop && chown(pattern.c_str(), cred.uid, cred.gid) != 0) {
    Fail("chown " + pattern + ": " + std::strerror(errno));
  }
  return pattern;
}

int RunAsPostgres(const std::vector<std::string>& argv, std::string& output) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) Fail(std::string("pipe: ") + std::strerror(errno));
  pid_t pid = Fork(argv, fds[1], 0);
  close(fds[1]);
  output.clear();
  char buf[4096];
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    output.append(buf, n);
  }
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return ExitCode(status);
}

pid_t SpawnAsPostgres(const std::vector<std::string>& argv, const std::string& log, int death_signal) {
  int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) Fail("open " + log + ": " + std::strerror(errno));
  pid_t pid = Fork(argv, fd, death_signal);
  close(fd);
  return pid;
}

bool ChildAlive(pid_t pid) {
  int status = 0;
  return waitpid(pid, &status, WNOHANG) == 0;
}

void StopChild(pid_t pid, int signal, int timeout_ms) {
  kill(pid, signal);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  int status = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid || (r < 0 && errno == ECHILD)) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
}

std::string LoopbackDsn(int port, const std::string& user, const std::string& password, const std::string& extra) {
  auto quote = [](const std::string& value) {
    if (!value.empty() && value.find_first_of(" '\\") == std::string::npos) return value;
    std::string out = "'";
    for (char c : value) {
      if (c == '\'' || c == '\\') out += '\\';
      out += c;
    }
    return out + "'";
  };
  std::string dsn = "host=127.0.0.1 port=" + std::to_string(port) + " user=" + quote(user) + " dbname=postgres";
  if (!password.empty()) dsn += " password=" + quote(password);
  if (!extra.empty()) dsn += " " + extra;
  return dsn;
}

std::string Tail(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  std::string out;
  for (std::size_t i = lines.size() > 15 ? lines.size() - 15 : 0; i < lines.size(); ++i) {
    out += lines[i] + "\n";
  }
  return out;
}

}  // namespace pgproc

namespace {

using namespace pgproc;

constexpr auto kStartTimeout = std::chrono::seconds(15);

// initdb costs about a second; copying its output costs a tenth of that. The
// template lives in the temp dir, created atomically (rename) so that
// concurrent test processes can race for it.
std::string TemplateDir() {
  auto path = (fs::temp_directory_path() / ("drwatch-pg15-template-v1-uid" + std::to_string(geteuid()))).string();
  if (fs::exists(path + "/PG_VERSION")) return path;
  std::string scratch = MakeOwnedTempDir("drwatch-pg-initdb-");
  std::string output;
  int rc = RunAsPostgres({BinDir() + "/initdb", "-D", scratch + "/data", "--no-sync", "-A", "trust", "-U",
                          "postgres", "-E", "UTF8", "--locale=C", "--no-instructions"},
                         output);
  std::error_code ec;
  if (rc == 0) fs::rename(scratch + "/data", path, ec);  // fails if another process won
  fs::remove_all(scratch, ec);
  if (rc != 0) Fail("initdb failed (exit " + std::to_string(rc) + "):\n" + output);
  if (!fs::exists(path + "/PG_VERSION")) Fail("cannot create the cluster template " + path);
  return path;
}

bool PostmasterAlive(const fs::path& pid_file) {
  std::ifstream in(pid_file);
  pid_t pid = 0;
  if (!(in >> pid) || pid <= 0) return false;
  return kill(pid, 0) == 0 || errno == EPERM;
}

// A test process that crashed or was killed (ctest timeout) leaves its
// directories behind; its servers died with it (PR_SET_PDEATHSIG).
void RemoveStaleDirs() {
  static bool done = false;
  if (std::exchange(done, true)) return;
  std::error_code ec;
  auto now = fs::file_time_type::clock::now();
  for (const auto& entry : fs::directory_iterator(fs::temp_directory_path(), ec)) {
    std::string name = entry.path().filename().string();
    if (!name.starts_with("drwatch-pg-") && !name.starts_with("drwatch-pgbouncer-")) continue;
    auto modified = fs::last_write_time(entry.path(), ec);
    if (ec || now - modified < std::chrono::minutes(10)) continue;
    if (PostmasterAlive(entry.path() / "data" / "postmaster.pid")) continue;
    fs::remove_all(entry.path(), ec);
  }
}

struct PgConnDeleter {
  void operator()(PGconn* c) const { PQfinish(c); }
};
struct PgResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};

}  // namespace

PgCluster::PgCluster() : PgCluster(PgClusterOptions{}) {}

PgCluster::PgCluster(const PgClusterOptions& options) {
  RemoveStaleDirs();
  BinDir();  // fails loudly when PostgreSQL 15 is missing
  std::string tmpl = options.standby_of ? "" : TemplateDir();
  dir_ = MakeOwnedTempDir("drwatch-pg-");
  try {
    std::string output;
    if (options.standby_of) {
      BaseBackup(*options.standby_of);
    } else if (RunAsPostgres({"/bin/cp", "-a", tmpl, dir_ + "/data"}, output) != 0) {
      Fail("copying the cluster template failed: " + output);
    }
    WriteConfig();
    WriteSettings(options);
    Start();
    // A standby is read-only and has the primary's roles already.
    if (!options.standby_of) {
      Exec(std::string("CREATE ROLE ") + kPasswordUser + " LOGIN PASSWORD '" + kPassword + "'");
    }
  } catch (...) {
    if (postmaster_ > 0) StopChild(postmaster_, SIGQUIT, 5000);
    std::error_code ec;
    fs::remove_all(dir_, ec);
    throw;
  }
}

PgCluster::~PgCluster() {
  try {
    Stop();
  } catch (...) {
  }
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

void PgCluster::WriteConfig() const {
  std::ofstream hba(dir_ + "/data/pg_hba.conf", std::ios::trunc);
  hba << "local all all trust\n"
      << "host all " << kPasswordUser << " 127.0.0.1/32 scram-sha-256\n"
      << "host all all 127.0.0.1/32 trust\n"
      << "host replication all 127.0.0.1/32 trust\n";  // for pg_basebackup and standbys
  if (!hba) Fail("cannot write pg_hba.conf in " + dir_);
}

void PgCluster::WriteSettings(const PgClusterOptions& options) const {
  std::vector<std::string> lines;
  if (options.archive) {
    std::string output;
    if (RunAsPostgres({"/bin/mkdir", ArchiveDir()}, output) != 0) Fail("mkdir " + ArchiveDir() + ": " + output);
    // No quoting needed: temp dirs have no spaces or quotes.
    lines = {"archive_mode = on", "archive_command = 'cp %p " + ArchiveDir() + "/%f'"};
  }
  lines.insert(lines.end(), options.settings.begin(), options.settings.end());
  if (lines.empty()) return;
  std::ofstream conf(dir_ + "/data/postgresql.conf", std::ios::app);
  conf << "\n# PgClusterOptions\n";
  for (const auto& line : lines) conf << line << "\n";
  if (!conf) Fail("cannot append to postgresql.conf in " + dir_);
}

// -R writes standby.signal and primary_conninfo; -c fast: no wait for a
// scheduled checkpoint. A fresh cluster copies in well under a second.
void PgCluster::BaseBackup(const PgCluster& primary) {
  std::string output;
  int rc = RunAsPostgres({BinDir() + "/pg_basebackup", "-d", primary.Dsn("connect_timeout=5"), "-D",
                          dir_ + "/data", "-R", "-X", "stream", "-c", "fast", "--no-sync"},
                         output);
  if (rc != 0) Fail("pg_basebackup failed (exit " + std::to_string(rc) + "):\n" + output);
}

// Keeps the port across Stop() and Start(), so that DSNs stay valid.
void PgCluster::Start() {
  if (postmaster_ > 0) return;
  std::string log = dir_ + "/postgres.log";
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (port_ == 0 || attempt > 0) port_ = FreeLoopbackPort();
    postmaster_ = SpawnAsPostgres(
        {BinDir() + "/postgres", "-D", dir_ + "/data", "-p", std::to_string(port_), "-c",
         "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=" + dir_, "-c", "fsync=off", "-c",
         "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "autovacuum=off", "-c",
         "shared_buffers=16MB", "-c", "max_connections=60", "-c", "log_min_messages=warning"},
        log, SIGQUIT);
    WaitReady();
    if (postmaster_ > 0) return;
    if (Tail(log).find("Address already in use") == std::string::npos) break;
  }
  Fail("PostgreSQL did not start; log " + log + ":\n" + Tail(log));
}

// Leaves postmaster_ at -1 when the postmaster exited instead.
void PgCluster::WaitReady() {
  auto deadline = std::chrono::steady_clock::now() + kStartTimeout;
  std::string dsn = Dsn("connect_timeout=2");
  while (std::chrono::steady_clock::now() < deadline) {
    if (!ChildAlive(postmaster_)) {
      postmaster_ = -1;
      return;
    }
    if (PQping(dsn.c_str()) == PQPING_OK) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  StopChild(postmaster_, SIGQUIT, 5000);
  postmaster_ = -1;
  Fail("PostgreSQL did not accept connections within 15 s:\n" + Tail(dir_ + "/postgres.log"));
}

void PgCluster::Stop() {
  if (postmaster_ <= 0) return;
  Thaw();
  StopChild(postmaster_, SIGINT, 10000);  // fast shutdown
  postmaster_ = -1;
}

namespace {

std::vector<pid_t> ChildrenOf(pid_t parent) {
  std::vector<pid_t> children;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat(entry.path() / "stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    auto close_paren = text.rfind(')');  // comm may contain spaces and parentheses
    if (close_paren == std::string::npos) continue;
    std::istringstream fields(text.substr(close_paren + 1));
    std::string state;
    pid_t ppid = 0;
    fields >> state >> ppid;
    if (ppid == parent) children.push_back(std::stoi(name));
  }
  return children;
}

}  // namespace

void PgCluster::Freeze() {
  if (postmaster_ <= 0 || !frozen_.empty()) return;
  // The postmaster first, so that it cannot fork a child we would miss.
  kill(postmaster_, SIGSTOP);
  frozen_.push_back(postmaster_);
  for (pid_t child : ChildrenOf(postmaster_)) {
    kill(child, SIGSTOP);
    frozen_.push_back(child);
  }
}

void PgCluster::Thaw() {
  for (auto it = frozen_.rbegin(); it != frozen_.rend(); ++it) kill(*it, SIGCONT);
  frozen_.clear();
}

std::string PgCluster::Dsn(const std::string& extra) const { return LoopbackDsn(port_, "postgres", "", extra); }

std::string PgCluster::DsnFor(const std::string& user, const std::string& password,
                              const std::string& extra) const {
  return LoopbackDsn(port_, user, password, extra);
}

std::string PgCluster::PasswordDsn() const { return DsnFor(kPasswordUser, kPassword); }

Rows PgCluster::Query(const std::string& sql) const {
  std::unique_ptr<PGconn, PgConnDeleter> conn(PQconnectdb(Dsn("connect_timeout=5").c_str()));
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    throw std::runtime_error(std::string("PgCluster connect: ") + PQerrorMessage(conn.get()));
  }
  std::unique_ptr<PGresult, PgResultDeleter> result(PQexec(conn.get(), sql.c_str()));
  auto status = PQresultStatus(result.get());
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
    throw std::runtime_error("PgCluster query \"" + sql + "\": " + PQresultErrorMessage(result.get()));
  }
  Rows rows(PQntuples(result.get()));
  for (int r = 0; r < PQntuples(result.get()); ++r) {
    for (int c = 0; c < PQnfields(result.get()); ++c) {
      if (PQgetisnull(result.get(), r, c)) {
        rows[r].emplace_back(std::nullopt);
      } else {
        rows[r].emplace_back(PQgetvalue(result.get(), r, c));
      }
    }
  }
  return rows;
}

void PgCluster::Exec(const std::string& sql) const { Query(sql); }

int PgCluster::Backends(const std::string& application_name) const {
  return std::stoi(QueryValue("SELECT count(*) FROM pg_stat_activity WHERE application_name = '" +
                              application_name + "'"));
}

PgCluster* PgClusterTest::cluster_ = nullptr;
std::string PgClusterTest::setup_error_;

void PgClusterTest::SetUpTestSuite() {
  try {
    cluster_ = new PgCluster();
  } catch (const std::exception& e) {
    setup_error_ = e.what();
  }
}

void PgClusterTest::TearDownTestSuite() {
  delete cluster_;
  cluster_ = nullptr;
}

void PgClusterTest::SetUp() { ASSERT_NE(cluster_, nullptr) << "no PostgreSQL cluster: " << setup_error_; }

void PgClusterTest::TearDown() {
  if (cluster_) cluster_->Thaw();
  io_.restart();
  io_.run_for(std::chrono::milliseconds(50));
}

std::string UniqueAppName() {
  static int counter = 0;
  return "drwatch_test_" + std::to_string(getpid()) + "_" + std::to_string(++counter);
}

std::chrono::milliseconds Since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
}

std::optional<std::chrono::milliseconds> PollUntil(boost::asio::io_context& io,
                                                   const std::function<bool()>& done,
                                                   std::chrono::milliseconds timeout) {
  auto start = std::chrono::steady_clock::now();
  for (;;) {
    auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
    if (done()) return elapsed;
    if (elapsed >= timeout) return std::nullopt;
    io.restart();
    io.run_for(std::chrono::milliseconds(10));
  }
}

void TurnLoop(boost::asio::io_context& io, std::chrono::milliseconds duration) {
  PollUntil(io, [] { return false; }, duration);
}

LoopWatch::LoopWatch(boost::asio::io_context& io, std::chrono::milliseconds period)
    : timer_(io), period_(period), next_(std::chrono::steady_clock::now() + period) {
  Arm();
}

LoopWatch::~LoopWatch() { *alive_ = false; }

void LoopWatch::Arm() {
  timer_.expires_at(next_);
  timer_.async_wait([this, alive = alive_](boost::system::error_code ec) {
    if (ec || !*alive) return;
    auto late = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - next_);
    worst_ = std::max(worst_, late);
    ++ticks_;
    next_ += period_;
    Arm();
  });
}

LoopLag MeasureLoopLag(boost::asio::io_context& io, const std::function<void()>& work,
                       std::chrono::milliseconds idle_for, std::chrono::milliseconds period) {
  LoopLag lag{};
  {
    LoopWatch idle(io, period);
    TurnLoop(io, idle_for);
    lag.idle = idle.worst_lateness();
  }
  LoopWatch busy(io, period);
  work();
  lag.busy = busy.worst_lateness();
  return lag;
}

std::string PgCluster::QueryValue(const std::string& sql) const {
  Rows rows = Query(sql);
  if (rows.empty() || rows[0].empty() || !rows[0][0]) return "";
  return *rows[0][0];
}

}  // namespace drwatch::test
