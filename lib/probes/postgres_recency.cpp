// postgres.recency: the query returns one timestamptz, the newest row's time.
// Success when its age is at most max_age. The age is computed by the server
// (now() minus the timestamp), so clock skew between drwatchd and the
// database does not matter.

#include <charconv>
#include <cmath>

#include "config/node_reader.hpp"
#include "metrics/families.hpp"
#include "probes/data_age.hpp"
#include "probes/postgres_probes.hpp"
#include "targets/postgres_target.hpp"

namespace drwatch::probes {
namespace {

class PostgresRecency final : public Probe {
 public:
  PostgresRecency(std::string query, config::Duration max_age)
      : query_(std::move(query)), max_age_(max_age) {}

  boost::asio::awaitable<ProbeResult> Run(RunContext& ctx) override {
    auto& target = static_cast<targets::PostgresTarget&>(ctx.target);
    std::string sql = "SELECT extract(epoch FROM now() - drwatch_q.t) FROM (" +
                      std::string(pg::TrimQuery(query_)) + "\n) AS drwatch_q(t)";
    pg::QueryResult result = co_await target.Query(pg::WrapReadOnly(sql, ctx.timeout));
    if (!result.ok()) co_return ProbeResult::Fail("query: " + result.error);
    if (result.rows.empty() || result.rows[0].empty() || !result.rows[0][0]) {
      co_return ProbeResult::Fail("no rows");
    }
    auto age = pg::NumberOf(result.rows[0][0]);
    if (!age) co_return ProbeResult::Fail("query did not return a timestamp");
    double seconds = std::max(0.0, *age);
    auto age_text = config::FormatAge(seconds);
    ProbeResult out = seconds <= config::ToSeconds(max_age_)
                          ? ProbeResult::Ok()
                          : ProbeResult::Fail("newest row is " + age_text + " old, max_age " +
                                              config::FormatDuration(max_age_));
    if (out.success) out.reason = "newest row is " + age_text + " old";
    out.observed = seconds;
    out.samples.push_back(metrics::kDataAgeSeconds.Make(seconds));
    co_return out;
  }

  void StaticSamples(std::vector<metrics::Sample>& out) const override {
    out.push_back(MaxAgeSample(max_age_));
  }

 private:
  std::string query_;
  config::Duration max_age_;
};

}  // namespace

std::unique_ptr<Probe> ParsePostgresRecency(config::NodeReader& check) {
  auto query = check.String("query", true);
  auto max_age = check.DurationValue("max_age", true);
  if (!query || !max_age) return nullptr;
  return std::make_unique<PostgresRecency>(*query, *max_age);
}

}  // namespace drwatch::probes
