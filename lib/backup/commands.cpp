#include "backup/commands.hpp"

#include <cstdio>
#include <ctime>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "backup/digest.hpp"
#include "backup/encryption.hpp"
#include "config/expand.hpp"
#include "backup/runs.hpp"
#include "common/iso8601.hpp"
#include "common/redact.hpp"

namespace drwatch::backup {
namespace {

// Objects larger than this are not verified (a run is checked file by file).
constexpr std::uint64_t kMaxVerifyBytes = std::uint64_t{1} << 40;


std::string Bytes(std::uint64_t n) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(n);
  int unit = 0;
  while (v >= 1024 && unit < 4) {
    v /= 1024;
    ++unit;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, unit == 0 ? "%.0f %s" : "%.1f %s", v, units[unit]);
  return buf;
}

// "ok (2 files)" or the first problem of a complete run's files.
boost::asio::awaitable<std::string> VerifyRun(storage::Backend& store, BlockingPool& pool, const std::string& check,
                                              const RunInfo& run, const Manifest& manifest) {
  for (const auto& file : manifest.files) {
    std::string key = RunKey(check, run.id, file.name);
    DigestResult digest = co_await HashStoredObject(store, pool, key, kMaxVerifyBytes);
    if (!digest.ok()) co_return "FAILED " + file.name + ": " + digest.error;
    if (digest.size != file.size) {
      co_return "FAILED " + file.name + ": " + std::to_string(digest.size) + " bytes, manifest says " +
          std::to_string(file.size);
    }
    if (digest.sha256 != file.sha256) co_return "FAILED " + file.name + ": SHA-256 does not match the manifest";
  }
  std::string encrypted = manifest.encryption ? ", encrypted with key " + manifest.encryption->key_id : "";
  co_return "ok (" + std::to_string(manifest.files.size()) + " files" + encrypted + ")";
}

}  // namespace

boost::asio::awaitable<int> ListCommand(storage::Backend& store, BlockingPool& pool, std::string check,
                                        std::ostream& out) {
  RunsResult listed = co_await ListRuns(store, check);
  if (!listed.ok()) {
    out << Redactor::Global().Apply("cannot list " + store.Describe() + ": " + listed.error) << "\n";
    co_return 1;
  }
  out << "runs of " << check << " in " << store.Locate(check) << "\n";
  if (listed.runs.empty()) {
    out << "(none)\n";
    co_return 0;
  }
  char header[160];
  std::snprintf(header, sizeof header, "%-17s %-21s %10s  %-10s %s\n", "RUN", "DATE", "SIZE", "STATE", "CHECKSUMS");
  out << header;
  int status = 0;
  for (const auto& run : listed.runs) {
    std::string state = "incomplete";
    std::string checksums = "-";
    if (run.has_manifest) {
      ManifestResult manifest = co_await ReadManifest(store, check, run.id);
      if (!manifest.ok()) {
        state = "damaged";
        checksums = manifest.error;
        status = 1;
      } else if (std::string missing = MissingFiles(run, *manifest.manifest); !missing.empty()) {
        checksums = "manifest.json present, but " + missing;  // state stays "incomplete"
        status = 1;
      } else {
        state = "complete";
        checksums = co_await VerifyRun(store, pool, check, run, *manifest.manifest);
        if (!checksums.starts_with("ok")) status = 1;
      }
    }
    char line[160];
    std::snprintf(line, sizeof line, "%-17s %-21s %10s  %-10s ", run.id.c_str(), FormatReadableUtc(run.time).c_str(),
                  Bytes(run.total_bytes).c_str(), state.c_str());
    out << line << Redactor::Global().Apply(checksums) << "\n";
  }
  co_return status;
}

namespace {

// One pass over `file`: verify only (out_fd -1) or write the plaintext.
std::string DecryptPass(const KeyRing& keys, const std::string& file, int out_fd) {
  int in = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return "cannot read " + file + ": " + std::generic_category().message(errno);
  std::string name = file.substr(file.rfind('/') + 1);
  StreamDecryptor decryptor(keys, name);
  std::uint64_t bytes = 0;
  std::string error = DecryptFds(decryptor, in, out_fd, file, "stdout", bytes);
  ::close(in);
  return error;
}

}  // namespace

int DecryptCommand(const std::string& file, const std::string& key_file, int out_fd, std::string& error) {
  std::string reason;
  auto text = config::ReadSecretFile(key_file, reason);
  if (!text) {
    error = reason.starts_with("secret file ") ? reason : "cannot read key file " + key_file + ": " + reason;
    return 1;
  }
  auto key = BackupKey::FromBase64(*text);
  if (!key) {
    error = "key file " + key_file + ": not a base64-encoded 32-byte key (make one with drwatchd backup keygen)";
    return 1;
  }
  KeyRing keys;
  keys.keys.push_back(std::move(*key));
  // Twice: first proving every chunk and the end, then writing, so a bad
  // file never leaves a plausible-looking partial plaintext behind.
  error = DecryptPass(keys, file, -1);
  if (error.empty()) error = DecryptPass(keys, file, out_fd);
  return error.empty() ? 0 : 1;
}

std::string KeygenCommand() { return GenerateKeyBase64() + "\n"; }

}  // namespace drwatch::backup
