#pragma once
// manifest.json: the last file a backup run writes. A run directory
// without one is incomplete: never counted, never restored, removed by the
// next run. The manifest lets a drill prove a run is intact (each file's size
// and SHA-256) and restored completely (row counts of listed tables, taken in
// the dump's own snapshot).

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace drwatch::backup {

inline constexpr int kManifestFormat = 1;
/// The format of a manifest of an encrypted run: an older drwatchd refuses it
/// by its format rather than failing to find "data.dump".
inline constexpr int kEncryptedManifestFormat = 2;
inline constexpr std::string_view kManifestName = "manifest.json";
inline constexpr std::size_t kMaxManifestBytes = 4 * 1024 * 1024;

struct ManifestFile {
  std::string name;     // as stored: "schema.sql", "data.dump", "files.tar.gz"; "data.dump.enc" when encrypted
  std::uint64_t size = 0;
  std::string sha256;   // lower-case hex, of what is stored
  std::optional<std::uint64_t> plaintext_size;  // encrypted files only
};

/// How the files of an encrypted run were encrypted (never the key).
struct ManifestEncryption {
  std::string cipher;  // backup::kCipherName
  std::string key_id;  // BackupKey::id()
};

struct ManifestTable {
  std::string name;     // "auth.users" (schema-qualified as listed in the catalogue)
  std::int64_t rows = 0;
};

/// One count of the database's structure ("policies" -> 7), taken in the
/// dump's snapshot: a restore must bring back at least as many.
struct ManifestCount {
  std::string name;
  std::int64_t count = 0;
};

struct Manifest {
  int format = kManifestFormat;
  std::string kind;             // "backup.pg_dump" | "backup.files"
  std::string check;            // the check that took it
  std::string run;              // run id, "20261125T023000Z"
  std::string drwatch_version;
  std::string server_version;   // source PostgreSQL, "15.8" (pg_dump only)
  std::string database;         // source database name (pg_dump only; no host, no user)
  std::string source_path;      // backup.files: the directory archived
  std::chrono::system_clock::time_point started_at;
  std::chrono::system_clock::time_point finished_at;
  std::vector<ManifestFile> files;
  std::vector<ManifestTable> tables;
  std::vector<ManifestCount> structure;  // pg_dump only; empty in runs of older drwatchd
  std::optional<ManifestEncryption> encryption;  // set: every file is encrypted (format 2)

  const ManifestFile* File(std::string_view name) const;
  /// The stored file that holds `name` ("data.dump"): itself, or
  /// "data.dump.enc" in an encrypted run.
  const ManifestFile* Stored(std::string_view name) const;
};

/// Pretty JSON, stable key order, timestamps as RFC 3339 UTC.
std::string ToJson(const Manifest& m);
/// Parses and validates (format, required fields, hex digests). On error
/// returns nullopt and sets `error` ("manifest.json: files[1].sha256: not a
/// SHA-256 hex digest").
std::optional<Manifest> ParseManifest(std::string_view json, std::string& error);

}  // namespace drwatch::backup
