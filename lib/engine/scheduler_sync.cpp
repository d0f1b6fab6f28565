#include <spdlog/spdlog.h>

#include <boost/asio/bind_executor.hpp>

#include "engine/scheduler.hpp"
#include "engine/scheduler_entry.hpp"
#include "engine/state_store.hpp"

namespace drwatch::engine {

void Scheduler::EnablePersistence(std::shared_ptr<const StateStore> store) {
  store_ = store;
  writer_ = std::make_unique<StateWriter>(executor_, pool_, std::move(store));
  poll_timer_ = std::make_unique<Timer>(executor_);
}

void Scheduler::Persist(const Entry& entry) {
  const CheckState& s = *entry.state;
  last_runs_->Set(entry.spec.name,
                  run::LastRun{s.last_result == RunResult::kSuccess, s.last_duration_seconds, s.last_run_timestamp});
  if (writer_) writer_->Save(entry.spec.name, EncodeState(entry.spec.name, entry.spec.kind, *entry.state));
}

// Takes a saved state's results (not its schedule). Counters never go
// backwards: each is the larger of ours and the file's.
void Scheduler::Restore(Entry& entry, const PersistedCheck& persisted) {
  CheckState& s = *entry.state;
  const CheckState& p = persisted.state;
  ++generation_;
  s.has_result = p.has_result;
  s.success = p.success;
  s.last_result = p.last_result;
  s.last_duration_seconds = p.last_duration_seconds;
  s.last_run_timestamp = p.last_run_timestamp;
  s.last_success_timestamp = p.last_success_timestamp;
  for (std::size_t i = 0; i < s.runs.size(); ++i) s.runs[i] = std::max(s.runs[i], p.runs[i]);
  s.reason = p.reason;
  s.observed = p.observed;
  s.objective_observed = p.objective_observed;
  s.samples.clear();
  for (const auto& sample : p.samples) s.samples.push_back(WithCheckLabels(sample, entry.spec));
  if (writer_) writer_->SetKnownMtime(entry.spec.name, persisted.mtime_ns);
  last_runs_->Set(entry.spec.name,
                  run::LastRun{s.last_result == RunResult::kSuccess, s.last_duration_seconds, s.last_run_timestamp});
}

void Scheduler::ArmStatePoll() {
  poll_timer_->expires_after(kStatePollInterval);
  poll_timer_->async_wait([this, alive = alive_](boost::system::error_code ec) {
    if (!ec && *alive && started_) PollStateFiles();
  });
}

// Looks, off the loop, for check files newer than the ones this process
// wrote or adopted: results of `drwatchd backup run` and the like.
void Scheduler::PollStateFiles() {
  struct Candidate {
    std::string check;
    std::string kind;
    std::int64_t known = 0;
    std::uint64_t generation = 0;
  };
  using Found = std::vector<std::pair<Candidate, PersistedCheck>>;
  std::vector<Candidate> candidates;
  for (const auto& e : entries_) {
    const auto& name = e->spec.name;
    if (writer_->Busy(name)) continue;
    candidates.push_back({name, e->spec.kind, writer_->KnownMtime(name), writer_->Generation(name)});
  }
  auto scan = [store = store_, candidates = std::move(candidates)] {
    Found found;
    for (const auto& c : candidates) {
      auto mtime = store->MtimeOf(c.check);
      if (mtime == 0 || mtime <= c.known) continue;
      std::string error;
      auto loaded = store->Load(c.check, error);
      if (!error.empty()) spdlog::warn("state of check {} not adopted: {}", c.check, error);
      if (loaded && loaded->kind == c.kind) found.emplace_back(c, std::move(*loaded));
    }
    return found;
  };
  auto drop = [](Found) {};
  auto adopt = [this, alive = alive_](std::optional<Found> found) {
    if (!*alive) return;
    if (found) {
      for (const auto& [c, persisted] : *found) Adopt(c.check, c.generation, persisted);
    }
    if (started_) ArmStatePoll();
  };
  RunBlocking(pool_, std::move(scan), std::move(drop), boost::asio::bind_executor(executor_, std::move(adopt)));
}

void Scheduler::Adopt(const std::string& check, std::uint64_t generation, const PersistedCheck& persisted) {
  if (writer_->Generation(check) != generation) return;  // we saved a newer result meanwhile
  for (const auto& e : entries_) {
    if (e->spec.name != check || e->spec.kind != persisted.kind) continue;
    if (e->state->has_result && persisted.state.last_run_timestamp <= e->state->last_run_timestamp) {
      writer_->SetKnownMtime(check, persisted.mtime_ns);  // not newer than what we have
      return;
    }
    Restore(*e, persisted);
    spdlog::info("check {}: adopted a result saved by another process ({}: {})", check,
                 ToString(persisted.state.last_result), persisted.state.reason);
    return;
  }
}

}  // namespace drwatch::engine
