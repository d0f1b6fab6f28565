#include "support/grafana_dashboard.hpp"

#include <cctype>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>

namespace drwatch::test {

namespace json = boost::json;

std::string ReadTextFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

json::value ParseJsonFile(const std::string& path) {
  boost::system::error_code ec;
  json::value value = json::parse(ReadTextFile(path), ec);
  if (ec) throw std::runtime_error(path + ": invalid JSON: " + ec.message());
  return value;
}

namespace {

void CollectPanels(const json::value& holder, std::vector<const json::object*>& out) {
  const auto* object = holder.if_object();
  if (!object || !object->contains("panels") || !object->at("panels").is_array()) return;
  for (const auto& panel : object->at("panels").as_array()) {
    if (!panel.is_object()) continue;
    out.push_back(&panel.as_object());
    CollectPanels(panel, out);  // a collapsed row keeps its panels inside
  }
}

std::string StringOr(const json::object& object, const char* key, std::string fallback = "") {
  auto it = object.find(key);
  return it != object.end() && it->value().is_string() ? std::string(it->value().as_string()) : fallback;
}

std::string PanelName(const json::object& panel) {
  std::string id = panel.contains("id") ? json::serialize(panel.at("id")) : "?";
  return "panel " + id + " \"" + StringOr(panel, "title") + "\"";
}

}  // namespace

std::vector<const json::object*> DashboardPanels(const json::value& dashboard) {
  std::vector<const json::object*> panels;
  CollectPanels(dashboard, panels);
  return panels;
}

std::vector<DashboardQuery> PanelExpressions(const json::value& dashboard) {
  std::vector<DashboardQuery> out;
  for (const auto* panel : DashboardPanels(dashboard)) {
    auto targets = panel->find("targets");
    if (targets == panel->end() || !targets->value().is_array()) continue;
    for (const auto& target : targets->value().as_array()) {
      if (!target.is_object() || !target.as_object().contains("expr")) continue;
      const auto& t = target.as_object();
      out.push_back({PanelName(*panel) + " target " + StringOr(t, "refId", "?"), StringOr(t, "expr")});
    }
  }
  return out;
}

std::vector<DashboardQuery> VariableSelectors(const json::value& dashboard) {
  std::vector<DashboardQuery> out;
  const auto* templating = dashboard.as_object().if_contains("templating");
  if (!templating || !templating->is_object() || !templating->as_object().contains("list")) return out;
  static const std::regex kLabelValues(R"(^\s*label_values\((.*),\s*[A-Za-z_][A-Za-z0-9_]*\s*\)\s*$)");
  for (const auto& variable : templating->as_object().at("list").as_array()) {
    const auto& v = variable.as_object();
    if (StringOr(v, "type") != "query") continue;
    const json::value& query = v.at("query");
    std::string text = query.is_string() ? std::string(query.as_string())
                                         : StringOr(query.as_object(), "query");
    std::smatch m;
    if (!std::regex_match(text, m, kLabelValues)) {
      throw std::runtime_error("variable " + StringOr(v, "name") + ": not label_values(SELECTOR, label): " + text);
    }
    out.push_back({"variable " + StringOr(v, "name"), m[1]});
  }
  return out;
}

std::string ExpandGrafanaVariables(std::string expr) {
  static const std::vector<std::pair<std::regex, std::string>> kRules = {
      {std::regex(R"(\$__rate_interval|\$\{__rate_interval\}|\$__interval|\$\{__interval\})"), "1m"},
      {std::regex(R"(\$__range|\$\{__range\})"), "1h"},
      {std::regex(R"(\$\{[A-Za-z_][A-Za-z0-9_]*(:[a-z]+)?\}|\$[A-Za-z_][A-Za-z0-9_]*)"), ".*"},
  };
  for (const auto& [pattern, replacement] : kRules) expr = std::regex_replace(expr, pattern, replacement);
  return expr;
}

namespace {

// Blanks out string literals, label matchers {…} and ranges […] so that
// label names, values and durations are not mistaken for metric names.
std::string StripNonNames(const std::string& expr) {
  std::string out;
  char quote = 0;
  char close = 0;
  for (std::size_t i = 0; i < expr.size(); ++i) {
    char c = expr[i];
    if (quote) {
      if (c == '\\' && quote != '`') ++i;
      else if (c == quote) quote = 0;
      out += ' ';
    } else if (c == '"' || c == '\'' || c == '`') {
      quote = c;
      out += ' ';
    } else if (close) {
      if (c == close) close = 0;
      out += ' ';
    } else if (c == '{' || c == '[') {
      close = c == '{' ? '}' : ']';
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

bool IsNameStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':'; }
bool IsNameChar(char c) { return IsNameStart(c) || std::isdigit(static_cast<unsigned char>(c)); }

}  // namespace

std::set<std::string> PromqlMetricNames(const std::string& expr) {
  static const std::set<std::string> kLabelLists = {"by", "without", "on", "ignoring", "group_left", "group_right"};
  static const std::set<std::string> kSkip = {
      "and", "or", "unless", "bool", "offset", "atan2", "inf", "nan",
      "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
      "bottomk", "topk", "quantile"};
  std::string text = StripNonNames(expr);
  std::set<std::string> names;
  std::size_t i = 0;
  auto next_non_space = [&](std::size_t from) {
    while (from < text.size() && std::isspace(static_cast<unsigned char>(text[from]))) ++from;
    return from;
  };
  while (i < text.size()) {
    char c = text[i];
    if (std::isdigit(static_cast<unsigned char>(c)) || c == '.') {  // a number or a duration
      while (i < text.size() && (IsNameChar(text[i]) || text[i] == '.')) ++i;
      continue;
    }
    if (!IsNameStart(c)) {
      ++i;
      continue;
    }
    std::size_t start = i;
    while (i < text.size() && IsNameChar(text[i])) ++i;
    std::string word = text.substr(start, i - start);
    std::size_t after = next_non_space(i);
    bool call = after < text.size() && text[after] == '(';
    if (kLabelLists.count(word)) {
      if (call) i = text.find(')', after) == std::string::npos ? text.size() : text.find(')', after) + 1;
      continue;
    }
    if (call || kSkip.count(word)) continue;
    names.insert(word);
  }
  return names;
}

std::set<std::string> ReadmeMetricNames(const std::string& readme_text) {
  auto start = readme_text.find("\n## Metrics");
  if (start == std::string::npos) throw std::runtime_error("README.md has no \"## Metrics\" section");
  auto end = readme_text.find("\n## ", start + 1);
  std::string section = readme_text.substr(start, end == std::string::npos ? std::string::npos : end - start);
  static const std::regex kName(R"(`((?:drwatch|process)_[a-z0-9_]*[a-z0-9])[`{])");
  std::set<std::string> names;
  for (std::sregex_iterator it(section.begin(), section.end(), kName), last; it != last; ++it) {
    names.insert((*it)[1]);
  }
  return names;
}

}  // namespace drwatch::test
