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
#include <utility>
#include <vector>

#include "config/duration.hpp"

namespace drwatch::config {

/// Collected errors of one load, in document order of discovery.
struct Diagnostics {
  std::string file;                  // shown in every message
  std::vector<std::string> errors;
  std::vector<std::string> secrets;  // values from ${env:…}/${file:…}
  std::vector<std::pair<int, int>> positions;  // 0-based (line, column) of each error

  /// Adds "FILE:LINE:COL: PATH: message" (LINE and COL 1-based), redacted.
  /// Without a path: "FILE:LINE:COL: message"; without a mark: "FILE: PATH: message".
  void Error(const YAML::Mark& mark, std::string_view path, std::string_view message);
  bool ok() const { return errors.empty(); }
  /// Orders errors by position in the file (stable: errors at one position
  /// keep the order they were found in).
  void SortByPosition();
  /// Redacts every error again, with secrets registered since it was added.
  void Redact();
};

/// A view of one YAML mapping at `path` ("checks[1]"). Value errors are
/// reported at the value's position, errors about a key (unknown, duplicate)
/// at the key's, a missing key at the mapping's.
class NodeReader {
 public:
  /// Reports "expected a mapping" when `node` is not one, and every
  /// duplicate key as "duplicate key (first at LINE:COL)".
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
  /// As String, for values that name places, not credentials (a storage
  /// url, a directory): what ${env:…}/${file:…} put there is not treated as a
  /// secret, so paths in messages stay readable.
  std::optional<std::string> PublicString(std::string_view key, bool required = false);
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
  /// A nested mapping as a reader (path "parent.key") sharing this reader's
  /// fingerprint; nullopt when absent or not a mapping (then an error is
  /// reported).
  std::optional<NodeReader> Map(std::string_view key, bool required = false);
  /// A sequence of mappings as readers (paths "key[0]", "key[1]", …) sharing
  /// this reader's fingerprint. Items that are not mappings are included as
  /// invalid readers (see valid()), so indexes match the document.
  std::optional<std::vector<NodeReader>> MapList(std::string_view key, bool required = false);
  /// The keys of this mapping in document order, each once (all marked as
  /// read; duplicates were reported by the constructor).
  std::vector<std::string> Keys();

  /// Marks `key` as read without reading it.
  void Consume(std::string_view key);
  /// Reports every key that was never read as "unknown key" (path includes
  /// the key, position is the key's).
  void Finish();

  /// Reports an error at `key`'s value (or at the mapping itself when key is
  /// empty or absent), with path PathOf(key).
  void Error(std::string_view key, std::string_view message);
  /// Position of `key` (or the mapping) in the file.
  YAML::Mark MarkOf(std::string_view key) const;
  /// "path.key"
  std::string PathOf(std::string_view key) const;

  /// Every value read so far as "key=value\n" lines after expansion: two
  /// readers with the same fingerprint configure the same thing.
  /// Holds expanded values, secrets included: compare it, never log it.
  const std::string& fingerprint() const { return *fingerprint_; }
  /// Starts a fingerprint of this reader's own (shared with the children it
  /// creates from now on): each catalogue item (a target, a check) is
  /// fingerprinted alone, whatever its position in the file.
  void OwnFingerprint();

 private:
  struct Entry {
    YAML::Node key;
    YAML::Node value;
  };
  std::optional<Entry> Find(std::string_view key) const;
  std::optional<YAML::Node> Get(std::string_view key, bool required);
  YAML::Mark ValueMark(std::string_view key) const;
  std::optional<std::string> ExpandAt(const YAML::Mark& mark, const std::string& path,
                                      const std::string& text, bool secret = true);
  std::optional<std::string> StringValue(std::string_view key, bool required, bool secret);
  void Record(std::string_view key, std::string_view value);
  NodeReader Child(YAML::Node node, std::string path, std::string fingerprint_key) const;

  YAML::Node node_;
  std::string path_;
  Diagnostics& diag_;
  bool valid_ = true;
  std::set<std::string, std::less<>> read_;
  std::shared_ptr<std::string> fingerprint_;
  std::string fingerprint_prefix_;  // "headers." in a child: keys relative to the fingerprint's owner
};

}  // namespace drwatch::config
