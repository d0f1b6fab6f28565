// storage.freshness: the newest object matching `pattern` (by mtime) is at
// most max_age old, at least min_size bytes, and at least max_shrink times
// the size of the one before it (a dump that suddenly halves is a broken
// dump). No matching object fails with "no objects".

#include <cmath>
#include <cstdint>
#include <limits>

#include "config/node_reader.hpp"
#include "metrics/families.hpp"
#include "probes/data_age.hpp"
#include "probes/storage_probes.hpp"
#include "storage/pattern.hpp"
#include "targets/storage_target.hpp"

namespace drwatch::probes {
namespace {

namespace asio = boost::asio;

std::string FormatFraction(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%g", value);
  return buffer;
}

struct FreshnessRules {
  std::string pattern;
  config::Duration max_age{};
  std::optional<std::int64_t> min_size;
  std::optional<double> max_shrink;
};

class StorageFreshness final : public Probe {
 public:
  explicit StorageFreshness(FreshnessRules rules) : rules_(std::move(rules)) {}

  asio::awaitable<ProbeResult> Run(RunContext& ctx) override {
    auto& backend = static_cast<targets::StorageTarget&>(ctx.target).backend();
    storage::ListResult list = co_await backend.List(rules_.pattern, storage::kMaxListEntries);
    if (!list.ok()) co_return ProbeResult::Fail(list.error);
    const storage::ObjectInfo* newest = storage::Newest(list.objects);
    if (!newest) {
      ProbeResult out = ProbeResult::Fail("no objects");
      out.samples.push_back(ObjectsSample(0));
      co_return out;
    }
    double age = SecondsBetween(newest->mtime, Clock::WallNow());
    ProbeResult out = Judge(*newest, storage::Previous(list.objects, *newest), age);
    out.observed = age;
    out.samples.push_back(metrics::kDataAgeSeconds.Make(age));
    out.samples.push_back(metrics::kBackupNewestSizeBytes.Make(static_cast<double>(newest->size)));
    out.samples.push_back(ObjectsSample(list.objects.size()));
    co_return out;
  }

  void StaticSamples(std::vector<metrics::Sample>& out) const override {
    out.push_back(MaxAgeSample(rules_.max_age));
  }

 private:
  static metrics::Sample ObjectsSample(std::size_t count) {
    return metrics::kBackupObjects.Make(static_cast<double>(count));
  }

  ProbeResult Judge(const storage::ObjectInfo& newest, const storage::ObjectInfo* previous, double age) const {
    std::string what = "newest " + newest.key;
    if (age > config::ToSeconds(rules_.max_age)) {
      return ProbeResult::Fail(what + " is " + config::FormatAge(age) + " old, max_age " +
                               config::FormatDuration(rules_.max_age));
    }
    if (rules_.min_size && newest.size < static_cast<std::uint64_t>(*rules_.min_size)) {
      return ProbeResult::Fail(what + " is " + std::to_string(newest.size) + " bytes, min_size " +
                               std::to_string(*rules_.min_size));
    }
    if (rules_.max_shrink && previous && previous->size > 0 &&
        static_cast<double>(newest.size) < *rules_.max_shrink * static_cast<double>(previous->size)) {
      // Rounded down, so the percentage shown is always below the limit.
      auto percent = static_cast<long long>(
          std::floor(100.0 * static_cast<double>(newest.size) / static_cast<double>(previous->size)));
      return ProbeResult::Fail(what + " is " + std::to_string(percent) + "% of the previous (max_shrink " +
                               FormatFraction(*rules_.max_shrink) + ")");
    }
    ProbeResult ok = ProbeResult::Ok();
    ok.reason = what + " is " + config::FormatAge(age) + " old, " + std::to_string(newest.size) + " bytes";
    return ok;
  }

  FreshnessRules rules_;
};

}  // namespace

std::unique_ptr<Probe> ParseStorageFreshness(config::NodeReader& check) {
  FreshnessRules rules;
  auto pattern = check.String("pattern", true);
  auto max_age = check.DurationValue("max_age", true);
  bool ok = pattern && max_age;
  if (pattern) {
    if (auto error = storage::ValidatePattern(*pattern)) {
      check.Error("pattern", *error);
      ok = false;
    }
    rules.pattern = *pattern;
  }
  rules.max_age = max_age.value_or(config::Duration{});
  if (check.Has("min_size")) {
    rules.min_size = check.Int("min_size", 0, std::numeric_limits<std::int64_t>::max());
    ok = rules.min_size.has_value() && ok;
  }
  if (check.Has("max_shrink")) {
    rules.max_shrink = check.Double("max_shrink", 0, 1);
    if (rules.max_shrink && *rules.max_shrink <= 0) {
      check.Error("max_shrink", "expected a fraction above 0 and at most 1 (0.5: fail below half the previous)");
      rules.max_shrink.reset();
    }
    ok = rules.max_shrink.has_value() && ok;
  }
  if (!ok) return nullptr;
  return std::make_unique<StorageFreshness>(std::move(rules));
}

}  // namespace drwatch::probes
