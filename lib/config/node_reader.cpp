#include "config/node_reader.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <numeric>

#include "common/redact.hpp"
#include "common/text.hpp"
#include "config/expand.hpp"

namespace drwatch::config {
namespace {

constexpr std::string_view kDurationHint = "(use e.g. 500ms, 30s, 5m, 1h30m, 7d)";

std::string Position(const YAML::Mark& mark) {
  return std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
}

std::string FormatNumber(double value) {
  char buffer[32];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, end);
}

}  // namespace

void Diagnostics::Error(const YAML::Mark& mark, std::string_view path, std::string_view message) {
  std::string text = file;
  if (!mark.is_null()) text += ":" + Position(mark);
  text += ": ";
  if (!path.empty()) {
    text += path;
    text += ": ";
  }
  text += message;
  errors.push_back(Redactor::Global().Apply(text));
  positions.emplace_back(mark.line, mark.column);
}

void Diagnostics::SortByPosition() {
  std::vector<std::size_t> order(errors.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return positions[a] < positions[b]; });
  std::vector<std::string> sorted_errors;
  std::vector<std::pair<int, int>> sorted_positions;
  for (std::size_t i : order) {
    sorted_errors.push_back(std::move(errors[i]));
    sorted_positions.push_back(positions[i]);
  }
  errors = std::move(sorted_errors);
  positions = std::move(sorted_positions);
}

void Diagnostics::Redact() {
  for (auto& error : errors) error = Redactor::Global().Apply(error);
}

NodeReader::NodeReader(YAML::Node node, std::string path, Diagnostics& diag)
    : node_(std::move(node)),
      path_(std::move(path)),
      diag_(diag),
      fingerprint_(std::make_shared<std::string>()) {
  if (!node_.IsMap()) {
    valid_ = false;
    diag_.Error(node_.Mark(), path_, "expected a mapping");
    return;
  }
  std::map<std::string, YAML::Mark, std::less<>> seen;
  for (auto it = node_.begin(); it != node_.end(); ++it) {
    // A copy: the iterator hands out a temporary pair, so a reference to its
    // member dangles at the end of the statement (ASan under catalogue_fuzz).
    YAML::Node key = it->first;
    if (!key.IsScalar()) {
      diag_.Error(key.Mark(), path_, "keys must be strings");
      continue;
    }
    auto [first, inserted] = seen.emplace(key.Scalar(), key.Mark());
    if (!inserted) {
      diag_.Error(key.Mark(), PathOf(key.Scalar()),
                  "duplicate key (first at " + Position(first->second) + ")");
    }
  }
}

NodeReader NodeReader::Child(YAML::Node node, std::string path, std::string fingerprint_key) const {
  NodeReader child(std::move(node), std::move(path), diag_);
  child.fingerprint_ = fingerprint_;
  child.fingerprint_prefix_ = fingerprint_prefix_ + fingerprint_key;
  return child;
}

void NodeReader::OwnFingerprint() {
  fingerprint_ = std::make_shared<std::string>();
  fingerprint_prefix_.clear();
}

std::optional<NodeReader::Entry> NodeReader::Find(std::string_view key) const {
  if (!valid_) return std::nullopt;
  for (auto it = node_.begin(); it != node_.end(); ++it) {
    if (it->first.IsScalar() && it->first.Scalar() == key) return Entry{it->first, it->second};
  }
  return std::nullopt;
}

bool NodeReader::Has(std::string_view key) const { return Find(key).has_value(); }

std::optional<YAML::Node> NodeReader::Get(std::string_view key, bool required) {
  if (!valid_) return std::nullopt;
  read_.emplace(key);
  auto entry = Find(key);
  if (entry) return entry->value;
  if (required) diag_.Error(node_.Mark(), PathOf(key), "missing required key");
  return std::nullopt;
}

