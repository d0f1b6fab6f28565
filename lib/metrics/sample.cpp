#include "metrics/sample.hpp"

#include "common/text.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <string_view>
#include <unordered_set>

namespace drwatch::metrics {
namespace {

// The text format 0.0.4 exactly as prometheus-cpp's TextSerializer writes
// it (byte for byte: the tests and `promtool check metrics` hold it), but
// straight into one string: going through its ClientMetric copies every
// label twice and an ostream per value, most of a 1 MB render's time.

// Label values escape backslash, double quote and newline.
void AppendLabelValue(std::string& out, std::string_view value) {
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
}

// As an ostream with precision 16 (max_digits10 - 1) does; Prometheus spells
// the special values NaN, +Inf, -Inf.
void AppendValue(std::string& out, double value) {
  if (std::isnan(value)) {
    out += "NaN";
  } else if (std::isinf(value)) {
    out += value < 0 ? "-Inf" : "+Inf";
  } else {
    char buf[32];
    int n = std::snprintf(buf, sizeof buf, "%.16g", value);
    out.append(buf, static_cast<std::size_t>(n));
  }
}

// name{labels[,extra="..."]} value
void AppendSeries(std::string& out, std::string_view name, const Labels& labels, std::string_view extra_name,
                  std::string_view extra_value, double value) {
  out += name;
  if (!labels.empty() || !extra_name.empty()) {
    out += '{';
    bool first = true;
    for (const auto& [key, label_value] : labels) {
      if (!first) out += ',';
      first = false;
      out += key;
      out += "=\"";
      AppendLabelValue(out, label_value);
      out += '"';
    }
    if (!extra_name.empty()) {
      if (!first) out += ',';
      out += extra_name;
      out += "=\"";
      out += extra_value;
      out += '"';
    }
    out += '}';
  }
  out += ' ';
  AppendValue(out, value);
  out += '\n';
}

void AppendHistogram(std::string& out, const std::string& name, const Labels& labels, const HistogramValue& h) {
  AppendSeries(out, name + "_count", labels, {}, {}, static_cast<double>(h.count));
  AppendSeries(out, name + "_sum", labels, {}, {}, h.sum);
  std::uint64_t cumulative = 0;
  std::string le;
  for (std::size_t i = 0; i < h.counts.size(); ++i) {
    cumulative += h.counts[i];
    le.clear();
    AppendValue(le, i < h.bounds.size() ? h.bounds[i] : std::numeric_limits<double>::infinity());
    AppendSeries(out, name + "_bucket", labels, "le", le, static_cast<double>(cumulative));
  }
}

const char* TypeName(MetricType type) {
  switch (type) {
    case MetricType::kCounter: return "counter";
    case MetricType::kHistogram: return "histogram";
    case MetricType::kGauge: break;
  }
  return "gauge";
}

// A series' identity whatever the order of its labels.
std::string SeriesKey(const Labels& labels) {
  std::vector<const std::pair<std::string, std::string>*> sorted;
  sorted.reserve(labels.size());
  for (const auto& l : labels) sorted.push_back(&l);
  std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return *a < *b; });
  std::string key;
  for (const auto* l : sorted) {
    key += l->first;
    key += '\0';
    key += l->second;
    key += '\0';
  }
  return key;
}

struct Family {
  const Sample* first = nullptr;  // its help and type win
  std::vector<const Sample*> samples;
  std::unordered_set<std::string> seen;
};

}  // namespace

void HistogramValue::Observe(double value) {
  auto bucket = std::lower_bound(bounds.begin(), bounds.end(), value) - bounds.begin();  // le: <= bound
  ++counts[static_cast<std::size_t>(bucket)];
  sum += value;
  ++count;
}

std::string RenderText(const std::vector<Sample>& samples) {
  std::map<std::string_view, Family> by_name;  // sorted by name
  std::size_t size = 0;
  for (const Sample& sample : samples) {
    Family& f = by_name[sample.name];
    if (!f.first) f.first = &sample;
    if (!f.seen.insert(SeriesKey(sample.labels)).second) continue;
    f.samples.push_back(&sample);
    size += sample.name.size() + 64;
  }
  std::string text;
  text.reserve(size + samples.size() * 48);
  for (const auto& [name, f] : by_name) {
    text += "# HELP ";
    text += name;
    text += ' ';
    text += EscapeBackslashNewline(f.first->help);
    text += "\n# TYPE ";
    text += name;
    text += ' ';
    text += TypeName(f.first->type);
    text += '\n';
    for (const Sample* s : f.samples) {
      if (f.first->type != MetricType::kHistogram) {
        AppendSeries(text, name, s->labels, {}, {}, s->value);
      } else if (s->histogram) {
        AppendHistogram(text, s->name, s->labels, *s->histogram);
      }
    }
  }
  return text;
}

}  // namespace drwatch::metrics
