#pragma once
// The catalogue loader's insides, shared by its files (loader.cpp: the
// sections and each check's keys; check_timing.cpp: interval, schedule and
// timeout; references.cpp: what checks name besides themselves). Not for use
// outside lib/catalogue/.

#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "catalogue/catalogue.hpp"
#include "config/duration.hpp"
#include "config/node_reader.hpp"
#include "config/schedule.hpp"

namespace drwatch::catalogue::detail {

using config::Diagnostics;
using config::Duration;
using config::FormatDuration;
using config::NodeReader;
using config::ParseSchedule;

inline constexpr std::string_view kNameHint = "(use [a-z][a-z0-9_]*)";

/// [a-z][a-z0-9_]*
bool IsName(std::string_view s);
/// "a, b, c"
template <typename Range>
std::string Join(const Range& items) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += ", ";
    out += item;
  }
  return out;
}
inline std::string Quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

// Reads one catalogue into `cat`, reporting into `diag`. Cross-references are
// checked against everything declared, valid or not, so one mistake is
// reported once rather than again at every check that refers to it.
class Loader {
 public:
  Loader(Catalogue& cat, Diagnostics& diag) : cat_(cat), diag_(diag) {}

  void Load(const YAML::Node& root);

 private:
  void ReadGlobal(NodeReader& top);
  void ReadTargets(NodeReader& top);
  void ReadTarget(NodeReader& reader, const std::string& name);
  void ReadObjectives(NodeReader& top);
  void ReadChecks(NodeReader& top);
  void ReadCheck(NodeReader& reader);
  bool ReadCheckName(NodeReader& reader, CheckSpec& spec);
  const probes::ProbeKind* ReadKind(NodeReader& reader, CheckSpec& spec);
  bool ReadCheckTarget(NodeReader& reader, const probes::ProbeKind* kind, CheckSpec& spec);
  bool ReadCheckObjective(NodeReader& reader, CheckSpec& spec);
  // Which of the strategy's lists the check belongs to; the kind's by default.
  bool ReadChecklist(NodeReader& reader, const probes::ProbeKind* kind, CheckSpec& spec);
  // Checks that build on other checks (a drill on its backup) are linked once
  // every check is read: the one referred to may come later in the file.
  void LinkChecks();
  // A referenced check is declared and of the kind needed (any, when the
  // reference names none); one declared but invalid was reported where it is
  // declared.
  bool CheckReferenceOk(NodeReader& reader, const CheckSpec& spec, const probes::CheckReference& ref, bool valid);
  // Objectives a probe measures itself (a drill's systems) are declared.
  bool ReadMeasuredObjectives(NodeReader& reader, const CheckSpec& spec);
  // The targets a probe uses besides its own (a replica): declared, of the
  // type it needs, and not the check's own target.
  bool ReadReferences(NodeReader& reader, const CheckSpec& spec);
  // Interval and timeout, defaulted from the kind or global; the timeout must be shorter.
  bool ReadSchedule(NodeReader& reader, const probes::ProbeKind* kind, CheckSpec& spec);
  // `schedule`, or the kind's default schedule when the check sets neither
  // schedule nor interval. Sets the interval to the schedule's period.
  bool ReadWallSchedule(NodeReader& reader, const probes::ProbeKind* kind, CheckSpec& spec);
  // The timeout of a scheduled check: shorter than the schedule's period.
  bool ReadScheduledTimeout(NodeReader& reader, const probes::ProbeKind* kind, const std::optional<Duration>& timeout,
                            CheckSpec& spec);
  // The timeout of a check that sets none: the kind's own default (backups
  // run for minutes), else global.timeout; and how messages name it.
  Duration DefaultTimeout(const probes::ProbeKind* kind) const;
  static std::string TimeoutOrigin(const probes::ProbeKind* kind);

  Catalogue& cat_;
  Diagnostics& diag_;
  bool global_schedule_ok_ = true;                   // global.interval and global.timeout parsed (or absent)
  std::vector<std::string> target_names_;            // document order
  std::map<std::string, std::string> target_types_;  // name → type, "" when unknown
  std::vector<std::string> objective_ids_;           // "rpo.realtime", document order
  std::map<std::string, YAML::Mark> check_names_;    // name → where first declared
  std::map<std::string, std::string> declared_checks_;  // name → kind ("" when unknown), valid or not
  std::vector<std::pair<std::size_t, NodeReader*>> linked_;  // checks to Link: index in cat_.checks, reader
};

}  // namespace drwatch::catalogue::detail
