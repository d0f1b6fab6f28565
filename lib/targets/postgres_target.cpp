#include "targets/postgres_target.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <list>

#include "common/redact.hpp"
#include "config/node_reader.hpp"

namespace drwatch::targets {

std::shared_ptr<TargetSpec> ParsePostgresTarget(config::NodeReader& node) {
  auto dsn = node.String("dsn", true);
  if (!dsn) return nullptr;
  if (auto password = pg::PasswordOf(*dsn)) Redactor::Global().Add(*password);
  if (auto error = pg::ValidateConninfo(*dsn); !error.empty()) {
    node.Error("dsn", "invalid connection string: " + error);
    return nullptr;
  }
  auto spec = std::make_shared<PostgresTargetSpec>();
  spec->conninfo = *dsn;
  return spec;
}

std::shared_ptr<TargetRuntime> PostgresTargetSpec::MakeRuntime(
    boost::asio::any_io_executor executor, BlockingPool& pool) const {
  return std::make_shared<PostgresTarget>(executor, pool, conninfo);
}

namespace {
namespace asio = boost::asio;

bool Cancelled(const asio::cancellation_state& state) {
  return state.cancelled() != asio::cancellation_type::none;
}

pg::QueryResult Failed(std::string error) {
  pg::QueryResult result;
  result.error = std::move(error);
  return result;
}

}  // namespace

// Everything a Query coroutine touches: it holds a shared_ptr, so the state
// outlives the PostgresTarget while a query is still running. Loop-only.
struct PostgresTarget::State {
  State(BlockingPool& pool, std::string conninfo) : pool(pool), conninfo(std::move(conninfo)) {}

  // One waiter of the FIFO lock. Release() hands the lock over by setting
  // `granted` and waking the timer; a waiter woken by its own cancellation
  // but granted meanwhile owns the lock all the same and must release it.
  struct Waiter {
    explicit Waiter(asio::any_io_executor executor) : timer(executor) {}
    Timer timer;
    bool granted = false;
  };

  struct Lease {
    explicit Lease(State& state) : state(state) {}
    ~Lease() { state.Release(); }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    State& state;
  };

  asio::awaitable<bool> Acquire();
  void Release();
  asio::awaitable<pg::QueryResult> Query(std::string sql);
  static asio::awaitable<pg::QueryResult> Run(std::shared_ptr<State> self, std::string sql);
  void Backoff(const std::string& error);
  void ResetBackoff();
  std::string BackoffMessage(Clock::duration left) const;

  BlockingPool& pool;
  std::string conninfo;
  std::unique_ptr<pg::Connection> conn;
  bool locked = false;
  std::list<std::shared_ptr<Waiter>> waiters;
  Clock::time_point retry_at{};
  Clock::duration next_backoff = kMinBackoff;
  std::string last_error;
};

asio::awaitable<bool> PostgresTarget::State::Acquire() {
  if (!locked) {
    locked = true;
    co_return true;
  }
  auto executor = co_await asio::this_coro::executor;
  auto waiter = std::make_shared<Waiter>(executor);
  waiter->timer.expires_at(Clock::time_point::max());
  waiters.push_back(waiter);
  co_await waiter->timer.async_wait(asio::as_tuple(asio::use_awaitable));
  if (!waiter->granted) waiters.remove(waiter);
  co_return waiter->granted;
}

void PostgresTarget::State::Release() {
  if (waiters.empty()) {
    locked = false;
    return;
  }
  auto next = waiters.front();
  waiters.pop_front();
  next->granted = true;
  next->timer.cancel();
}

void PostgresTarget::State::Backoff(const std::string& error) {
  conn.reset();  // cancels a query in flight server-side
  last_error = error;
  retry_at = Clock::now() + next_backoff;
  next_backoff = std::min<Clock::duration>(next_backoff * 2, kMaxBackoff);
}

void PostgresTarget::State::ResetBackoff() {
  next_backoff = kMinBackoff;
  retry_at = {};
  last_error.clear();
}

std::string PostgresTarget::State::BackoffMessage(Clock::duration left) const {
  auto seconds = std::chrono::ceil<std::chrono::seconds>(left).count();
  return "reconnect backoff (" + std::to_string(seconds) + "s left) after: " + last_error;
}

// A query arriving during the reconnect backoff fails at once with the
// reason of the failure that started it, rather than sleeping: a sleeping
// query would hold the lock, end as a misleading timeout whenever the backoff
// outlasts the check's deadline, and hide the original error.
asio::awaitable<pg::QueryResult> PostgresTarget::State::Query(std::string sql) {
  auto cancellation = co_await asio::this_coro::cancellation_state;
  bool acquired = co_await Acquire();
  if (!acquired) co_return Failed("cancelled while waiting for the connection");
  Lease lease(*this);
  if (Cancelled(cancellation)) co_return Failed("cancelled");
  if (conn && !conn->healthy()) Backoff("connection lost");
  if (!conn) {
    if (auto left = retry_at - Clock::now(); left > Clock::duration::zero()) {
      co_return Failed(BackoffMessage(left));
    }
    std::string error;
    auto connected = co_await pg::Connection::Connect(pool, conninfo, error);
    conn = std::move(connected);
    if (!conn) {
      Backoff("connect: " + error);
      co_return Failed("connect: " + error);
    }
    if (Cancelled(cancellation)) co_return Failed("cancelled");
  }
  pg::QueryResult result = co_await conn->Execute(std::move(sql));
  if (conn->healthy()) {
    ResetBackoff();
  } else {
    Backoff(result.error);
  }
  co_return result;
}

PostgresTarget::PostgresTarget(boost::asio::any_io_executor executor, BlockingPool& pool,
                               std::string conninfo)
    : executor_(std::move(executor)),
      pool_(pool),
      conninfo_(std::move(conninfo)),
      state_(std::make_shared<State>(pool_, conninfo_)) {}

PostgresTarget::~PostgresTarget() = default;

asio::awaitable<pg::QueryResult> PostgresTarget::State::Run(std::shared_ptr<State> self, std::string sql) {
  auto cancellation = co_await asio::this_coro::cancellation_state;
  if (Cancelled(cancellation)) co_return Failed("cancelled");
  pg::QueryResult result = co_await self->Query(std::move(sql));
  co_return result;
}

// Not a coroutine itself: the state is captured now, while `this` is alive,
// rather than when the awaitable is first resumed.
boost::asio::awaitable<pg::QueryResult> PostgresTarget::Query(std::string sql) {
  return State::Run(state_, std::move(sql));
}

}  // namespace drwatch::targets
