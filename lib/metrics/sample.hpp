#pragma once
// A metric sample as the engine and probes produce it, and its rendering in
// the Prometheus text exposition format 0.0.4 (through prometheus-cpp's
// TextSerializer). Scrapes are answered from these in-memory values only.

#include <string>
#include <utility>
#include <vector>

namespace drwatch::metrics {

enum class MetricType { kGauge, kCounter };

using Labels = std::vector<std::pair<std::string, std::string>>;

/// One series value. `name` carries the full name, counters included
/// ("drwatch_check_runs_total").
struct Sample {
  std::string name;
  std::string help;
  MetricType type = MetricType::kGauge;
  Labels labels;
  double value = 0;
};

/// Renders samples as Prometheus text format 0.0.4: samples with the same name
/// form one family (the first sample's help and type win), families are
/// sorted by name, samples keep their order within a family, and an exact
/// duplicate series (same name and labels) is written once (first wins).
std::string RenderText(const std::vector<Sample>& samples);

}  // namespace drwatch::metrics
