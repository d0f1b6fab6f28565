#pragma once
// Parsers of the storage probe kinds, one per file: storage_reachable.cpp,
// storage_freshness.cpp, storage_replication.cpp. Each runs against the
// check's storage target's backend (lib/storage/backend.hpp).

#include <chrono>
#include <algorithm>
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

}  // namespace drwatch::probes