YAML::Mark NodeReader::ValueMark(std::string_view key) const {
  auto entry = Find(key);
  if (!entry) return node_.Mark();
  // yaml-cpp marks an empty value ("key:" then a newline) at the next token,
  // often lines below: the key is the better place.
  const YAML::Mark& value = entry->value.Mark();
  if (entry->value.IsNull() && (value.is_null() || value.line > entry->key.Mark().line)) {
    return entry->key.Mark();
  }
  return value;
}

std::optional<std::string> NodeReader::ExpandAt(const YAML::Mark& mark, const std::string& path,
                                                const std::string& text, bool secret_values) {
  Expansion expansion = Expand(text);
  if (!secret_values) expansion.secrets.clear();
  // Register even after an error: the values substituted so far are secrets.
  for (auto& secret : expansion.secrets) {
    Redactor::Global().Add(secret);
    diag_.secrets.push_back(std::move(secret));
  }
  if (!expansion.error.empty()) {
    diag_.Error(mark, path, expansion.error);
    return std::nullopt;
  }
  return std::move(expansion.value);
}

std::optional<std::string> NodeReader::String(std::string_view key, bool required) {
  return StringValue(key, required, true);
}

std::optional<std::string> NodeReader::PublicString(std::string_view key, bool required) {
  return StringValue(key, required, false);
}

std::optional<std::string> NodeReader::StringValue(std::string_view key, bool required, bool secret) {
  auto value = Get(key, required);
  if (!value) return std::nullopt;
  if (!value->IsScalar()) {
    Error(key, "expected a string");
    return std::nullopt;
  }
  auto expanded = ExpandAt(ValueMark(key), PathOf(key), value->Scalar(), secret);
  if (expanded) Record(key, *expanded);
  return expanded;
}

std::optional<Duration> NodeReader::DurationValue(std::string_view key, bool required) {
  auto value = Get(key, required);
  if (!value) return std::nullopt;
  if (!value->IsScalar()) {
    Error(key, "expected a duration " + std::string(kDurationHint));
    return std::nullopt;
  }
  auto duration = ParseDuration(value->Scalar());
  if (!duration) {
    Error(key, "invalid duration \"" + value->Scalar() + "\" " + std::string(kDurationHint));
    return std::nullopt;
  }
  Record(key, FormatDuration(*duration));
  return duration;
}

std::optional<std::int64_t> NodeReader::Int(std::string_view key, std::int64_t min, std::int64_t max,
                                            bool required) {
  auto value = Get(key, required);
  if (!value) return std::nullopt;
  std::int64_t number = 0;
  bool ok = false;
  if (value->IsScalar()) {
    const std::string& text = value->Scalar();
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
    ok = ec == std::errc() && end == text.data() + text.size() && !text.empty();
  }
  if (!ok || number < min || number > max) {
    Error(key, "expected an integer between " + std::to_string(min) + " and " + std::to_string(max));
    return std::nullopt;
  }
  Record(key, std::to_string(number));
  return number;
}

std::optional<double> NodeReader::Double(std::string_view key, double min, double max, bool required) {
  auto value = Get(key, required);
  if (!value) return std::nullopt;
  double number = 0;
  bool ok = false;
  if (value->IsScalar()) {
    const std::string& text = value->Scalar();
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
    ok = ec == std::errc() && end == text.data() + text.size() && !text.empty() && std::isfinite(number);
  }
  if (!ok || number < min || number > max) {
    Error(key, "expected a number between " + FormatNumber(min) + " and " + FormatNumber(max));
    return std::nullopt;
  }
  Record(key, FormatNumber(number));
  return number;
}

std::optional<bool> NodeReader::Bool(std::string_view key, bool required) {
  auto value = Get(key, required);
  if (!value) return std::nullopt;
  // Only YAML 1.2's true/false: yes/no/on/off are too easy to write by accident.
  if (value->IsScalar() && (value->Scalar() == "true" || value->Scalar() == "false")) {
    Record(key, value->Scalar());
    return value->Scalar() == "true";
  }
  Error(key, "expected true or false");
  return std::nullopt;
}

