#pragma once
// The /metrics body, rendered once per change of state rather than once per
// scrape: the samples that change only with results, reloads or a known
// time (checks, objectives, build and reload info) render into a kept head,
// deflated at most once (net::SharedText); the few that change at any time
// (process, loop lag, runs in flight, schedule delay) render per scrape
// into a small tail.

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "metrics/sample.hpp"
#include "net/http_server.hpp"

namespace drwatch::engine {

class MetricsCache {
 public:
  /// Appends the head's samples; returns the wall time (unix seconds) from
  /// which they could differ with the same generation (infinity: never).
  using AppendHead = std::function<double(std::vector<metrics::Sample>&)>;
  /// Appends the tail's samples.
  using AppendTail = std::function<void(std::vector<metrics::Sample>&)>;

  /// The body of a scrape now. `head` runs only when `generation` differs
  /// from the last render's or the time it returned then has come; `tail`
  /// runs every time. A metric family must come from one of them only.
  net::MetricsBody Render(std::uint64_t generation, const AppendHead& head, const AppendTail& tail);
  /// How many times the head was rendered.
  std::uint64_t head_renders() const { return head_renders_; }

 private:
  std::shared_ptr<const net::SharedText> head_;
  std::uint64_t generation_ = 0;
  double expires_at_ = 0;
  std::uint64_t head_renders_ = 0;
};

}  // namespace drwatch::engine
