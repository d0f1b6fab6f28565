#include "engine/loop_lag.hpp"
#include "metrics/families.hpp"

#include <algorithm>

namespace drwatch::engine {

void WorstInWindow::Rotate(Clock::time_point now) {
  if (now - started_ < half_) return;
  // One half-window passed: the current half becomes the previous; two or
  // more: both are stale.
  previous_ = now - started_ < 2 * half_ ? current_ : Clock::duration{};
  current_ = {};
  started_ = now;
}

void WorstInWindow::Record(Clock::time_point now, Clock::duration value) {
  Rotate(now);
  current_ = std::max(current_, value);
}

Clock::duration WorstInWindow::Worst(Clock::time_point now) {
  Rotate(now);
  return std::max(current_, previous_);
}

struct LoopLagMonitor::State {
  State(boost::asio::any_io_executor executor, Clock::duration period) : timer(executor), period(period) {}
  Timer timer;
  Clock::duration period;
  WorstInWindow worst{std::chrono::seconds(10)};
  bool running = false;
};

namespace {

void Arm(const std::shared_ptr<LoopLagMonitor::State>& state);

}  // namespace

LoopLagMonitor::LoopLagMonitor(boost::asio::any_io_executor executor, Clock::duration period)
    : state_(std::make_shared<State>(std::move(executor), period)) {}

LoopLagMonitor::~LoopLagMonitor() { Stop(); }

namespace {

void Arm(const std::shared_ptr<LoopLagMonitor::State>& state) {
  auto due = Clock::now() + state->period;
  state->timer.expires_at(due);
  state->timer.async_wait([state, due](boost::system::error_code ec) {
    if (ec || !state->running) return;
    auto now = Clock::now();
    state->worst.Record(now, std::max(Clock::duration{}, now - due));
    Arm(state);
  });
}

}  // namespace

void LoopLagMonitor::Start() {
  if (state_->running) return;
  state_->running = true;
  Arm(state_);
}

void LoopLagMonitor::Stop() {
  state_->running = false;
  state_->timer.cancel();
}

void LoopLagMonitor::Collect(std::vector<metrics::Sample>& out) {
  double worst = std::chrono::duration<double>(state_->worst.Worst(Clock::now())).count();
  out.push_back(metrics::kEventLoopLagSeconds.Make(worst));
}

}  // namespace drwatch::engine
