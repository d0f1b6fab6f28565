// postgres.ping: opens a fresh connection each run (the connect path is the
// signal) and runs SELECT 1. No keys of its own.

#include <boost/asio/this_coro.hpp>

#include "config/node_reader.hpp"
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
    out.samples.push_back({"drwatch_postgres_connect_duration_seconds",
                           "Time to open a connection in the last postgres.ping run.",
                           metrics::MetricType::kGauge, {}, connect_seconds});
    if (result.ok()) {
      out.samples.push_back({"drwatch_postgres_query_duration_seconds",
                             "Time of SELECT 1 in the last postgres.ping run.",
                             metrics::MetricType::kGauge, {}, query_seconds});
    }
    out.samples.push_back({"drwatch_postgres_server_info",
                           "PostgreSQL server version seen by the last postgres.ping run.",
                           metrics::MetricType::kGauge, {{"version", conn->ServerVersion()}}, 1});
    out.observed = connect_seconds + query_seconds;
    co_return out;
  }
};

}  // namespace

std::unique_ptr<Probe> ParsePostgresPing(config::NodeReader& check) {
  return std::make_unique<PostgresPing>();
}

}  // namespace drwatch::probes