std::optional<std::vector<std::string>> NodeReader::StringList(std::string_view key, bool required) {
  auto value = Get(key, required);
  if (!value) return std::nullopt;
  if (!value->IsSequence()) {
    Error(key, "expected a list of strings");
    return std::nullopt;
  }
  std::vector<std::string> out;
  bool ok = true;
  for (std::size_t i = 0; i < value->size(); ++i) {
    YAML::Node item = (*value)[i];
    std::string item_key = std::string(key) + "[" + std::to_string(i) + "]";
    if (!item.IsScalar()) {
      diag_.Error(item.Mark(), PathOf(item_key), "expected a string");
      ok = false;
      continue;
    }
    auto expanded = ExpandAt(item.Mark(), PathOf(item_key), item.Scalar());
    if (!expanded) {
      ok = false;
      continue;
    }
    Record(item_key, *expanded);
    out.push_back(std::move(*expanded));
  }
  if (!ok) return std::nullopt;
  return out;
}

std::optional<NodeReader> NodeReader::Map(std::string_view key, bool required) {
  auto value = Get(key, required);
  if (!value) return std::nullopt;
  if (!value->IsMap()) {
    Error(key, "expected a mapping");
    return std::nullopt;
  }
  return Child(*value, PathOf(key), std::string(key) + ".");
}

std::optional<std::vector<NodeReader>> NodeReader::MapList(std::string_view key, bool required) {
  auto value = Get(key, required);
  if (!value) return std::nullopt;
  if (!value->IsSequence()) {
    Error(key, "expected a list");
    return std::nullopt;
  }
  std::vector<NodeReader> out;
  for (std::size_t i = 0; i < value->size(); ++i) {
    std::string item_key = std::string(key) + "[" + std::to_string(i) + "]";
    out.push_back(Child((*value)[i], PathOf(item_key), item_key + "."));
  }
  return out;
}

std::vector<std::string> NodeReader::Keys() {
  std::vector<std::string> out;
  if (!valid_) return out;
  for (auto it = node_.begin(); it != node_.end(); ++it) {
    if (!it->first.IsScalar()) continue;
    std::string key = it->first.Scalar();
    if (std::find(out.begin(), out.end(), key) != out.end()) continue;
    out.push_back(key);
    read_.insert(key);
  }
  return out;
}

void NodeReader::Consume(std::string_view key) { read_.emplace(key); }

void NodeReader::Finish() {
  if (!valid_) return;
  std::set<std::string, std::less<>> reported;
  for (auto it = node_.begin(); it != node_.end(); ++it) {
    if (!it->first.IsScalar()) continue;
    std::string key = it->first.Scalar();
    if (read_.contains(key) || !reported.insert(key).second) continue;
    diag_.Error(it->first.Mark(), PathOf(key), "unknown key");
  }
}

void NodeReader::Error(std::string_view key, std::string_view message) {
  if (key.empty()) {
    diag_.Error(node_.Mark(), path_, message);
    return;
  }
  diag_.Error(ValueMark(key), PathOf(key), message);
}

YAML::Mark NodeReader::MarkOf(std::string_view key) const {
  if (key.empty()) return node_.Mark();
  auto entry = Find(key);
  return entry ? entry->key.Mark() : node_.Mark();
}

std::string NodeReader::PathOf(std::string_view key) const {
  if (path_.empty()) return std::string(key);
  return path_ + "." + std::string(key);
}

void NodeReader::Record(std::string_view key, std::string_view value) {
  *fingerprint_ += fingerprint_prefix_;
  *fingerprint_ += key;
  *fingerprint_ += '=';
  *fingerprint_ += EscapeBackslashNewline(value);
  *fingerprint_ += '\n';
}

}  // namespace drwatch::config
