#pragma once
// A metric sample as the engine and probes produce it, and its rendering in
// the Prometheus text exposition format 0.0.4 (as prometheus-cpp's
// TextSerializer). Scrapes are answered from these in-memory values only.

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace drwatch::metrics {

enum class MetricType { kGauge, kCounter, kHistogram };

/// A histogram's value: per-bucket counts (not cumulative) for the upper
/// bounds `bounds`, and one more count for +Inf.
struct HistogramValue {
  explicit HistogramValue(std::vector<double> upper_bounds)
      : bounds(std::move(upper_bounds)), counts(bounds.size() + 1) {}
  std::vector<double> bounds;          // ascending
  std::vector<std::uint64_t> counts;   // bounds.size() + 1
  double sum = 0;
  std::uint64_t count = 0;
  /// Counts `value` in its bucket.
  void Observe(double value);
};

using Labels = std::vector<std::pair<std::string, std::string>>;

/// One series value. `name` carries the full name, counters included
/// ("drwatch_check_runs_total").
struct Sample {
  std::string name;
  std::string help;
  MetricType type = MetricType::kGauge;
  Labels labels;
  double value = 0;
  /// kHistogram only: its buckets, sum and count (`value` unused).
  std::shared_ptr<const HistogramValue> histogram = nullptr;
};

/// Renders samples as Prometheus text format 0.0.4: samples with the same name
/// form one family (the first sample's help and type win), families are
/// sorted by name, samples keep their order within a family, and an exact
/// duplicate series (same name and labels) is written once (first wins).
std::string RenderText(const std::vector<Sample>& samples);

}  // namespace drwatch::metrics
