// Running queries on a Connection (PQsendQuery, PQflush, PQconsumeInput,
// PQisBusy, PQgetResult) and the query text helpers.
#include <charconv>

#include <boost/asio/this_coro.hpp>
#include <memory>

#include "pg/connection_internal.hpp"

namespace drwatch::pg {
namespace asio = boost::asio;
using namespace connection_detail;

namespace {

// With row_security = off, reading a table whose rows RLS would filter fails
// with 42501 "query would be affected by row-level security policy for table
// "t"". The message names neither the schema nor the role: this finds both
// ($1: the table's name as a literal). Among tables of that name with RLS,
// the one the search_path sees wins.
constexpr char kRowSecurityWhoSql[] =
    "SELECT current_user::text, (SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c "
    "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relname = $1 AND c.relrowsecurity "
    "ORDER BY pg_table_is_visible(c.oid) DESC, n.nspname LIMIT 1)";
constexpr std::chrono::milliseconds kRowSecurityWhoTimeout{2000};

bool IsRowSecurityError(const QueryResult& r) {
  return r.sqlstate == "42501" && r.error.find("row-level security") != std::string::npos;
}

// The text between the first pair of double quotes, or "".
std::string FirstQuoted(std::string_view text) {
  auto open = text.find('"');
  auto close = open == std::string_view::npos ? open : text.find('"', open + 1);
  if (close == std::string_view::npos) return "";
  return std::string(text.substr(open + 1, close - open - 1));
}

std::string ResultError(const PGresult* result) {
  const char* primary = PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY);
  if (primary && *primary) return OneLine(primary);
  std::string_view text = PQresultErrorMessage(result);
  for (std::string_view prefix : {"ERROR:  ", "FATAL:  ", "PANIC:  "}) {
    if (text.starts_with(prefix)) text.remove_prefix(prefix.size());
  }
  std::string line = OneLine(text);
  return line.empty() ? "query failed" : line;
}

void TakeRows(const PGresult* result, QueryResult& out) {
  int columns = PQnfields(result);
  int rows = PQntuples(result);
  out.columns.clear();
  out.column_types.clear();
  out.rows.assign(rows, {});
  for (int c = 0; c < columns; ++c) {
    out.columns.emplace_back(PQfname(result, c));
    out.column_types.push_back(PQftype(result, c));
  }
  for (int r = 0; r < rows; ++r) {
    auto& row = out.rows[r];
    row.reserve(columns);
    for (int c = 0; c < columns; ++c) {
      if (PQgetisnull(result, r, c)) {
        row.emplace_back(std::nullopt);
      } else {
        row.emplace_back(std::string(PQgetvalue(result, r, c), PQgetlength(result, r, c)));
      }
    }
  }
}

// Folds one result into `out`; false for a result this client cannot drive
// (COPY), which leaves the connection unusable.
bool Absorb(const PGresult* result, QueryResult& out) {
  switch (PQresultStatus(result)) {
    case PGRES_TUPLES_OK:
      TakeRows(result, out);
      return true;
    case PGRES_FATAL_ERROR:
    case PGRES_BAD_RESPONSE:
      if (out.error.empty()) {
        out.error = ResultError(result);
        const char* sqlstate = PQresultErrorField(result, PG_DIAG_SQLSTATE);
        out.sqlstate = sqlstate ? sqlstate : "";
      }
      return true;
    case PGRES_COPY_IN:
    case PGRES_COPY_OUT:
    case PGRES_COPY_BOTH:
      if (out.error.empty()) out.error = "COPY is not supported";
      return false;
    default:
      return true;
  }
}

}  // namespace

asio::awaitable<Outcome> Connection::Impl::Run(const char* sql, QueryResult& out) {
  auto cancellation = co_await asio::this_coro::cancellation_state;
  if (!PQsendQuery(conn, sql)) co_return Broken(out);
  query_in_flight = true;
  for (int flushed; (flushed = PQflush(conn)) != 0;) {
    if (flushed < 0) co_return Broken(out);
    if (Cancelled(cancellation)) co_return Outcome::kCancelled;
    Outcome waited = co_await Wait(asio::posix::descriptor_base::wait_write);
    if (waited != Outcome::kDone) co_return waited == Outcome::kBroken ? Broken(out) : waited;
  }
  for (;;) {
    while (PQisBusy(conn)) {
      if (Cancelled(cancellation)) co_return Outcome::kCancelled;
      Outcome waited = co_await Wait(asio::posix::descriptor_base::wait_read);
      if (waited != Outcome::kDone) co_return waited == Outcome::kBroken ? Broken(out) : waited;
      if (!PQconsumeInput(conn)) co_return Broken(out);
    }
    std::unique_ptr<PGresult, decltype(&PQclear)> result(PQgetResult(conn), &PQclear);
    if (!result) break;
    if (!Absorb(result.get(), out)) co_return Broken(out);
  }
  query_in_flight = false;
  co_return Outcome::kDone;
}

