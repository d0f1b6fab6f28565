#pragma once
// What connection.cpp (connecting) and query.cpp (running queries) share:
// Connection::Impl and its helpers. Only for those two files.

#include <libpq-fe.h>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_state.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <string>
#include <string_view>

#include "pg/connection.hpp"

namespace drwatch::pg {
namespace connection_detail {

inline constexpr char kCancelled[] = "cancelled";

enum class Outcome { kDone, kCancelled, kBroken };

// After a cancellation any further co_await throws, even when the last wait
// completed before the cancellation arrived: check before every co_await.
// (co_await appears only as a whole statement or initializer here: GCC 12
// miscompiles it inside conditions and call arguments.)
inline bool Cancelled(const boost::asio::cancellation_state& state) {
  return state.cancelled() != boost::asio::cancellation_type::none;
}

// The first line of `text`, without trailing white space.
std::string OneLine(std::string_view text);

// libpq's message about `conn`, one line.
std::string ConnError(const PGconn* conn);

}  // namespace connection_detail

struct Connection::Impl {
  Impl(boost::asio::any_io_executor executor, BlockingPool& pool, PGconn* conn)
      : pool(pool), conn(conn), socket(executor) {}
  ~Impl();

  boost::asio::awaitable<std::string> Handshake();
  boost::asio::awaitable<connection_detail::Outcome> Run(const char* sql, QueryResult& out);
  boost::asio::awaitable<connection_detail::Outcome> Wait(boost::asio::posix::descriptor_base::wait_type type);
  connection_detail::Outcome Broken(QueryResult& out);

  BlockingPool& pool;
  PGconn* conn;
  boost::asio::posix::stream_descriptor socket;  // borrows PQsocket(): released, never closed
  bool broken = false;
  bool query_in_flight = false;
};

}  // namespace drwatch::pg
