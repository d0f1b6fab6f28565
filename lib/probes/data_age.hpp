#pragma once
// What the kinds that judge data age against the check's `max_age` share
// (postgres.recency, postgres.wal_archive, storage.freshness, supabase.backups).

#include "config/duration.hpp"
#include "metrics/families.hpp"

namespace drwatch::probes {

/// drwatch_data_max_age_seconds: the static sample of such a kind.
inline metrics::Sample MaxAgeSample(config::Duration max_age) {
  return metrics::kDataMaxAgeSeconds.Make(config::ToSeconds(max_age));
}

}  // namespace drwatch::probes
