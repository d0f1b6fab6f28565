#include "engine/exposition.hpp"

#include <malloc.h>

#include "common/clock.hpp"

namespace drwatch::engine {

net::MetricsBody MetricsCache::Render(std::uint64_t generation, const AppendHead& head, const AppendTail& tail) {
  if (!head_ || generation != generation_ || ToUnixSeconds(Clock::WallNow()) >= expires_at_) {
    {
      std::vector<metrics::Sample> samples;
      expires_at_ = head(samples);
      generation_ = generation;
      head_.reset();  // the old head's memory is free before the new one is made
      head_ = std::make_shared<const net::SharedText>(metrics::RenderText(samples));
    }
    // The samples of a large catalogue take many times the text's size and
    // are freed at once: give those pages back, or the RSS keeps the peak.
    malloc_trim(0);
    ++head_renders_;
  }
  std::vector<metrics::Sample> samples;
  tail(samples);
  return {head_, metrics::RenderText(samples)};
}

}  // namespace drwatch::engine
