#include "backup/runs.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>

#include "common/iso8601.hpp"

namespace drwatch::backup {
namespace {

// The run that `object` ("<check>/<id>/…" or the directory "<check>/<id>")
// belongs to, created on first sight; nullptr when <id> is not a run id.
RunInfo* RunOf(std::map<std::string, RunInfo>& runs, const std::string& check, const storage::ObjectInfo& object) {
  std::string_view rest = std::string_view(object.key).substr(check.size() + 1);
  std::string id(rest.substr(0, rest.find('/')));
  auto time = ParseRunId(id);
  if (!time) return nullptr;  // not a run directory of ours
  RunInfo& run = runs[id];
  run.id = id;
  run.time = *time;
  run.last_activity = std::max({run.last_activity, *time, object.mtime});
  return &run;
}

std::string Joined(const std::vector<std::string>& parts, std::string_view separator) {
  std::string out;
  for (const auto& part : parts) out += (out.empty() ? "" : std::string(separator)) + part;
  return out;
}

}  // namespace

std::string RunId(std::chrono::system_clock::time_point t) { return FormatCompactUtc(t); }

std::optional<std::chrono::system_clock::time_point> ParseRunId(std::string_view id) { return ParseCompactUtc(id); }

std::string RunKey(std::string_view check, std::string_view id, std::string_view file) {
  return std::string(check) + "/" + std::string(id) + "/" + std::string(file);
}

boost::asio::awaitable<RunsResult> ListRuns(storage::Backend& store, std::string check, bool with_leftovers) {
  RunsResult out;
  storage::ListResult listed = co_await store.List(check + "/*/*", storage::kMaxListEntries);
  if (!listed.ok()) {
    out.error = listed.error;
    co_return out;
  }
  std::map<std::string, RunInfo> runs;  // sorted by id = by time
  for (auto& object : listed.objects) {
    RunInfo* run = RunOf(runs, check, object);
    if (!run) continue;
    run->total_bytes += object.size;
    if (object.key.ends_with("/" + std::string(kManifestName))) run->has_manifest = true;
    run->objects.push_back(std::move(object));
  }
  if (with_leftovers) {
    // Temp files are hidden from "*"; a run killed before its first commit
    // has nothing else, or only its directory.
    storage::ListResult hidden = co_await store.List(check + "/*/.*.partial-*", storage::kMaxListEntries);
    storage::ListResult dirs = co_await store.ListDirectories(check + "/*", storage::kMaxListEntries);
    out.error = !hidden.ok() ? hidden.error : dirs.error;
    if (!out.ok()) co_return out;
    for (auto& object : hidden.objects) {
      if (RunInfo* run = RunOf(runs, check, object)) run->leftovers.push_back(std::move(object));
    }
    for (const auto& dir : dirs.objects) RunOf(runs, check, dir);
  }
  for (auto& [id, run] : runs) {
    std::sort(run.objects.begin(), run.objects.end(),
              [](const auto& a, const auto& b) { return a.key < b.key; });
    out.runs.push_back(std::move(run));
  }
  co_return out;
}

std::string MissingFiles(const RunInfo& run, const Manifest& manifest) {
  std::map<std::string, std::uint64_t, std::less<>> sizes;
  for (const auto& object : run.objects) sizes[object.key.substr(object.key.rfind('/') + 1)] = object.size;
  for (const auto& file : manifest.files) {
    auto found = sizes.find(file.name);
    if (found == sizes.end()) return file.name + " is missing";
    if (found->second != file.size) {
      return file.name + " has " + std::to_string(found->second) + " bytes, the manifest lists " +
             std::to_string(file.size);
    }
  }
  return "";
}

boost::asio::awaitable<ManifestResult> ReadManifest(storage::Backend& store, std::string check, std::string id) {
  ManifestResult out;
  storage::GetResult got = co_await store.Get(RunKey(check, id, kManifestName), kMaxManifestBytes);
  if (!got.ok()) {
    out.error = got.error;
    co_return out;
  }
  std::string error;
  out.manifest = ParseManifest(got.data, error);
  if (!out.manifest) out.error = store.Locate(RunKey(check, id, "")) + error;
  co_return out;
}

boost::asio::awaitable<LatestResult> LatestComplete(storage::Backend& store, std::string check) {
  LatestResult out;
  RunsResult listed = co_await ListRuns(store, check);
  if (!listed.ok()) {
    out.error = listed.error;
    co_return out;
  }
  for (auto it = listed.runs.rbegin(); it != listed.runs.rend(); ++it) {
    if (!it->has_manifest) continue;
    ManifestResult read = co_await ReadManifest(store, check, it->id);
    std::string problem = read.ok() ? MissingFiles(*it, *read.manifest) : read.error;
    if (!problem.empty()) {  // a damaged run is skipped, not trusted
      spdlog::warn("backup {}: run {} is not complete, skipped: {}", check, it->id, problem);
      out.skipped.push_back("run " + it->id + ": " + problem);
      continue;
    }
    out.run = std::move(*it);
    out.manifest = std::move(*read.manifest);
    co_return out;
  }
  out.error = "no complete backup of " + check + " in " + store.Describe();
  if (!out.skipped.empty()) {
    // The newest few say what went wrong; all of them are in the log.
    constexpr std::size_t kNamed = 3;
    std::vector<std::string> named(out.skipped.begin(), out.skipped.begin() + std::min(kNamed, out.skipped.size()));
    if (out.skipped.size() > kNamed) named.push_back("and " + std::to_string(out.skipped.size() - kNamed) + " more");
    out.error += " (skipped " + Joined(named, "; ") + ")";
  }
  co_return out;
}

}  // namespace drwatch::backup
