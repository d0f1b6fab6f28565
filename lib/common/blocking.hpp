#pragma once
// Off-loop execution for the few calls that can block (PQconnectStart's DNS
// and .pgpass look-ups, PQfinish, filesystem calls). The event loop never
// waits for them: RunBlocking is an asynchronous operation that completes on
// the caller's executor and can be cancelled (a probe deadline) while the
// blocking call is still running.

#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <type_traits>
#include <utility>

namespace drwatch {

/// A small fixed pool of threads for blocking calls.
class BlockingPool {
 public:
  explicit BlockingPool(std::size_t threads = 4) : pool_(threads) {}
  ~BlockingPool() { Join(); }
  BlockingPool(const BlockingPool&) = delete;
  BlockingPool& operator=(const BlockingPool&) = delete;

  /// Runs fn on a pool thread; nobody waits for it. After Join(), runs fn
  /// inline (shutdown: the last PQfinish calls of destroyed connections).
  template <typename F>
  void Post(F&& fn) {
    if (joined_.load()) {
      fn();
      return;
    }
    boost::asio::post(pool_, std::forward<F>(fn));
  }

  /// Waits for every posted job. Call before destroying the io_context that
  /// jobs complete on, so no job posts to a destroyed loop.
  void Join() {
    pool_.join();
    joined_.store(true);
  }

 private:
  boost::asio::thread_pool pool_;
  std::atomic<bool> joined_{false};
};

namespace detail {

// Shared by the pool job, the cancellation handler and the completion: the
// first of "job finished" and "cancelled" takes the handler.
template <typename Handler, typename T, typename D>
struct BlockingOp {
  BlockingOp(Handler h, D d)
      : handler(std::move(h)),
        work(boost::asio::get_associated_executor(*handler)),
        discard(std::move(d)) {}
  std::mutex mu;
  std::optional<Handler> handler;
  boost::asio::executor_work_guard<boost::asio::associated_executor_t<Handler>> work;
  D discard;

  // Completes the handler on its executor with `value`, clearing the
  // cancellation slot first (on the loop, where the slot lives).
  static void Complete(std::shared_ptr<BlockingOp> op, Handler h, std::optional<T> value) {
    auto ex = boost::asio::get_associated_executor(h);
    boost::asio::post(ex, [op, h = std::move(h), value = std::move(value)]() mutable {
      auto slot = boost::asio::get_associated_cancellation_slot(h);
      if (slot.is_connected()) slot.clear();
      op->work.reset();
      std::move(h)(std::move(value));
    });
  }
};

}  // namespace detail

/// Runs `fn()` on `pool` and completes with its result (std::optional<T>
/// holding it). If the operation is cancelled first (per-operation
/// cancellation, e.g. the deadline of `co_await (a || timer)`), it completes
/// at once with std::nullopt, and `discard(result)` runs on the pool once fn
/// returns, so nothing fn produced (a PGconn, a file descriptor) leaks.
/// This is an asynchronous operation, not a coroutine, on purpose: GCC 12
/// mishandles by-value lambda parameters of coroutines.
template <typename F, typename D,
          typename Token = boost::asio::use_awaitable_t<boost::asio::any_io_executor>>
auto RunBlocking(BlockingPool& pool, F fn, D discard, Token&& token = {}) {
  using T = std::invoke_result_t<F&>;
  return boost::asio::async_initiate<Token, void(std::optional<T>)>(
      [&pool](auto handler, F fn, D discard) {
        using Handler = decltype(handler);
        using Op = detail::BlockingOp<Handler, T, D>;
        auto slot = boost::asio::get_associated_cancellation_slot(handler);
        auto op = std::make_shared<Op>(std::move(handler), std::move(discard));
        if (slot.is_connected()) {
          slot.assign([op](boost::asio::cancellation_type) {
            std::unique_lock lock(op->mu);
            if (!op->handler) return;
            Handler h = std::move(*op->handler);
            op->handler.reset();
            lock.unlock();
            Op::Complete(op, std::move(h), std::nullopt);
          });
        }
        pool.Post([op, fn = std::move(fn)]() mutable {
          T value = fn();
          std::unique_lock lock(op->mu);
          if (!op->handler) {
            lock.unlock();
            op->discard(std::move(value));
            return;
          }
          Handler h = std::move(*op->handler);
          op->handler.reset();
          lock.unlock();
          Op::Complete(op, std::move(h), std::optional<T>(std::move(value)));
        });
      },
      token, std::move(fn), std::move(discard));
}

}  // namespace drwatch
