#pragma once
// Off-loop execution for the few calls that can block (PQconnectStart's DNS
// and .pgpass look-ups, PQfinish, filesystem calls). The event loop never
// waits for them: RunBlocking suspends the calling coroutine and can be
// cancelled (a probe deadline) while the blocking call is still running.

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <memory>
#include <optional>
#include <utility>

namespace drwatch {

/// A small fixed pool of threads for blocking calls.
class BlockingPool {
 public:
  explicit BlockingPool(std::size_t threads = 4) : pool_(threads) {}
  ~BlockingPool() { pool_.join(); }
  BlockingPool(const BlockingPool&) = delete;
  BlockingPool& operator=(const BlockingPool&) = delete;

  boost::asio::thread_pool::executor_type executor() { return pool_.get_executor(); }

  /// Runs fn on a pool thread; nobody waits for it.
  template <typename F>
  void Post(F&& fn) {
    boost::asio::post(pool_, std::forward<F>(fn));
  }

 private:
  boost::asio::thread_pool pool_;
};

/// Runs `fn()` on `pool` and resumes the caller on its own executor with the
/// result. If the awaiting coroutine is cancelled first, it resumes at once
/// with std::nullopt, and `discard(result)` runs on the pool once fn returns,
/// so nothing fn produced (a PGconn, a file descriptor) leaks.
template <typename F, typename D>
auto RunBlocking(BlockingPool& pool, F fn, D discard)
    -> boost::asio::awaitable<std::optional<decltype(fn())>> {
  using T = decltype(fn());
  struct State {
    explicit State(boost::asio::any_io_executor ex) : wake(ex) {}
    boost::asio::steady_timer wake;
    std::optional<T> result;
    bool abandoned = false;  // touched only on the caller's executor
  };
  auto executor = co_await boost::asio::this_coro::executor;
  auto state = std::make_shared<State>(executor);
  state->wake.expires_at(boost::asio::steady_timer::time_point::max());
  pool.Post([state, executor, &pool, fn = std::move(fn), discard]() mutable {
    T value = fn();
    boost::asio::post(executor, [state, &pool, value = std::move(value), discard]() mutable {
      if (state->abandoned) {
        pool.Post([value = std::move(value), discard]() mutable { discard(std::move(value)); });
        return;
      }
      state->result = std::move(value);
      state->wake.cancel();
    });
  });
  co_await state->wake.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
  if (!state->result) {
    state->abandoned = true;
    co_return std::nullopt;
  }
  co_return std::move(state->result);
}

}  // namespace drwatch
