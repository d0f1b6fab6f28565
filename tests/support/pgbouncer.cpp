#include "support/pgbouncer.hpp"

#include <libpq-fe.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

namespace drwatch::test {
namespace fs = std::filesystem;
using namespace pgproc;

namespace {

constexpr char kBinary[] = "/usr/sbin/pgbouncer";
constexpr auto kStartTimeout = std::chrono::seconds(10);

// A query, not just a TCP connect: pgbouncer accepts before it can reach the server.
bool Answers(const std::string& dsn) {
  PGconn* conn = PQconnectdb(dsn.c_str());
  bool ok = false;
  if (PQstatus(conn) == CONNECTION_OK) {
    PGresult* result = PQexec(conn, "SELECT 1");
    ok = PQresultStatus(result) == PGRES_TUPLES_OK;
    PQclear(result);
  }
  PQfinish(conn);
  return ok;
}

}  // namespace

PgBouncer::PgBouncer(const PgCluster& cluster) {
  if (!fs::exists(kBinary)) Fail(std::string("pgbouncer is not installed: ") + kBinary + " is missing");
  dir_ = MakeOwnedTempDir("drwatch-pgbouncer-");
  std::string log = dir_ + "/pgbouncer.log";
  try {
    // Foreground, not -d: its pid is ours to stop, and a daemonized pgbouncer
    // exits 0 without a word when it cannot open its log file.
    for (int attempt = 0; attempt < 3 && pid_ < 0; ++attempt) {
      port_ = FreeLoopbackPort();
      WriteConfig(cluster);
      pid_ = SpawnAsPostgres({kBinary, dir_ + "/pgbouncer.ini"}, log, SIGTERM);
      WaitReady();
      if (pid_ < 0 && Tail(log).find("Address already in use") == std::string::npos) break;
    }
    if (pid_ < 0) Fail("pgbouncer did not start; log " + log + ":\n" + Tail(log));
  } catch (...) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
    throw;
  }
}

PgBouncer::~PgBouncer() {
  if (pid_ > 0) StopChild(pid_, SIGTERM, 5000);  // SIGTERM: immediate shutdown
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

void PgBouncer::WriteConfig(const PgCluster& cluster) const {
  std::ofstream ini(dir_ + "/pgbouncer.ini", std::ios::trunc);
  ini << "[databases]\n"
      << "* = host=127.0.0.1 port=" << cluster.Port() << "\n"
      << "[pgbouncer]\n"
      << "listen_addr = 127.0.0.1\n"
      << "listen_port = " << port_ << "\n"
      << "unix_socket_dir =\n"
      << "auth_type = trust\n"
      << "auth_file = " << dir_ << "/userlist.txt\n"
      << "pool_mode = transaction\n"
      << "max_client_conn = 200\n"
      << "default_pool_size = 4\n"
      << "ignore_startup_parameters = extra_float_digits\n";
  // trust still needs each user listed; the password is what pgbouncer
  // presents to PostgreSQL for the scram-authenticated role.
  std::ofstream users(dir_ + "/userlist.txt", std::ios::trunc);
  users << "\"postgres\" \"\"\n"
        << "\"" << PgCluster::kPasswordUser << "\" \"" << PgCluster::kPassword << "\"\n";
  if (!ini || !users) Fail("cannot write the pgbouncer configuration in " + dir_);
}

// Leaves pid_ at -1 when pgbouncer exited instead.
void PgBouncer::WaitReady() {
  auto deadline = std::chrono::steady_clock::now() + kStartTimeout;
  std::string dsn = Dsn("connect_timeout=2");
  while (std::chrono::steady_clock::now() < deadline) {
    if (!ChildAlive(pid_)) {
      pid_ = -1;
      return;
    }
    if (Answers(dsn)) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  StopChild(pid_, SIGKILL, 1000);
  pid_ = -1;
}

std::string PgBouncer::Dsn(const std::string& extra) const { return LoopbackDsn(port_, "postgres", "", extra); }

std::string PgBouncer::DsnFor(const std::string& user, const std::string& password,
                              const std::string& extra) const {
  return LoopbackDsn(port_, user, password, extra);
}

}  // namespace drwatch::test
