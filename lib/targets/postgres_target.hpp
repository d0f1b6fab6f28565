#pragma once
// type: postgres. Key: dsn (libpq conninfo or URI).

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <deque>
#include <memory>
#include <string>

#include "common/clock.hpp"
#include "pg/connection.hpp"
#include "targets/target.hpp"

namespace drwatch::targets {

class PostgresTargetSpec final : public TargetSpec {
 public:
  std::string conninfo;  // expanded; a secret

  std::shared_ptr<TargetRuntime> MakeRuntime(boost::asio::any_io_executor executor,
                                             BlockingPool& pool) const override;
};

std::shared_ptr<TargetSpec> ParsePostgresTarget(config::NodeReader& node);

/// Run-time state of a postgres target: the one persistent connection its
/// query checks share, used by one query at a time, reconnected after an
/// error or timeout with capped exponential backoff (1 s doubling to 30 s).
class PostgresTarget final : public TargetRuntime {
 public:
  PostgresTarget(boost::asio::any_io_executor executor, BlockingPool& pool, std::string conninfo);
  ~PostgresTarget() override;

  const std::string& conninfo() const { return conninfo_; }
  BlockingPool& pool() { return pool_; }

  /// Runs `sql` (already wrapped, see pg::WrapReadOnly) on the shared
  /// connection, waiting for it if another check holds it. Cancel the
  /// awaiting coroutine to give up: a query in flight is then cancelled
  /// server-side and the connection dropped.
  boost::asio::awaitable<pg::QueryResult> Query(std::string sql);

  static constexpr std::chrono::seconds kMinBackoff{1};
  static constexpr std::chrono::seconds kMaxBackoff{30};

 private:
  struct State;
  boost::asio::any_io_executor executor_;
  BlockingPool& pool_;
  std::string conninfo_;
  std::shared_ptr<State> state_;
};

}  // namespace drwatch::targets
