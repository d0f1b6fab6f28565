#include "metrics/sample.hpp"

#include "common/text.hpp"

#include <prometheus/client_metric.h>
#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <limits>
#include <map>
#include <set>

namespace drwatch::metrics {
namespace {

// prometheus-cpp 1.0 writes NaN as "Nan"; Prometheus spells it "NaN". A
// sample line is the only line that does not start with '#' and, since label
// values have their newlines escaped, the value is always its last token.
void FixNaN(std::string& text) {
  static constexpr std::string_view kWrong = " Nan\n";
  std::size_t line_start = 0;
  while (line_start < text.size()) {
    std::size_t line_end = text.find('\n', line_start);
    if (line_end == std::string::npos) break;
    std::size_t line_size = line_end + 1 - line_start;
    if (text[line_start] != '#' && line_size >= kWrong.size()) {
      std::size_t token = line_end + 1 - kWrong.size();
      if (text.compare(token, kWrong.size(), kWrong) == 0) text.replace(token + 1, 3, "NaN");
    }
    line_start = line_end + 1;
  }
}

void ToClientHistogram(const HistogramValue& h, prometheus::ClientMetric::Histogram& out) {
  out.sample_count = h.count;
  out.sample_sum = h.sum;
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < h.counts.size(); ++i) {
    cumulative += h.counts[i];
    out.bucket.push_back({cumulative, i < h.bounds.size() ? h.bounds[i] : std::numeric_limits<double>::infinity()});
  }
}

prometheus::ClientMetric ToClientMetric(const Sample& sample, MetricType family_type) {
  prometheus::ClientMetric metric;
  for (const auto& [name, value] : sample.labels) metric.label.push_back({name, value});
  if (family_type == MetricType::kHistogram) {
    if (sample.histogram) ToClientHistogram(*sample.histogram, metric.histogram);
  } else if (family_type == MetricType::kCounter) {
    metric.counter.value = sample.value;
  } else {
    metric.gauge.value = sample.value;
  }
  return metric;
}

// Label order does not make a different series.
Labels SortedLabels(Labels labels) {
  std::sort(labels.begin(), labels.end());
  return labels;
}

struct Family {
  prometheus::MetricFamily family;
  MetricType type = MetricType::kGauge;
  std::set<Labels> seen;
};

}  // namespace

void HistogramValue::Observe(double value) {
  auto bucket = std::lower_bound(bounds.begin(), bounds.end(), value) - bounds.begin();  // le: <= bound
  ++counts[static_cast<std::size_t>(bucket)];
  sum += value;
  ++count;
}

std::string RenderText(const std::vector<Sample>& samples) {
  std::map<std::string, Family> by_name;  // sorted by name
  for (const Sample& sample : samples) {
    auto [it, inserted] = by_name.try_emplace(sample.name);
    Family& f = it->second;
    if (inserted) {
      f.type = sample.type;
      f.family.name = sample.name;
      f.family.help = EscapeBackslashNewline(sample.help);
      f.family.type = sample.type == MetricType::kCounter     ? prometheus::MetricType::Counter
                      : sample.type == MetricType::kHistogram ? prometheus::MetricType::Histogram
                                                              : prometheus::MetricType::Gauge;
    }
    if (!f.seen.insert(SortedLabels(sample.labels)).second) continue;
    f.family.metric.push_back(ToClientMetric(sample, f.type));
  }

  std::vector<prometheus::MetricFamily> families;
  families.reserve(by_name.size());
  for (auto& [name, f] : by_name) families.push_back(std::move(f.family));
  std::string text = prometheus::TextSerializer().Serialize(families);
  FixNaN(text);
  return text;
}

}  // namespace drwatch::metrics
