#include "targets/postgres_target.hpp"

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

// PostgresTarget (the shared connection, its queue and backoff) follows.

}  // namespace drwatch::targets
