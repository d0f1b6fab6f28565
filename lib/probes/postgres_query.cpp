// postgres.query: the SREs' own query. Each numeric column of each row becomes
// a gauge drwatch_query_<column>, labelled with the columns declared in
// `labels` (postgres_exporter's custom-query style). Other columns are ignored.

#include <algorithm>
#include <charconv>

#include "config/node_reader.hpp"
#include "metrics/families.hpp"
#include "probes/postgres_probes.hpp"
#include "targets/postgres_target.hpp"

namespace drwatch::probes {
namespace {

bool IsNumericType(Oid type) {
  switch (type) {
    case 16:    // bool
    case 20:    // int8
    case 21:    // int2
    case 23:    // int4
    case 26:    // oid
    case 700:   // float4
    case 701:   // float8
    case 1700:  // numeric
      return true;
    default:
      return false;
  }
}

std::optional<double> ToNumber(const std::string& text) {
  if (text == "t") return 1.0;
  if (text == "f") return 0.0;
  if (text == "NaN") return std::numeric_limits<double>::quiet_NaN();
  double value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
  return value;
}

// [a-z_][a-z0-9_]*
bool IsMetricNamePart(const std::string& s) {
  auto lower = [](char c) { return (c >= 'a' && c <= 'z') || c == '_'; };
  if (s.empty() || !lower(s[0])) return false;
  return std::all_of(s.begin(), s.end(), [&](char c) { return lower(c) || (c >= '0' && c <= '9'); });
}

class PostgresQuery final : public Probe {
 public:
  PostgresQuery(std::string query, std::vector<std::string> labels, std::int64_t max_rows)
      : query_(std::move(query)), labels_(std::move(labels)), max_rows_(max_rows) {}

  boost::asio::awaitable<ProbeResult> Run(RunContext& ctx) override {
    auto& target = static_cast<targets::PostgresTarget&>(ctx.target);
    pg::QueryResult result = co_await target.Query(pg::WrapReadOnly(query_, ctx.timeout));
    if (!result.ok()) co_return ProbeResult::Fail("query: " + result.error);
    if (static_cast<std::int64_t>(result.rows.size()) > max_rows_) {
      co_return ProbeResult::Fail("query returned " + std::to_string(result.rows.size()) +
                                  " rows, more than max_rows " + std::to_string(max_rows_));
    }
    std::vector<int> label_index;
    for (const auto& label : labels_) {
      auto it = std::find(result.columns.begin(), result.columns.end(), label);
      if (it == result.columns.end()) co_return ProbeResult::Fail("label column " + label + " is not in the result");
      label_index.push_back(static_cast<int>(it - result.columns.begin()));
    }
    ProbeResult out = ProbeResult::Ok();
    for (const auto& row : result.rows) AppendRow(result, row, label_index, out.samples);
    out.observed = static_cast<double>(result.rows.size());
    out.reason = std::to_string(result.rows.size()) + " rows";
    co_return out;
  }

 private:
  void AppendRow(const pg::QueryResult& result, const std::vector<std::optional<std::string>>& row,
                 const std::vector<int>& label_index, std::vector<metrics::Sample>& out) const {
    metrics::Labels labels;
    for (std::size_t i = 0; i < labels_.size(); ++i) {
      labels.emplace_back(labels_[i], row[label_index[i]].value_or(""));
    }
    for (std::size_t c = 0; c < result.columns.size(); ++c) {
      const std::string& column = result.columns[c];
      if (std::find(labels_.begin(), labels_.end(), column) != labels_.end()) continue;
      if (!IsNumericType(result.column_types[c]) || !row[c] || !IsMetricNamePart(column)) continue;
      auto value = ToNumber(*row[c]);
      if (!value) continue;
      out.push_back(metrics::QueryColumn(column, *value, labels));
    }
  }

  std::string query_;
  std::vector<std::string> labels_;
  std::int64_t max_rows_;
};

}  // namespace

std::unique_ptr<Probe> ParsePostgresQuery(config::NodeReader& check) {
  auto query = check.String("query", true);
  auto labels = check.StringList("labels").value_or(std::vector<std::string>{});
  auto max_rows = check.Int("max_rows", 1, 100000).value_or(1000);
  bool ok = query.has_value();
  for (const auto& label : labels) {
    if (!IsMetricNamePart(label) || label == "check" || label == "target") {
      check.Error("labels", "invalid label name \"" + label +
                                "\" (use [a-z_][a-z0-9_]*, not check or target)");
      ok = false;
    }
  }
  if (!ok) return nullptr;
  return std::make_unique<PostgresQuery>(*query, labels, max_rows);
}

}  // namespace drwatch::probes
