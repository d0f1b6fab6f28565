#pragma once
// The standard process_* metrics, read from /proc/self at scrape time.

#include <vector>

#include "metrics/sample.hpp"

namespace drwatch::metrics {

/// Appends process_resident_memory_bytes, process_virtual_memory_bytes,
/// process_cpu_seconds_total, process_open_fds, process_max_fds and
/// process_start_time_seconds. A value that cannot be read is left out.
void AppendProcessSamples(std::vector<Sample>& out);

}  // namespace drwatch::metrics
