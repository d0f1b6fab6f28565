// storage.replication: the cross-region copy keeps up. The lag is how much
// older the replica's newest matching object is than the primary's (0 when
// the replica's is as new or newer); it fails past max_lag or when the
// replica has no matching object. The replica is another storage target,
// named by `replica` and validated by the catalogue (ReferencedTargets).

#include <boost/asio/experimental/awaitable_operators.hpp>

#include "config/node_reader.hpp"
#include "metrics/families.hpp"
#include "probes/storage_probes.hpp"
#include "storage/pattern.hpp"
#include "targets/storage_target.hpp"

namespace drwatch::probes {
namespace {

namespace asio = boost::asio;
using namespace boost::asio::experimental::awaitable_operators;

class StorageReplication final : public Probe {
 public:
  StorageReplication(std::string replica, std::string pattern, config::Duration max_lag)
      : replica_(std::move(replica)), pattern_(std::move(pattern)), max_lag_(max_lag) {}

  asio::awaitable<ProbeResult> Run(RunContext& ctx) override {
    auto& primary = static_cast<targets::StorageTarget&>(ctx.target).backend();
    targets::TargetRuntime* other = ctx.find_target ? ctx.find_target(replica_) : nullptr;
    if (!other) co_return ProbeResult::Fail("replica target \"" + replica_ + "\" is not available");
    auto& replica = static_cast<targets::StorageTarget&>(*other).backend();
    // Both listings at once: the run costs the slower of the two, not the sum.
    auto [mine, theirs] = co_await (primary.List(pattern_, storage::kMaxListEntries) &&
                                    replica.List(pattern_, storage::kMaxListEntries));
    if (!mine.ok()) co_return ProbeResult::Fail(mine.error);
    if (!theirs.ok()) co_return ProbeResult::Fail("replica " + replica_ + ": " + theirs.error);
    const storage::ObjectInfo* newest = storage::Newest(mine.objects);
    if (!newest) co_return ProbeResult::Fail("no objects on the primary");
    const storage::ObjectInfo* copy = storage::Newest(theirs.objects);
    if (!copy) co_return ProbeResult::Fail("no objects on the replica " + replica_);
    double lag = SecondsBetween(copy->mtime, newest->mtime);
    std::string what = "replica " + replica_ + " is " + config::FormatAge(lag) + " behind (newest " + newest->key +
                       ", replica's " + copy->key + ")";
    ProbeResult out = lag <= config::ToSeconds(max_lag_)
                          ? ProbeResult::Ok()
                          : ProbeResult::Fail(what + ", max_lag " + config::FormatDuration(max_lag_));
    if (out.success) out.reason = what;
    out.observed = lag;
    out.samples.push_back(metrics::kStorageReplicationLagSeconds.Make(lag, {{"replica", replica_}}));
    co_return out;
  }

  void StaticSamples(std::vector<metrics::Sample>& out) const override {
    out.push_back(metrics::kStorageReplicationMaxLagSeconds.Make(config::ToSeconds(max_lag_), {{"replica", replica_}}));
  }

  std::vector<TargetReference> ReferencedTargets() const override { return {{"replica", replica_, "storage"}}; }

 private:
  std::string replica_;
  std::string pattern_;
  config::Duration max_lag_;
};

}  // namespace

std::unique_ptr<Probe> ParseStorageReplication(config::NodeReader& check) {
  auto replica = check.String("replica", true);
  auto pattern = check.String("pattern", true);
  auto max_lag = check.DurationValue("max_lag", true);
  bool ok = replica && pattern && max_lag;
  if (pattern) {
    if (auto error = storage::ValidatePattern(*pattern)) {
      check.Error("pattern", *error);
      ok = false;
    }
  }
  if (!ok) return nullptr;
  return std::make_unique<StorageReplication>(*replica, *pattern, *max_lag);
}

}  // namespace drwatch::probes
