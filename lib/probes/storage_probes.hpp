#pragma once
// Parsers of the storage probe kinds, one per file: storage_reachable.cpp,
// storage_freshness.cpp, storage_replication.cpp. Each runs against the
// check's storage target's backend (lib/storage/backend.hpp).

#include <chrono>
#include <cmath>
#include <memory>
#include <string>

#include "config/duration.hpp"
#include "probes/probe.hpp"

namespace drwatch::probes {

std::unique_ptr<Probe> ParseStorageReachable(config::NodeReader& check);
std::unique_ptr<Probe> ParseStorageFreshness(config::NodeReader& check);
std::unique_ptr<Probe> ParseStorageReplication(config::NodeReader& check);

/// Seconds between two times, never negative (a clock ahead of ours).
inline double SecondsBetween(std::chrono::system_clock::time_point earlier,
                             std::chrono::system_clock::time_point later) {
  return std::max(0.0, std::chrono::duration<double>(later - earlier).count());
}

/// An age in whole seconds ("1d2h", "35s"): reads better in a log line than "2m58s956ms".
inline std::string AgeText(double seconds) {
  return config::FormatDuration(config::Duration(std::llround(seconds) * 1000));
}

}  // namespace drwatch::probes
