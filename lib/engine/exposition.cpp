#include "engine/exposition.hpp"

#include "common/clock.hpp"

namespace drwatch::engine {

net::MetricsBody MetricsCache::Render(std::uint64_t generation, const AppendHead& head, const AppendTail& tail) {
  if (!head_ || generation != generation_ || ToUnixSeconds(Clock::WallNow()) >= expires_at_) {
    std::vector<metrics::Sample> samples;
    expires_at_ = head(samples);
    generation_ = generation;
    head_ = std::make_shared<const net::SharedText>(metrics::RenderText(samples));
    ++head_renders_;
  }
  std::vector<metrics::Sample> samples;
  tail(samples);
  return {head_, metrics::RenderText(samples)};
}

}  // namespace drwatch::engine
