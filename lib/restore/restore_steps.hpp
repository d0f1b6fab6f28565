#pragma once
// Steps shared by restore drills and `restore latest`: timing each step for
// the human report, quoting names into SQL, restoring with pg_restore and
// proving tables restored against the manifest's row counts.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/blocking.hpp"
#include "pg/connection.hpp"
#include "pg/quote.hpp"
#include "pg/tools.hpp"

namespace drwatch::restore {

/// Each step's name and time, printed as the run's details.
class StepLog {
 public:
  StepLog() : start_(std::chrono::steady_clock::now()), last_(start_) {}
  /// Records `name` as taking the time since the previous step ended.
  double Done(std::string name);
  /// Seconds since the log was created (the start of the run).
  double Elapsed() const;
  /// Adds a free line (a system's measured RTO next to its target).
  void Note(std::string line) { lines_.push_back(std::move(line)); }
  /// One line per step: "  download data.dump     1.234s".
  std::string Text() const;
  /// The line of the last step or note.
  const std::string& Last() const { return lines_.back(); }

 private:
  std::chrono::steady_clock::time_point start_, last_;
  std::vector<std::string> lines_;
};

using pg::QuoteIdent;
using pg::QuoteLiteral;
/// "\"auth\".\"users\"" for "auth.users".
std::string QuoteTable(std::string_view qualified);
/// "1.234s".
std::string Seconds(double s);

/// Checks that `table` ("auth.users") exists in the database `conn` is
/// connected to and, when `rows` is set, has that many rows. Returns "" or
/// one line: "auth.users: missing after restore", "auth.users: 999 rows
/// after restore, the manifest says 1000".
boost::asio::awaitable<std::string> VerifyTable(pg::Connection& conn, std::string table,
                                                std::optional<std::int64_t> rows);

/// Runs `verify` (SQL that must return one row with true) read-only within
/// `timeout`. Returns "" or "verify[1]: returned false" / its error.
boost::asio::awaitable<std::string> VerifyQuery(pg::Connection& conn, std::string sql, std::size_t index,
                                                std::chrono::milliseconds timeout);

/// pg_restore of `dump` into the database `env` connects to; `extra` adds
/// options (-L list, -j N). Stops at the first error when `stop_on_error`.
/// Returns "" or the error line.
boost::asio::awaitable<std::string> PgRestore(boost::asio::any_io_executor executor, std::string pg_restore,
                                              pg::PgEnv env, std::vector<std::string> extra, std::string dump,
                                              bool stop_on_error = true);

/// Writes `text` to the local file `path` on the pool. Returns "" or why not.
boost::asio::awaitable<std::string> WriteLocalFile(BlockingPool& pool, std::string path, std::string text);

}  // namespace drwatch::restore
