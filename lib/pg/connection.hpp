#pragma once
// Asynchronous libpq on the event loop. The connection handshake and every
// query are driven by PQconnectPoll / PQsendQuery / PQflush / PQconsumeInput /
// PQisBusy / PQgetResult, waiting for readiness of PQsocket() with Asio.
// Calls that may block (PQconnectStart, PQfinish, PQcancel) run off the loop.

#include <libpq-fe.h>

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/blocking.hpp"

namespace drwatch::pg {

/// The rows of the last result set a query string returned, as text.
struct QueryResult {
  std::string error;  // empty on success; the server's or libpq's message, one line
  std::string sqlstate;  // the server's SQLSTATE of the error ("42501"), else empty
  std::vector<std::string> columns;
  std::vector<Oid> column_types;
  std::vector<std::vector<std::optional<std::string>>> rows;  // nullopt is SQL NULL
  bool ok() const { return error.empty(); }
};

/// Wraps a query so that it is read-only, bounded server-side, safe through
/// transaction pooling (PgBouncer, Supavisor) and never silently filtered by
/// row-level security (a table whose rows RLS would hide is an error instead):
/// "BEGIN READ ONLY; SET LOCAL statement_timeout = '<ms>ms';
///  SET LOCAL row_security = off; <query>; COMMIT".
/// Trailing semicolons and white space of `query` are dropped.
std::string WrapReadOnly(std::string_view query, std::chrono::milliseconds timeout);

/// A numeric text value as libpq returns it ("1.5", "42"); nullopt for SQL
/// NULL or anything else.
std::optional<double> NumberOf(const std::optional<std::string>& text);

/// `query` without trailing semicolons and white space, so it can be embedded.
std::string_view TrimQuery(std::string_view query);

/// Extra connection parameters drwatchd always sets (application_name=drwatchd).
/// Returns an error text when conninfo does not parse (secrets never in it).
std::string ValidateConninfo(const std::string& conninfo);

/// Returns the password in `conninfo`, if any (for redaction).
std::optional<std::string> PasswordOf(const std::string& conninfo);

/// One libpq connection driven asynchronously. Not thread-safe: use on the loop.
class Connection {
 public:
  /// Opens a connection. Cancel the awaiting coroutine to give up; the
  /// half-open connection is then finished off the loop. On failure returns
  /// nullptr and sets `error` (libpq's message, first line, no secrets).
  static boost::asio::awaitable<std::unique_ptr<Connection>> Connect(BlockingPool& pool,
                                                                     std::string conninfo,
                                                                     std::string& error);

  /// Sends `sql` with the simple query protocol and collects the last result
  /// set. After an error it rolls back an open transaction. PostgreSQL's
  /// "query would be affected by row-level security policy" becomes
  /// "row-level security hides rows of SCHEMA.TABLE from role ROLE: grant it
  /// BYPASSRLS (…)". If the awaiting
  /// coroutine is cancelled mid-query, the connection is marked broken; its
  /// destruction then cancels the query server-side.
  boost::asio::awaitable<QueryResult> Execute(std::string sql);
  /// As Execute, but a transaction the query opened and left healthy stays
  /// open for the next call (a snapshot exported for pg_dump --snapshot must
  /// outlive the query that exported it). A failed transaction is still
  /// rolled back.
  boost::asio::awaitable<QueryResult> ExecuteInTransaction(std::string sql);

  /// False after a connection-level failure or a cancelled query: drop it.
  bool healthy() const;
  /// server_version as the server reports it, e.g. "15.18 (Debian 15.18-0+deb12u1)".
  std::string ServerVersion() const;

  /// Releases the socket from Asio, then cancels any query in flight
  /// (PQcancel on a thread of its own: it blocks while the server is frozen)
  /// and finishes the connection off the loop.
  ~Connection();

  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  struct Impl;

 private:
  explicit Connection(std::unique_ptr<Impl> impl);
  boost::asio::awaitable<QueryResult> Run(std::string sql, bool keep_transaction);
  boost::asio::awaitable<std::string> ExplainRowSecurity(std::string error);
  std::unique_ptr<Impl> impl_;
};

}  // namespace drwatch::pg
