#include "pg/connection.hpp"

#include <charconv>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <atomic>
#include <system_error>
#include <thread>

#include "pg/host_addresses.hpp"

namespace drwatch::pg {
namespace asio = boost::asio;

namespace {

constexpr char kCancelled[] = "cancelled";

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
// Detached PQcancel threads allowed at once. Each blocks until the server
// answers, which a frozen server never does; beyond the cap the query is left
// to its statement_timeout.
constexpr int kMaxCancelThreads = 8;
std::atomic<int> g_cancel_threads{0};

enum class Outcome { kDone, kCancelled, kBroken };

// After a cancellation any further co_await throws, even when the last wait
// completed before the cancellation arrived: check before every co_await.
// (co_await appears only as a whole statement or initializer here: GCC 12
// miscompiles it inside conditions and call arguments.)
bool Cancelled(const asio::cancellation_state& state) {
  return state.cancelled() != asio::cancellation_type::none;
}

std::string OneLine(std::string_view text) {
  text = text.substr(0, text.find('\n'));
  while (!text.empty() && (text.back() == ' ' || text.back() == '\r' || text.back() == '\t')) {
    text.remove_suffix(1);
  }
  return std::string(text);
}

std::string ConnError(const PGconn* conn) {
  std::string text = conn ? OneLine(PQerrorMessage(conn)) : std::string();
  return text.empty() ? "connection failed" : text;
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

// libpq's connection errors name host, port and user but never the password;
// scrubbing it anyway costs nothing.
std::string Scrub(std::string text, const std::string& conninfo) {
  auto password = PasswordOf(conninfo);
  if (!password || password->size() < 3) return text;
  for (auto pos = text.find(*password); pos != std::string::npos; pos = text.find(*password, pos)) {
    text.replace(pos, password->size(), "<redacted>");
  }
  return text;
}

void IgnoreNotice(void*, const PGresult*) {}

struct Started {
  PGconn* conn = nullptr;
  std::string error;  // no host name resolved
};

// Runs on the blocking pool: PQconnectStartParams reads .pgpass and resolves
// the first host name; the other hosts' names are resolved here too, so
// PQconnectPoll, on the loop, never waits for DNS (see host_addresses.hpp).
Started StartConnect(const std::string& conninfo) {
  Started out;
  std::string pinned = PinHostAddresses(conninfo, out.error);
  if (!out.error.empty()) return out;
  // fallback_application_name applies only when neither the DSN nor
  // PGAPPNAME sets application_name; expand_dbname=1 expands the DSN.
  const char* keys[] = {"fallback_application_name", "dbname", nullptr};
  const char* values[] = {"drwatchd", pinned.c_str(), nullptr};
  out.conn = PQconnectStartParams(keys, values, 1);
  if (out.conn) PQsetNoticeReceiver(out.conn, &IgnoreNotice, nullptr);
  return out;
}

// PQcancel blocks until the server answers, forever if it is frozen, so it
// gets a thread of its own rather than one of the shared pool's.
bool CancelAndFinishDetached(PGconn* conn) {
  PGcancel* cancel = PQgetCancel(conn);
  if (!cancel) return false;
  if (g_cancel_threads.fetch_add(1) >= kMaxCancelThreads) {
    g_cancel_threads.fetch_sub(1);
    PQfreeCancel(cancel);
    return false;
  }
  try {
    std::thread([conn, cancel] {
      char error[256];
      PQcancel(cancel, error, sizeof error);
      PQfreeCancel(cancel);
      PQfinish(conn);
      g_cancel_threads.fetch_sub(1);
    }).detach();
    return true;
  } catch (const std::system_error&) {
    g_cancel_threads.fetch_sub(1);
    PQfreeCancel(cancel);
    return false;
  }
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

struct Connection::Impl {
  Impl(asio::any_io_executor executor, BlockingPool& pool, PGconn* conn)
      : pool(pool), conn(conn), socket(executor) {}
  ~Impl();

  asio::awaitable<std::string> Handshake();
  asio::awaitable<Outcome> Run(const char* sql, QueryResult& out);
  asio::awaitable<Outcome> Wait(asio::posix::descriptor_base::wait_type type);
  Outcome Broken(QueryResult& out);

  BlockingPool& pool;
  PGconn* conn;
  asio::posix::stream_descriptor socket;  // borrows PQsocket(): released, never closed
  bool broken = false;
  bool query_in_flight = false;
};

Connection::Impl::~Impl() {
  // Asio must never close libpq's descriptor: PQfinish does.
  if (socket.is_open()) socket.release();
  PGconn* c = std::exchange(conn, nullptr);
  if (!c) return;
  if (query_in_flight && CancelAndFinishDetached(c)) return;
  pool.Post([c] { PQfinish(c); });
}

// libpq may replace its socket on any PQconnectPoll (next host, SSL or GSS
// fallback), and a closed descriptor's number is soon reused, which silently
// drops its epoll registration. So each wait re-reads PQsocket() and
// registers it afresh.
asio::awaitable<Outcome> Connection::Impl::Wait(asio::posix::descriptor_base::wait_type type) {
  if (socket.is_open()) socket.release();
  int fd = PQsocket(conn);
  if (fd < 0) co_return Outcome::kBroken;
  boost::system::error_code ec;
  socket.assign(fd, ec);
  if (ec) co_return Outcome::kBroken;
  auto [waited] = co_await socket.async_wait(type, asio::as_tuple(asio::use_awaitable));
  if (waited == asio::error::operation_aborted) co_return Outcome::kCancelled;
  co_return waited ? Outcome::kBroken : Outcome::kDone;
}

Outcome Connection::Impl::Broken(QueryResult& out) {
  broken = true;
  if (out.error.empty()) out.error = ConnError(conn);
  return Outcome::kBroken;
}

asio::awaitable<std::string> Connection::Impl::Handshake() {
  // Before the first PQconnectPoll the socket is to be treated as writable-awaited.
  PostgresPollingStatusType status = PGRES_POLLING_WRITING;
  auto cancellation = co_await asio::this_coro::cancellation_state;
  for (;;) {
    if (status == PGRES_POLLING_FAILED || PQstatus(conn) == CONNECTION_BAD) co_return ConnError(conn);
    if (status == PGRES_POLLING_OK) co_return std::string();
    if (Cancelled(cancellation)) co_return kCancelled;
    auto direction = status == PGRES_POLLING_READING ? asio::posix::descriptor_base::wait_read
                                                     : asio::posix::descriptor_base::wait_write;
    Outcome waited = co_await Wait(direction);
    if (waited == Outcome::kCancelled) co_return kCancelled;
    if (waited == Outcome::kBroken) co_return "connection failed: socket error";
    status = PQconnectPoll(conn);
  }
}

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

asio::awaitable<std::unique_ptr<Connection>> Connection::Connect(BlockingPool& pool,
                                                                 std::string conninfo,
                                                                 std::string& error) {
  if (auto invalid = ValidateConninfo(conninfo); !invalid.empty()) {
    error = "invalid connection string: " + invalid;
    co_return nullptr;
  }
  auto executor = co_await asio::this_coro::executor;
  auto cancellation = co_await asio::this_coro::cancellation_state;
  if (Cancelled(cancellation)) {
    error = kCancelled;
    co_return nullptr;
  }
  // Named, not temporaries: GCC 12 destroys a lambda temporary in a co_await
  // expression twice.
  auto start = [conninfo] { return StartConnect(conninfo); };
  auto discard = [](Started s) { PQfinish(s.conn); };
  auto started = co_await RunBlocking(pool, std::move(start), discard);
  if (!started) {
    error = kCancelled;
    co_return nullptr;
  }
  if (!started->error.empty()) {
    error = Scrub(std::move(started->error), conninfo);
    co_return nullptr;
  }
  if (!started->conn) {
    error = "out of memory";
    co_return nullptr;
  }
  auto impl = std::make_unique<Impl>(executor, pool, started->conn);
  if (Cancelled(cancellation)) {
    error = kCancelled;
    co_return nullptr;
  }
  std::string failure = co_await impl->Handshake();
  if (!failure.empty()) {
    error = Scrub(std::move(failure), conninfo);
    co_return nullptr;
  }
  PQsetnonblocking(impl->conn, 1);
  co_return std::unique_ptr<Connection>(new Connection(std::move(impl)));
}

Connection::Connection(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Connection::~Connection() = default;

bool Connection::healthy() const { return !impl_->broken && !impl_->query_in_flight; }

std::string Connection::ServerVersion() const {
  const char* version = PQparameterStatus(impl_->conn, "server_version");
  return version ? version : "";
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

namespace {

// True when every quoted part of `text` is a single character ("=", "]"):
// punctuation in libpq's message rather than a piece of the string.
bool QuotesOnlyPunctuation(std::string_view text) {
  for (auto open = text.find('"'); open != std::string_view::npos; open = text.find('"', open + 3)) {
    if (open + 2 >= text.size() || text[open + 2] != '"') return false;
  }
  return true;
}

// PQconninfoParse's messages may quote parts of the string (a URI whole, a
// word that could be a password): keep only what cannot carry a secret.
std::string SanitizeParseError(std::string_view message) {
  std::string line = OneLine(message);
  if (line.starts_with("missing \"=\" after")) return "missing \"=\" after a keyword";
  if (line.starts_with("invalid connection option")) return "invalid connection option (not a libpq keyword)";
  if (line.starts_with("unexpected character")) return "unexpected character in URI";
  // The other URI messages end in ': "<the URI or part of it>"'.
  if (auto pos = line.find(": \""); pos != std::string::npos) line.resize(pos);
  if (line.empty() || !QuotesOnlyPunctuation(line)) return "cannot parse the connection string";
  return line;
}

}  // namespace

std::string ValidateConninfo(const std::string& conninfo) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &error);
  if (options) {
    PQconninfoFree(options);
    return "";
  }
  std::string message = error ? SanitizeParseError(error) : "out of memory";
  if (error) PQfreemem(error);
  return message.empty() ? "cannot parse the connection string" : message;
}

std::optional<std::string> PasswordOf(const std::string& conninfo) {
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), nullptr);
  if (!options) return std::nullopt;
  std::optional<std::string> password;
  for (auto* option = options; option->keyword; ++option) {
    if (std::string_view(option->keyword) == "password" && option->val && *option->val) {
      password = option->val;
    }
  }
  PQconninfoFree(options);
  return password;
}

}  // namespace drwatch::pg