asio::awaitable<QueryResult> Connection::Execute(std::string sql) { return Run(std::move(sql), false); }

asio::awaitable<QueryResult> Connection::ExecuteInTransaction(std::string sql) { return Run(std::move(sql), true); }

asio::awaitable<QueryResult> Connection::Run(std::string sql, bool keep_transaction) {
  Impl& d = *impl_;
  QueryResult out;
  if (!healthy()) {
    out.error = "connection is not usable";
    co_return out;
  }
  auto cancellation = co_await asio::this_coro::cancellation_state;
  Outcome outcome = Outcome::kCancelled;
  if (!Cancelled(cancellation)) {
    Outcome ran = co_await d.Run(sql.c_str(), out);
    outcome = ran;
  }
  // Leave the connection idle for the next query: an error inside
  // "BEGIN ...; COMMIT" (or a query that opened a transaction) leaves one open.
  bool kept = keep_transaction && out.ok() && PQtransactionStatus(d.conn) == PQTRANS_INTRANS;
  if (outcome == Outcome::kDone && PQtransactionStatus(d.conn) != PQTRANS_IDLE && !kept) {
    QueryResult ignored;
    outcome = Outcome::kCancelled;
    if (!Cancelled(cancellation)) {
      Outcome rolled_back = co_await d.Run("ROLLBACK", ignored);
      outcome = rolled_back;
    }
    if (outcome == Outcome::kDone && PQtransactionStatus(d.conn) != PQTRANS_IDLE) outcome = Outcome::kBroken;
  }
  if (outcome != Outcome::kDone) d.broken = true;
  if (outcome == Outcome::kCancelled && out.error.empty()) out.error = "query cancelled";
  if (outcome == Outcome::kBroken && out.error.empty()) out.error = ConnError(d.conn);
  if (outcome == Outcome::kDone && IsRowSecurityError(out)) {
    std::string explained = co_await ExplainRowSecurity(out.error);
    out.error = std::move(explained);
  }
  if (!out.ok()) {
    out.columns.clear();
    out.column_types.clear();
    out.rows.clear();
  }
  co_return out;
}

asio::awaitable<std::string> Connection::ExplainRowSecurity(std::string error) {
  std::string table = FirstQuoted(error);
  if (table.empty()) co_return error;
  std::unique_ptr<char, decltype(&PQfreemem)> literal(PQescapeLiteral(impl_->conn, table.data(), table.size()),
                                                      &PQfreemem);
  if (!literal) co_return error;
  std::string sql = kRowSecurityWhoSql;
  sql.replace(sql.find("$1"), 2, literal.get());
  QueryResult who = co_await Run(WrapReadOnly(sql, kRowSecurityWhoTimeout), false);
  if (!who.ok() || who.rows.size() != 1 || !who.rows[0][0]) co_return error;
  co_return "row-level security hides rows of " + who.rows[0][1].value_or(table) + " from role " +
      *who.rows[0][0] + ": grant it BYPASSRLS (checks run with row_security = off, so a policy is not enough)";
}

std::optional<double> NumberOf(const std::optional<std::string>& text) {
  if (!text) return std::nullopt;
  double value = 0;
  auto [ptr, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc() || ptr != text->data() + text->size()) return std::nullopt;
  return value;
}

std::string_view TrimQuery(std::string_view query) {
  while (!query.empty()) {
    char c = query.back();
    if (c != ';' && c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != '\v') break;
    query.remove_suffix(1);
  }
  return query;
}

std::string WrapReadOnly(std::string_view query, std::chrono::milliseconds timeout) {
  // statement_timeout = 0 would mean no limit at all.
  auto ms = std::max<std::chrono::milliseconds::rep>(timeout.count(), 1);
  // row_security = off: a check must fail when RLS hides rows from its role,
  // not report "no rows" (which reads as "no activity").
  std::string sql = "BEGIN READ ONLY; SET LOCAL statement_timeout = '" + std::to_string(ms) +
                    "ms'; SET LOCAL row_security = off; ";
  auto body = TrimQuery(query);
  sql += body;
  // A trailing "-- comment" would swallow "; COMMIT": end its line first.
  if (body.find("--") != std::string_view::npos) sql += '\n';
  sql += "; COMMIT";
  return sql;
}

}  // namespace drwatch::pg
