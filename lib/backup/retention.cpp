#include "backup/retention.hpp"

#include <algorithm>
#include <set>

#include "backup/runs.hpp"

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
