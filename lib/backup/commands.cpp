#include "backup/commands.hpp"

#include <cstdio>
#include <ctime>

#include "backup/digest.hpp"
#include "backup/runs.hpp"
#include "common/redact.hpp"

namespace drwatch::backup {
namespace {

// Objects larger than this are not verified (a run is checked file by file).
constexpr std::uint64_t kMaxVerifyBytes = std::uint64_t{1} << 40;

std::string Date(std::chrono::system_clock::time_point t) {
  std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%SZ", &tm);
  return buf;
}

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
  co_return "ok (" + std::to_string(manifest.files.size()) + " files)";
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
    std::snprintf(line, sizeof line, "%-17s %-21s %10s  %-10s ", run.id.c_str(), Date(run.time).c_str(),
                  Bytes(run.total_bytes).c_str(), state.c_str());
    out << line << Redactor::Global().Apply(checksums) << "\n";
  }
  co_return status;
}

}  // namespace drwatch::backup
