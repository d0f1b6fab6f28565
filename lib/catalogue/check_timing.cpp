#include "catalogue/loader.hpp"

namespace drwatch::catalogue::detail {

// Interval and timeout, defaulted from the kind or global; the timeout must be shorter.
bool Loader::ReadSchedule(NodeReader& reader, const probes::ProbeKind* kind, CheckSpec& spec) {
  auto interval = reader.DurationValue("interval");
  auto timeout = reader.DurationValue("timeout");
  if ((reader.Has("interval") && !interval) || (reader.Has("timeout") && !timeout)) return false;
  if (!ReadWallSchedule(reader, kind, spec)) return false;
  if (spec.schedule) return ReadScheduledTimeout(reader, kind, timeout, spec);
  if ((!interval || !timeout) && !global_schedule_ok_) return false;  // a default is already wrong
  bool kind_default = !interval && kind && kind->default_interval.count() > 0;
  spec.interval = interval.value_or(kind_default ? kind->default_interval : cat_.global.interval);
  spec.timeout = timeout.value_or(DefaultTimeout(kind));
  if (spec.timeout < spec.interval) return true;
  if (!interval && !timeout && !kind_default) return false;  // global's own error says it
  std::string message = "timeout " + FormatDuration(spec.timeout) + (timeout ? "" : TimeoutOrigin(kind)) +
                        " must be shorter than interval " + FormatDuration(spec.interval) +
                        (interval ? "" : kind_default ? " (default of " + spec.kind + ")" : " (global.interval)");
  reader.Error(timeout ? "timeout" : "interval", message);
  return false;
}

// `schedule`, or the kind's default schedule when the check sets neither
// schedule nor interval. Sets the interval to the schedule's period.
bool Loader::ReadWallSchedule(NodeReader& reader, const probes::ProbeKind* kind, CheckSpec& spec) {
  auto text = reader.String("schedule");
  if (!text) {
    if (reader.Has("schedule")) return false;
    if (reader.Has("interval") || !kind || kind->default_schedule.empty()) return true;
    text = std::string(kind->default_schedule);
  } else if (reader.Has("interval")) {
    reader.Error("schedule", "schedule and interval exclude each other (set one)");
    return false;
  }
  std::string error;
  spec.schedule = ParseSchedule(*text, error);
  if (!spec.schedule) {
    reader.Error("schedule", error);
    return false;
  }
  spec.interval = std::chrono::duration_cast<Duration>(spec.schedule->Period());
  return true;
}

// The timeout of a scheduled check: shorter than the schedule's period.
bool Loader::ReadScheduledTimeout(NodeReader& reader, const probes::ProbeKind* kind, const std::optional<Duration>& timeout,
                          CheckSpec& spec) {
  if (!timeout && !global_schedule_ok_) return false;  // global's own error says it
  spec.timeout = timeout.value_or(DefaultTimeout(kind));
  if (spec.timeout < spec.interval) return true;
  reader.Error(timeout ? "timeout" : "schedule",
               "timeout " + FormatDuration(spec.timeout) + (timeout ? "" : TimeoutOrigin(kind)) +
                   " must be shorter than the schedule's period " + FormatDuration(spec.interval));
  return false;
}

// The timeout of a check that sets none: the kind's own default (backups
// run for minutes), else global.timeout; and how messages name it.
Duration Loader::DefaultTimeout(const probes::ProbeKind* kind) const {
  if (kind && kind->default_timeout.count() > 0) return std::chrono::duration_cast<Duration>(kind->default_timeout);
  return cat_.global.timeout;
}

std::string Loader::TimeoutOrigin(const probes::ProbeKind* kind) {
  if (kind && kind->default_timeout.count() > 0) return " (default of " + std::string(kind->name) + ")";
  return " (global.timeout)";
}

}  // namespace drwatch::catalogue::detail
