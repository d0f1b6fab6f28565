#pragma once
// Strict, typed access to one YAML mapping of the catalogue. Every error is
// reported as "FILE:LINE:COL: KEY.PATH: message" into a shared Diagnostics
// list, so one load reports every problem at once. Keys never read are
// reported as unknown by Finish().

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "config/duration.hpp"

namespace drwatch::config {

/// Collected errors of one load, in document order of discovery.
struct Diagnostics {
  std::string file;                  // shown in every message
  std::vector<std::string> errors;
  std::vector<std::string> secrets;  // values from ${env:…}/${file:…}

  /// Adds "FILE:LINE:COL: PATH: message" (LINE and COL 1-based).
  void Error(const YAML::Mark& mark, std::string_view path, std::string_view message);
  bool ok() const { return errors.empty(); }
};

/// A view of one YAML mapping at `path` ("checks[1]").
class NodeReader {
 public:
  NodeReader(YAML::Node node, std::string path, Diagnostics& diag);

  const std::string& path() const { return path_; }
  const YAML::Node& node() const { return node_; }
  Diagnostics& diag() const { return diag_; }
  /// True when the node is a mapping (else an error was reported).
  bool valid() const { return valid_; }
  bool Has(std::string_view key) const;

  /// Scalar string with ${env:…}/${file:…} expanded. Missing and required:
  /// "missing required key". Not a scalar: "expected a string".
  std::optional<std::string> String(std::string_view key, bool required = false);
  /// Duration such as "30s": "invalid duration \"abc\" (use e.g. 500ms, 30s, 5m, 1h30m, 7d)".
  std::optional<Duration> DurationValue(std::string_view key, bool required = false);
  /// Integer within [min, max]: "expected an integer between MIN and MAX".
  std::optional<std::int64_t> Int(std::string_view key, std::int64_t min, std::int64_t max,
                                  bool required = false);
  /// Number within [min, max].
  std::optional<double> Double(std::string_view key, double min, double max, bool required = false);
  /// true/false.
  std::optional<bool> Bool(std::string_view key, bool required = false);
  /// A list of strings (each expanded).
  std::optional<std::vector<std::string>> StringList(std::string_view key, bool required = false);
  /// A nested mapping as a reader (path "parent.key"); nullopt when absent
  /// or not a mapping (then an error is reported).
  std::optional<NodeReader> Map(std::string_view key, bool required = false);
  /// A sequence of mappings as readers (paths "key[0]", "key[1]", …).
  std::optional<std::vector<NodeReader>> MapList(std::string_view key, bool required = false);
  /// The keys of this mapping in document order (all marked as read), with
  /// duplicates reported as "duplicate key".
  std::vector<std::string> Keys();

  /// Marks `key` as read without reading it.
  void Consume(std::string_view key);
  /// Reports every key that was never read as "unknown key" (path includes
  /// the key) and returns whether this mapping had no errors of its own.
  void Finish();

  /// Reports an error at `key` (or at the mapping itself when key is empty).
  void Error(std::string_view key, std::string_view message);
  /// Position of `key` (or the mapping) in the file.
  YAML::Mark MarkOf(std::string_view key) const;
  /// "path.key"
  std::string PathOf(std::string_view key) const;

  /// Every value read so far as "key=value\n" lines after expansion: two
  /// readers with the same fingerprint configure the same thing.
  const std::string& fingerprint() const { return *fingerprint_; }

 private:
  std::optional<YAML::Node> Get(std::string_view key, bool required);
  void Record(std::string_view key, std::string_view value);

  YAML::Node node_;
  std::string path_;
  Diagnostics& diag_;
  bool valid_ = true;
  std::set<std::string, std::less<>> read_;
  std::shared_ptr<std::string> fingerprint_;
};

}  // namespace drwatch::config
