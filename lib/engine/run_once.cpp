#include "engine/run_once.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "config/duration.hpp"
#include "engine/state_store.hpp"

namespace drwatch::engine {

using namespace boost::asio::experimental::awaitable_operators;

const char* ToString(RunResult r) {
  switch (r) {
    case RunResult::kSuccess: return "success";
    case RunResult::kFailure: return "failure";
    case RunResult::kTimeout: return "timeout";
    case RunResult::kSkipped: return "skipped";
  }
  return "unknown";
}

void LastRuns::Set(const std::string& check, const run::LastRun& last) {
  std::lock_guard lock(mutex_);
  runs_[check] = last;
}

std::optional<run::LastRun> LastRuns::Get(const std::string& check) const {
  std::lock_guard lock(mutex_);
  auto it = runs_.find(check);
  if (it == runs_.end()) return std::nullopt;
  return it->second;
}

run::RunContext MakeRunContext(boost::asio::any_io_executor executor, BlockingPool& pool,
                               const catalogue::CheckSpec& check, targets::TargetRuntime& target,
                               std::chrono::milliseconds timeout, Clock::time_point deadline,
                               run::RunContext::FindTarget find_target, std::string storage_path,
                               std::shared_ptr<const LastRuns> known) {
  run::RunContext ctx{std::move(executor), pool, target, timeout, deadline, check.name, std::move(find_target)};
  ctx.storage_path = storage_path;
  ctx.read_last_run = [store = StateStore(std::move(storage_path)),
                       known = std::move(known)](const std::string& name) -> std::optional<run::LastRun> {
    auto in_memory = known ? known->Get(name) : std::nullopt;
    auto in_file = ReadLastRun(store, name);
    if (in_memory && (!in_file || in_memory->at >= in_file->at)) return in_memory;
    return in_file;
  };
  return ctx;
}

boost::asio::awaitable<RunOutcome> RunOnce(const catalogue::CheckSpec& check, run::RunContext& ctx) {
  auto start = Clock::now();
  Timer deadline(ctx.executor);
  deadline.expires_at(ctx.deadline);
  RunOutcome out;
  auto winner = co_await (check.probe->Run(ctx) || deadline.async_wait(boost::asio::use_awaitable));
  if (winner.index() == 0) {
    out.probe = std::move(std::get<0>(winner));
    out.result = out.probe.success ? RunResult::kSuccess : RunResult::kFailure;
  } else {
    out.result = RunResult::kTimeout;
    out.probe.reason = "timed out after " + config::FormatDuration(check.timeout);
  }
  out.duration_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  co_return out;
}

}  // namespace drwatch::engine
