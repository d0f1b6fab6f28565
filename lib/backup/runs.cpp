#include "backup/runs.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <map>
#include <set>

namespace drwatch::backup {
namespace {

using TimePoint = std::chrono::system_clock::time_point;

std::int64_t DaysSinceEpoch(TimePoint t) {
  auto secs = std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
  return secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
}

// The Thursday of t's ISO week identifies the week: ISO weeks run Monday to
// Sunday and belong to the year of their Thursday, so no year/week pair is
// needed to tell weeks apart. 1970-01-01 was a Thursday.
std::int64_t IsoWeekKey(TimePoint t) {
  std::int64_t days = DaysSinceEpoch(t);
  std::int64_t monday_based = ((days + 3) % 7 + 7) % 7;  // 0 = Monday
  return days - monday_based + 3;
}

// Marks the newest run of each of the newest `count` groups (runs newest first).
template <typename KeyFn>
void KeepNewestPerGroup(const std::vector<const RetentionInput*>& newest_first, int count, KeyFn key,
                        std::set<std::string>& kept) {
  std::set<std::int64_t> groups;
  for (const RetentionInput* run : newest_first) {
    if (static_cast<int>(groups.size()) >= count) break;
    if (groups.insert(key(run->time)).second) kept.insert(run->id);
  }
}

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

// Every key of a run, manifest first: a run half-deleted by a crash must not look complete.
std::vector<std::string> KeysToDelete(const RunInfo& run) {
  std::vector<std::string> keys;
  for (const auto& object : run.objects) {
    if (object.key.ends_with(kManifestName)) keys.insert(keys.begin(), object.key);
    else keys.push_back(object.key);
  }
  for (const auto& leftover : run.leftovers) keys.push_back(leftover.key);
  return keys;
}

}  // namespace

std::string RunId(std::chrono::system_clock::time_point t) {
  std::time_t secs = std::chrono::system_clock::to_time_t(
      std::chrono::time_point_cast<std::chrono::seconds>(t));
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  char buf[20];
  std::snprintf(buf, sizeof buf, "%04d%02d%02dT%02d%02d%02dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

std::optional<std::chrono::system_clock::time_point> ParseRunId(std::string_view id) {
  if (id.size() != 16 || id[8] != 'T' || id[15] != 'Z') return std::nullopt;
  for (std::size_t i : {0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14}) {
    if (id[i] < '0' || id[i] > '9') return std::nullopt;
  }
  auto num = [&](std::size_t pos, std::size_t n) {
    int v = 0;
    for (std::size_t i = 0; i < n; ++i) v = v * 10 + (id[pos + i] - '0');
    return v;
  };
  std::tm tm{};
  tm.tm_year = num(0, 4) - 1900;
  tm.tm_mon = num(4, 2) - 1;
  tm.tm_mday = num(6, 2);
  tm.tm_hour = num(9, 2);
  tm.tm_min = num(11, 2);
  tm.tm_sec = num(13, 2);
  std::tm check = tm;
  std::time_t secs = ::timegm(&tm);
  // timegm normalises 20261332 into another date: such an id is not one we wrote.
  if (tm.tm_year != check.tm_year || tm.tm_mon != check.tm_mon || tm.tm_mday != check.tm_mday ||
      tm.tm_hour != check.tm_hour || tm.tm_min != check.tm_min || tm.tm_sec != check.tm_sec) {
    return std::nullopt;
  }
  return std::chrono::system_clock::from_time_t(secs);
}

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

RetentionPlan PlanRetention(const std::vector<RetentionInput>& runs, const Keep& keep, const RetentionGuard& guard) {
  std::vector<const RetentionInput*> complete;
  for (const auto& run : runs) {
    if (run.complete) complete.push_back(&run);
  }
  std::sort(complete.begin(), complete.end(), [](const auto* a, const auto* b) {
    return a->time != b->time ? a->time > b->time : a->id > b->id;
  });
  std::set<std::string> kept;
  for (int i = 0; i < keep.last && i < static_cast<int>(complete.size()); ++i) kept.insert(complete[i]->id);
  KeepNewestPerGroup(complete, keep.daily, DaysSinceEpoch, kept);
  KeepNewestPerGroup(complete, keep.weekly, IsoWeekKey, kept);

  std::vector<const RetentionInput*> ordered;
  for (const auto& run : runs) ordered.push_back(&run);
  std::sort(ordered.begin(), ordered.end(), [](const auto* a, const auto* b) {
    return a->time != b->time ? a->time < b->time : a->id < b->id;
  });
  RetentionPlan plan;
  for (const RetentionInput* run : ordered) {
    if (run->id == guard.just_written || (run->complete && kept.contains(run->id))) {
      if (run->complete) plan.keep.push_back(run->id);
      continue;
    }
    if (run->complete) {
      plan.remove.push_back(run->id);
      continue;
    }
    // A run "in the future" (the clock stepped back) is young too.
    auto activity = std::max(run->time, run->last_activity);
    bool young = guard.min_age > guard.min_age.zero() && guard.now - activity < guard.min_age;
    (young ? plan.young : plan.remove).push_back(run->id);
  }
  return plan;
}

boost::asio::awaitable<RetentionResult> ApplyRetention(storage::Backend& store, std::string check, Keep keep,
                                                       std::string just_written,
                                                       std::chrono::system_clock::duration min_age) {
  RetentionResult out;
  RunsResult listed = co_await ListRuns(store, check, true);
  if (!listed.ok()) {
    out.error = listed.error;
    co_return out;
  }
  std::vector<RetentionInput> inputs;
  for (const auto& run : listed.runs) inputs.push_back({run.id, run.time, run.has_manifest, run.last_activity});
  RetentionGuard guard{std::move(just_written), std::chrono::system_clock::now(), min_age};
  out.plan = PlanRetention(inputs, keep, guard);
  std::set<std::string> remove(out.plan.remove.begin(), out.plan.remove.end());
  for (const auto& run : listed.runs) {
    bool whole = remove.contains(run.id);
    std::vector<std::string> keys;
    if (whole) keys = KeysToDelete(run);
    // In a kept run, only temp files no write can still be using.
    for (const auto& leftover : run.leftovers) {
      if (!whole && guard.now - leftover.mtime < min_age) continue;
      if (!whole) keys.push_back(leftover.key);
      ++out.leftovers_removed;
    }
    for (const auto& key : keys) {
      storage::Status deleted = co_await store.Delete(key);
      if (!deleted.ok() && out.error.empty()) out.error = deleted.error;
    }
    if (!whole) continue;
    storage::Status removed = co_await store.RemoveDirectory(check + "/" + run.id);
    if (!removed.ok() && out.error.empty()) out.error = removed.error;
  }
  co_return out;
}

}  // namespace drwatch::backup
