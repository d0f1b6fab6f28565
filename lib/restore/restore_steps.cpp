#include "restore/restore_steps.hpp"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>

namespace drwatch::restore {
namespace {

namespace asio = boost::asio;

}  // namespace

double StepLog::Done(std::string name) {
  auto now = std::chrono::steady_clock::now();
  double s = std::chrono::duration<double>(now - last_).count();
  last_ = now;
  std::string line = "  " + name;
  if (line.size() < 42) line.resize(42, ' ');
  lines_.push_back(line + " " + Seconds(s));
  return s;
}

double StepLog::Elapsed() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

std::string StepLog::Text() const {
  std::string out;
  for (const auto& l : lines_) out += l + "\n";
  return out;
}

std::string Seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3fs", s);
  return buf;
}

std::string QuoteTable(std::string_view qualified) {
  auto dot = qualified.find('.');
  if (dot == std::string_view::npos) return QuoteIdent("public") + "." + QuoteIdent(qualified);
  return QuoteIdent(qualified.substr(0, dot)) + "." + QuoteIdent(qualified.substr(dot + 1));
}

asio::awaitable<std::string> VerifyTable(pg::Connection& conn, std::string table, std::optional<std::int64_t> rows) {
  auto exists = co_await conn.Execute("SELECT to_regclass(" + QuoteLiteral(QuoteTable(table)) + ") IS NOT NULL");
  if (!exists.ok()) co_return table + ": " + exists.error;
  if (exists.rows.empty() || exists.rows[0][0] != "t") co_return table + ": missing after restore";
  if (!rows) co_return std::string();
  auto count = co_await conn.Execute("SELECT count(*) FROM " + QuoteTable(table));
  if (!count.ok()) co_return table + ": " + count.error;
  std::int64_t got = count.rows.empty() || !count.rows[0][0] ? -1 : std::stoll(*count.rows[0][0]);
  if (got != *rows) {
    co_return table + ": " + std::to_string(got) + " rows after restore, the manifest says " + std::to_string(*rows);
  }
  co_return std::string();
}

asio::awaitable<std::string> VerifyQuery(pg::Connection& conn, std::string sql, std::size_t index,
                                         std::chrono::milliseconds timeout) {
  std::string name = "verify[" + std::to_string(index) + "]";
  auto r = co_await conn.Execute(pg::WrapReadOnly(sql, std::max(timeout, std::chrono::milliseconds(1))));
  if (!r.ok()) co_return name + ": " + r.error;
  if (r.rows.size() != 1 || r.rows[0].size() != 1) {
    co_return name + ": expected one row with one boolean, got " + std::to_string(r.rows.size()) + " rows";
  }
  if (r.rows[0][0] != "t") co_return name + ": returned " + r.rows[0][0].value_or("NULL");
  co_return std::string();
}

asio::awaitable<std::string> PgRestore(asio::any_io_executor executor, std::string pg_restore, pg::PgEnv env,
                                       std::vector<std::string> extra, std::string dump, bool stop_on_error) {
  // The connection comes from the environment; "-d" only says "restore into
  // a database" (not a script on stdout), naming nothing secret.
  std::vector<std::string> argv{pg_restore, "-d", "application_name=drwatchd"};
  if (stop_on_error) argv.push_back("--exit-on-error");
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.push_back(dump);
  auto result = co_await pg::RunTool(executor, pg::ToolSpec(std::move(argv), env), 64 * 1024);
  co_return result.error;
}

asio::awaitable<std::string> WriteLocalFile(BlockingPool& pool, std::string path, std::string text) {
  auto write = [path, text] {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f << text;
    f.close();
    return f ? std::string() : "write " + path + ": " + std::strerror(errno);
  };
  auto ignore = [](std::string) {};
  auto done = co_await RunBlocking(pool, write, ignore);
  co_return done.value_or("cancelled");
}

}  // namespace drwatch::restore
