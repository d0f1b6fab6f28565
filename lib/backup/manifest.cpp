#include "backup/manifest.hpp"

#include <boost/json.hpp>
#include <algorithm>
#include <cstdio>
#include <ctime>

#include "common/iso8601.hpp"

namespace drwatch::backup {
namespace {

namespace json = boost::json;
using TimePoint = std::chrono::system_clock::time_point;

bool IsSha256(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

void Indent(std::string& out, int level) { out.append(static_cast<std::size_t>(level) * 2, ' '); }

// boost::json::serialize writes one line; a manifest is read by people too,
// so it is pretty-printed with the keys in the order they were inserted.
void Pretty(const json::value& v, std::string& out, int level) {
  if (v.is_object()) {
    const auto& obj = v.get_object();
    if (obj.empty()) {
      out += "{}";
      return;
    }
    out += "{\n";
    bool first = true;
    for (const auto& [key, value] : obj) {
      if (!first) out += ",\n";
      first = false;
      Indent(out, level + 1);
      out += json::serialize(json::string(key)) + ": ";
      Pretty(value, out, level + 1);
    }
    out += "\n";
    Indent(out, level);
    out += "}";
  } else if (v.is_array()) {
    const auto& arr = v.get_array();
    if (arr.empty()) {
      out += "[]";
      return;
    }
    out += "[\n";
    for (std::size_t i = 0; i < arr.size(); ++i) {
      if (i) out += ",\n";
      Indent(out, level + 1);
      Pretty(arr[i], out, level + 1);
    }
    out += "\n";
    Indent(out, level);
    out += "]";
  } else {
    out += json::serialize(v);
  }
}

// Typed reads of a manifest's fields; the first problem is kept in `error`
// with the field's path.
class Reader {
 public:
  explicit Reader(std::string& error) : error_(error) {}

  std::string String(const json::object& obj, std::string_view key, const std::string& path,
                     bool required = true) {
    const json::value* v = obj.if_contains(key);
    if (!v) {
      if (required) Fail(path + std::string(key), "missing");
      return "";
    }
    if (!v->is_string()) {
      Fail(path + std::string(key), "expected a string");
      return "";
    }
    return std::string(v->get_string());
  }
  std::int64_t Int(const json::object& obj, std::string_view key, const std::string& path) {
    const json::value* v = obj.if_contains(key);
    if (!v) return Fail(path + std::string(key), "missing"), 0;
    if (v->is_int64() && v->get_int64() >= 0) return v->get_int64();
    if (v->is_uint64() && v->get_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) {
      return static_cast<std::int64_t>(v->get_uint64());
    }
    Fail(path + std::string(key), "expected a non-negative integer");
    return 0;
  }
  TimePoint Time(const json::object& obj, std::string_view key, const std::string& path) {
    std::string text = String(obj, key, path);
    if (!ok()) return {};
    auto t = ParseIso8601(text);
    if (!t) Fail(path + std::string(key), "not an RFC 3339 time: \"" + text + "\"");
    return t.value_or(TimePoint{});
  }
  const json::array* Array(const json::object& obj, std::string_view key, const std::string& path) {
    const json::value* v = obj.if_contains(key);
    if (!v) return Fail(path + std::string(key), "missing"), nullptr;
    if (!v->is_array()) return Fail(path + std::string(key), "expected a list"), nullptr;
    return &v->get_array();
  }
  const json::object* Object(const json::value& v, const std::string& path) {
    if (!v.is_object()) return Fail(path, "expected an object"), nullptr;
    return &v.get_object();
  }
  void Fail(const std::string& path, const std::string& what) {
    if (error_.empty()) error_ = std::string(kManifestName) + ": " + path + ": " + what;
  }
  bool ok() const { return error_.empty(); }

 private:
  std::string& error_;
};

void ReadFiles(Reader& r, const json::object& root, Manifest& m) {
  const json::array* files = r.Array(root, "files", "");
  if (!files) return;
  for (std::size_t i = 0; i < files->size() && r.ok(); ++i) {
    std::string path = "files[" + std::to_string(i) + "]";
    const json::object* f = r.Object((*files)[i], path);
    if (!f) return;
    ManifestFile file;
    file.name = r.String(*f, "name", path + ".");
    file.size = static_cast<std::uint64_t>(r.Int(*f, "size", path + "."));
    file.sha256 = r.String(*f, "sha256", path + ".");
    if (f->contains("plaintext_size")) {
      file.plaintext_size = static_cast<std::uint64_t>(r.Int(*f, "plaintext_size", path + "."));
    }
    if (r.ok() && !IsSha256(file.sha256)) r.Fail(path + ".sha256", "not a SHA-256 hex digest");
    if (r.ok() && (file.name.empty() || file.name.find('/') != std::string::npos || file.name[0] == '.')) {
      r.Fail(path + ".name", "not a plain file name: \"" + file.name + "\"");
    }
    m.files.push_back(std::move(file));
  }
}

void ReadTables(Reader& r, const json::object& root, Manifest& m) {
  if (!root.contains("tables")) return;
  const json::array* tables = r.Array(root, "tables", "");
  if (!tables) return;
  for (std::size_t i = 0; i < tables->size() && r.ok(); ++i) {
    std::string path = "tables[" + std::to_string(i) + "]";
    const json::object* t = r.Object((*tables)[i], path);
    if (!t) return;
    ManifestTable table;
    table.name = r.String(*t, "name", path + ".");
    table.rows = r.Int(*t, "rows", path + ".");
    m.tables.push_back(std::move(table));
  }
}

void ReadStructure(Reader& r, const json::object& root, Manifest& m) {
  const json::value* v = root.if_contains("structure");
  if (!v) return;
  const json::object* counts = r.Object(*v, "structure");
  if (!counts) return;
  for (const auto& [key, value] : *counts) {
    std::int64_t n = r.Int(*counts, key, "structure.");
    if (!r.ok()) return;
    m.structure.push_back({std::string(key), n});
  }
}

void ReadEncryption(Reader& r, const json::object& root, Manifest& m) {
  const json::value* v = root.if_contains("encryption");
  if (m.format == kEncryptedManifestFormat && !v) return r.Fail("encryption", "missing (format 2 is encrypted)");
  if (!v) return;
  const json::object* e = r.Object(*v, "encryption");
  if (!e) return;
  ManifestEncryption enc;
  enc.cipher = r.String(*e, "cipher", "encryption.");
  enc.key_id = r.String(*e, "key_id", "encryption.");
  m.encryption = std::move(enc);
}

}  // namespace

const ManifestFile* Manifest::Stored(std::string_view name) const {
  if (const ManifestFile* plain = File(name)) return plain;
  return File(std::string(name) + ".enc");
}

const ManifestFile* Manifest::File(std::string_view name) const {
  for (const auto& f : files) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

std::string ToJson(const Manifest& m) {
  json::object root;
  root["format"] = m.encryption ? kEncryptedManifestFormat : m.format;
  root["kind"] = m.kind;
  root["check"] = m.check;
  root["run"] = m.run;
  root["drwatch_version"] = m.drwatch_version;
  if (!m.server_version.empty()) root["server_version"] = m.server_version;
  if (!m.database.empty()) root["database"] = m.database;
  if (!m.source_path.empty()) root["source_path"] = m.source_path;
  root["started_at"] = FormatRfc3339(m.started_at);
  root["finished_at"] = FormatRfc3339(m.finished_at);
  json::array files;
  for (const auto& f : m.files) {
    json::object file{{"name", f.name}, {"size", f.size}, {"sha256", f.sha256}};
    if (f.plaintext_size) file["plaintext_size"] = *f.plaintext_size;
    files.push_back(std::move(file));
  }
  root["files"] = std::move(files);
  json::array tables;
  for (const auto& t : m.tables) tables.push_back(json::object{{"name", t.name}, {"rows", t.rows}});
  root["tables"] = std::move(tables);
  if (!m.structure.empty()) {
    json::object structure;
    for (const auto& c : m.structure) structure[c.name] = c.count;
    root["structure"] = std::move(structure);
  }
  if (m.encryption) root["encryption"] = json::object{{"cipher", m.encryption->cipher}, {"key_id", m.encryption->key_id}};
  std::string out;
  Pretty(root, out, 0);
  out += "\n";
  return out;
}

std::optional<Manifest> ParseManifest(std::string_view text, std::string& error) {
  error.clear();
  boost::system::error_code ec;
  json::value doc = json::parse(json::string_view(text.data(), text.size()), ec);
  if (ec) {
    error = std::string(kManifestName) + ": invalid JSON: " + ec.message();
    return std::nullopt;
  }
  Reader r(error);
  const json::object* root = r.Object(doc, "(top level)");
  if (!root) return std::nullopt;
  Manifest m;
  m.format = static_cast<int>(r.Int(*root, "format", ""));
  if (r.ok() && m.format != kManifestFormat && m.format != kEncryptedManifestFormat) {
    r.Fail("format", "unsupported format " + std::to_string(m.format) + " (this drwatchd reads " +
                         std::to_string(kManifestFormat) + " and " + std::to_string(kEncryptedManifestFormat) + ")");
  }
  m.kind = r.String(*root, "kind", "");
  m.check = r.String(*root, "check", "");
  m.run = r.String(*root, "run", "");
  m.drwatch_version = r.String(*root, "drwatch_version", "", false);
  m.server_version = r.String(*root, "server_version", "", false);
  m.database = r.String(*root, "database", "", false);
  m.source_path = r.String(*root, "source_path", "", false);
  m.started_at = r.Time(*root, "started_at", "");
  m.finished_at = r.Time(*root, "finished_at", "");
  if (r.ok()) ReadFiles(r, *root, m);
  if (r.ok()) ReadTables(r, *root, m);
  if (r.ok()) ReadStructure(r, *root, m);
  if (r.ok()) ReadEncryption(r, *root, m);
  if (!r.ok()) return std::nullopt;
  return m;
}

}  // namespace drwatch::backup
