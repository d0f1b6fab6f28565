// postgres.ping: opens a fresh connection each run (the connect path is the
// signal) and runs SELECT 1. No keys of its own.

#include <boost/asio/this_coro.hpp>

#include "config/node_reader.hpp"
#include "metrics/families.hpp"
#include "probes/postgres_probes.hpp"
#include "targets/postgres_target.hpp"

namespace drwatch::probes {
namespace {

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

class PostgresPing final : public Probe {
 public:
  boost::asio::awaitable<ProbeResult> Run(RunContext& ctx) override {
    auto& target = static_cast<targets::PostgresTarget&>(ctx.target);
    auto start = Clock::now();
    std::string error;
    auto conn = co_await pg::Connection::Connect(ctx.pool, target.conninfo(), error);
    if (!conn) co_return ProbeResult::Fail("connect: " + error);
    double connect_seconds = SecondsSince(start);

    auto query_start = Clock::now();
    pg::QueryResult result = co_await conn->Execute(pg::WrapReadOnly("SELECT 1", ctx.timeout));
    double query_seconds = SecondsSince(query_start);
    ProbeResult out = result.ok() ? ProbeResult::Ok() : ProbeResult::Fail("query: " + result.error);
    out.samples.push_back(metrics::kPostgresConnectDurationSeconds.Make(connect_seconds));
    if (result.ok()) {
      out.samples.push_back(metrics::kPostgresQueryDurationSeconds.Make(query_seconds));
    }
    out.samples.push_back(metrics::kPostgresServerInfo.Make(1, {{"version", conn->ServerVersion()}}));
    out.observed = connect_seconds + query_seconds;
    co_return out;
  }
};

}  // namespace

std::unique_ptr<Probe> ParsePostgresPing(config::NodeReader& check) {
  return std::make_unique<PostgresPing>();
}

}  // namespace drwatch::probes
