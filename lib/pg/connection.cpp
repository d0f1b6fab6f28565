// Connecting (PQconnectStart off the loop, PQconnectPoll on it), finishing
// and cancelling, and checking connection strings; queries are in query.cpp.
#include "pg/connection.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <atomic>
#include <system_error>
#include <thread>

#include "pg/connection_internal.hpp"
#include "pg/host_addresses.hpp"

namespace drwatch::pg {
namespace asio = boost::asio;
using namespace connection_detail;

namespace {

// Detached PQcancel threads allowed at once. Each blocks until the server
// answers, which a frozen server never does; beyond the cap the query is left
// to its statement_timeout.
constexpr int kMaxCancelThreads = 8;
std::atomic<int> g_cancel_threads{0};

}  // namespace

std::string connection_detail::OneLine(std::string_view text) {
  text = text.substr(0, text.find('\n'));
  while (!text.empty() && (text.back() == ' ' || text.back() == '\r' || text.back() == '\t')) {
    text.remove_suffix(1);
  }
  return std::string(text);
}

std::string connection_detail::ConnError(const PGconn* conn) {
  std::string text = conn ? OneLine(PQerrorMessage(conn)) : std::string();
  return text.empty() ? "connection failed" : text;
}

namespace {

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

}  // namespace

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
