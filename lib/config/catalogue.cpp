#include "config/catalogue.hpp"

#include <algorithm>
#include <set>

#include "config/expand.hpp"
#include "config/node_reader.hpp"

namespace drwatch::config {
namespace {

constexpr std::string_view kNameHint = "(use [a-z][a-z0-9_]*)";
constexpr std::int64_t kMaxConcurrency = 10000;

bool IsName(std::string_view s) {
  if (s.empty() || s[0] < 'a' || s[0] > 'z') return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; });
}

template <typename Range>
std::string Join(const Range& items) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += ", ";
    out += item;
  }
  return out;
}

std::string Quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

std::string Position(const YAML::Mark& mark) {
  return std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
}

// Parses the single document of the catalogue, or reports why not.
std::optional<YAML::Node> ParseDocument(const std::string& text, Diagnostics& diag) {
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAll(text);
  } catch (const YAML::Exception& e) {
    diag.Error(e.mark, "", "invalid YAML: " + e.msg);
    return std::nullopt;
  }
  if (docs.empty()) {
    diag.Error(YAML::Mark(), "", "the catalogue is empty");
    return std::nullopt;
  }
  if (docs.size() > 1) {
    diag.Error(docs[1].Mark(), "", "a second YAML document (a catalogue is one document)");
    return std::nullopt;
  }
  if (!docs[0].IsMap()) {
    diag.Error(docs[0].Mark(), "",
               "expected a mapping at the top level (global, targets, objectives, checks)");
    return std::nullopt;
  }
  return docs[0];
}

// Reads one catalogue into `cat`, reporting into `diag`. Cross-references are
// checked against everything declared, valid or not, so one mistake is
// reported once rather than again at every check that refers to it.
class Loader {
 public:
  Loader(Catalogue& cat, Diagnostics& diag) : cat_(cat), diag_(diag) {}

  void Load(const YAML::Node& root) {
    NodeReader top(root, "", diag_);
    ReadGlobal(top);
    ReadTargets(top);
    ReadObjectives(top);
    ReadChecks(top);
    top.Finish();
  }

 private:
  void ReadGlobal(NodeReader& top) {
    auto global = top.Map("global");
    if (!global) return;
    auto interval = global->DurationValue("interval");
    auto timeout = global->DurationValue("timeout");
    if (interval) cat_.global.interval = *interval;
    if (timeout) cat_.global.timeout = *timeout;
    global_schedule_ok_ = (interval || !global->Has("interval")) && (timeout || !global->Has("timeout"));
    if (auto v = global->Int("max_concurrency", 1, kMaxConcurrency)) {
      cat_.global.max_concurrency = static_cast<int>(*v);
    }
    if (global_schedule_ok_ && cat_.global.timeout >= cat_.global.interval) {
      global->Error(global->Has("timeout") ? "timeout" : "interval",
                    "timeout " + FormatDuration(cat_.global.timeout) + " must be shorter than interval " +
                        FormatDuration(cat_.global.interval));
    }
    global->Finish();
  }

  void ReadTargets(NodeReader& top) {
    auto targets = top.Map("targets", true);
    if (!targets) return;
    for (const auto& name : targets->Keys()) {
      target_names_.push_back(name);
      target_types_[name];  // declared, type unknown until read
      if (!IsName(name)) {
        diag_.Error(targets->MarkOf(name), targets->PathOf(name),
                    "invalid target name " + Quoted(name) + " " + std::string(kNameHint));
      }
      if (auto reader = targets->Map(name)) ReadTarget(*reader, name);
    }
  }

  void ReadTarget(NodeReader& reader, const std::string& name) {
    reader.OwnFingerprint();
    auto type = reader.String("type", true);
    if (!type) return;  // no Finish(): which keys are known depends on the type
    const targets::TargetType* target_type = targets::FindTargetType(*type);
    if (!target_type) {
      std::vector<std::string_view> known;
      for (const auto& t : targets::TargetTypes()) known.push_back(t.name);
      reader.Error("type", "unknown target type " + Quoted(*type) + " (known: " + Join(known) + ")");
      return;
    }
    target_types_[name] = *type;
    std::shared_ptr<targets::TargetSpec> spec = target_type->parse(reader);
    reader.Finish();
    if (!spec) return;
    spec->name = name;
    spec->type = *type;
    spec->fingerprint = reader.fingerprint();
    cat_.targets[name] = std::move(spec);
  }

  void ReadObjectives(NodeReader& top) {
    auto objectives = top.Map("objectives");
    if (!objectives) return;
    for (std::string_view kind : {"rpo", "rto"}) {
      auto group = objectives->Map(kind);
      if (!group) continue;
      for (const auto& name : group->Keys()) {
        objective_ids_.push_back(std::string(kind) + "." + name);
        if (!IsName(name)) {
          diag_.Error(group->MarkOf(name), group->PathOf(name),
                      "invalid objective name " + Quoted(name) + " " + std::string(kNameHint));
        }
        if (auto target = group->DurationValue(name, true)) {
          cat_.objectives.push_back(Objective{std::string(kind), name, *target});
        }
      }
    }
    objectives->Finish();
  }

  void ReadChecks(NodeReader& top) {
    auto checks = top.MapList("checks", true);
    if (!checks) return;
    if (checks->empty()) top.Error("checks", "no checks (declare at least one)");
    for (auto& check : *checks) {
      if (!check.valid()) continue;
      check.OwnFingerprint();
      ReadCheck(check);
    }
    LinkChecks();
  }

  // Checks that build on other checks (a drill on its backup) are linked once
  // every check is read: the one referred to may come later in the file.
  void LinkChecks() {
    std::map<std::string, std::size_t> index;
    for (std::size_t i = 0; i < cat_.checks.size(); ++i) index[cat_.checks[i].name] = i;
    std::map<std::string, std::chrono::milliseconds> objectives;
    for (const auto& o : cat_.objectives) objectives[o.id()] = o.target;
    for (auto [i, reader] : linked_) {
      CheckSpec& spec = cat_.checks[i];
      probes::LinkContext context{cat_.targets.at(spec.target).get(), {}, objectives};
      bool ok = true;
      for (const auto& ref : spec.probe->ReferencedChecks()) {
        auto found = index.find(ref.check);
        if (!CheckReferenceOk(*reader, spec, ref, found != index.end())) {
          ok = false;
          continue;
        }
        const CheckSpec& other = cat_.checks[found->second];
        context.checks.push_back({other.name, other.target, cat_.targets.at(other.target).get(), other.probe.get()});
        spec.fingerprint += "\n" + ref.key + ":\n" + other.fingerprint;
      }
      if (!ok) continue;
      for (const auto& error : spec.probe->Link(context)) reader->Error(error.key, error.message);
    }
  }

  // A referenced check is declared and of the kind needed (any, when the
  // reference names none); one declared but invalid was reported where it is
  // declared.
  bool CheckReferenceOk(NodeReader& reader, const CheckSpec& spec, const probes::CheckReference& ref, bool valid) {
    auto error = [&](const std::string& message) {
      const YAML::Node list = reader.node()[ref.key];
      if (ref.item < 0 || !list.IsSequence() || static_cast<std::size_t>(ref.item) >= list.size()) {
        reader.Error(ref.key, message);
      } else {
        diag_.Error(list[ref.item].Mark(), reader.PathOf(ref.key + "[" + std::to_string(ref.item) + "]"), message);
      }
    };
    auto declared = declared_checks_.find(ref.check);
    if (declared == declared_checks_.end()) {
      std::vector<std::string> names;
      for (const auto& [name, kind] : declared_checks_) {
        if (ref.kind.empty() || kind == ref.kind) names.push_back(name);
      }
      std::string which = ref.kind.empty() ? "" : ref.kind + " ";
      error("unknown check " + Quoted(ref.check) +
            (names.empty() ? " (no " + which + "checks are declared)"
                           : " (" + (ref.kind.empty() ? std::string("declared") : ref.kind + " checks") + ": " +
                                 Join(names) + ")"));
      return false;
    }
    if (!ref.kind.empty() && !declared->second.empty() && declared->second != ref.kind) {
      error("kind " + spec.kind + " needs a " + ref.kind + " check, " + Quoted(ref.check) + " is " + declared->second);
      return false;
    }
    return valid && (ref.kind.empty() || declared->second == ref.kind);
  }

  // Objectives a probe measures itself (a drill's systems) are declared.
  bool ReadMeasuredObjectives(NodeReader& reader, const CheckSpec& spec) {
    bool ok = true;
    for (const auto& ref : spec.probe->MeasuredObjectives()) {
      if (std::find(objective_ids_.begin(), objective_ids_.end(), ref.objective) != objective_ids_.end()) continue;
      std::string message = "unknown objective " + Quoted(ref.objective) +
                            (objective_ids_.empty() ? " (no objectives are declared)"
                                                    : " (declared: " + Join(objective_ids_) + ")");
      if (ref.item.empty() || !reader.node()[ref.key].IsMap()) {
        reader.Error(ref.key, message);
      } else {
        Diagnostics scratch;  // the mapping's own errors were reported by the probe's parser
        NodeReader items(reader.node()[ref.key], reader.PathOf(ref.key), scratch);
        diag_.Error(items.MarkOf(ref.item), items.PathOf(ref.item), message);
      }
      ok = false;
    }
    return ok;
  }

  void ReadCheck(NodeReader& reader) {
    CheckSpec spec;
    bool ok = ReadCheckName(reader, spec);
    const probes::ProbeKind* kind = ReadKind(reader, spec);
    if (!spec.name.empty()) declared_checks_.emplace(spec.name, spec.kind);
    ok = ReadCheckTarget(reader, kind, spec) && kind != nullptr && ok;
    ok = ReadSchedule(reader, kind, spec) && ok;
    ok = ReadCheckObjective(reader, spec) && ok;
    ok = ReadChecklist(reader, kind, spec) && ok;
    if (kind) {
      spec.probe = std::shared_ptr<probes::Probe>(kind->parse(reader));
      reader.Finish();  // after parse: the kind's own keys are known only now
      if (spec.probe) ok = ReadReferences(reader, spec) && ok;
      if (spec.probe) ok = ReadMeasuredObjectives(reader, spec) && ok;
    }
    if (!ok || !spec.probe) return;
    const auto& target = cat_.targets.at(spec.target);
    spec.fingerprint = reader.fingerprint() + "interval=" + FormatDuration(spec.interval) +
                       "\ntimeout=" + FormatDuration(spec.timeout) + "\ntarget:\n" + target->fingerprint;
    if (spec.schedule) spec.fingerprint += "\nschedule=" + spec.schedule->text;
    for (const auto& ref : spec.probe->ReferencedTargets()) {
      spec.fingerprint += "\n" + ref.key + ":\n" + cat_.targets.at(ref.target)->fingerprint;
    }
    if (!spec.probe->ReferencedChecks().empty()) linked_.emplace_back(cat_.checks.size(), &reader);
    cat_.checks.push_back(std::move(spec));
  }

  // The targets a probe uses besides its own (a replica): declared, of the
  // type it needs, and not the check's own target.
  bool ReadReferences(NodeReader& reader, const CheckSpec& spec) {
    bool ok = true;
    for (const auto& ref : spec.probe->ReferencedTargets()) {
      auto declared = target_types_.find(ref.target);
      if (declared == target_types_.end()) {
        reader.Error(ref.key, "unknown target " + Quoted(ref.target) +
                                  (target_names_.empty() ? " (no targets are declared)"
                                                         : " (declared: " + Join(target_names_) + ")"));
        ok = false;
      } else if (!declared->second.empty() && declared->second != ref.type) {
        reader.Error(ref.key, "kind " + spec.kind + " needs a " + ref.type + " target, " + Quoted(ref.target) +
                                  " is " + declared->second);
        ok = false;
      } else if (ref.target == spec.target) {
        reader.Error(ref.key, Quoted(ref.target) + " is the check's own target (name another one)");
        ok = false;
      } else {
        ok = cat_.targets.contains(ref.target) && ok;  // declared but invalid: reported there
      }
    }
    return ok;
  }

  bool ReadCheckName(NodeReader& reader, CheckSpec& spec) {
    auto name = reader.String("name", true);
    if (!name) return false;
    spec.name = *name;
    if (!IsName(*name)) {
      reader.Error("name", "invalid check name " + Quoted(*name) + " " + std::string(kNameHint));
      return false;
    }
    YAML::Mark here = reader.node()["name"].Mark();
    auto [first, inserted] = check_names_.emplace(*name, here);
    if (!inserted) {
      reader.Error("name",
                   "duplicate check name " + Quoted(*name) + " (first at " + Position(first->second) + ")");
      return false;
    }
    return true;
  }

  const probes::ProbeKind* ReadKind(NodeReader& reader, CheckSpec& spec) {
    auto kind_name = reader.String("kind", true);
    if (!kind_name) return nullptr;
    spec.kind = *kind_name;
    const probes::ProbeKind* kind = probes::FindProbeKind(*kind_name);
    if (!kind) {
      std::vector<std::string_view> known;
      for (const auto& k : probes::ProbeKinds()) known.push_back(k.name);
      reader.Error("kind", "unknown kind " + Quoted(*kind_name) + " (known: " + Join(known) + ")");
    }
    return kind;
  }

  bool ReadCheckTarget(NodeReader& reader, const probes::ProbeKind* kind, CheckSpec& spec) {
    const std::string key(kind && !kind->target_key.empty() ? kind->target_key : "target");
    auto target = reader.String(key, true);
    if (!target) return false;
    spec.target = *target;
    auto declared = target_types_.find(*target);
    if (declared == target_types_.end()) {
      reader.Error(key, "unknown target " + Quoted(*target) +
                                 (target_names_.empty() ? " (no targets are declared)"
                                                        : " (declared: " + Join(target_names_) + ")"));
      return false;
    }
    const std::string& type = declared->second;
    if (kind && !type.empty() && kind->target_type != type) {
      reader.Error(key, "kind " + std::string(kind->name) + " needs a " +
                                 std::string(kind->target_type) + " target, " + Quoted(*target) + " is " +
                                 type);
      return false;
    }
    return cat_.targets.contains(*target);
  }

  // Interval and timeout, defaulted from the kind or global; the timeout must be shorter.
  bool ReadSchedule(NodeReader& reader, const probes::ProbeKind* kind, CheckSpec& spec) {
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
  bool ReadWallSchedule(NodeReader& reader, const probes::ProbeKind* kind, CheckSpec& spec) {
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
  bool ReadScheduledTimeout(NodeReader& reader, const probes::ProbeKind* kind, const std::optional<Duration>& timeout,
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
  Duration DefaultTimeout(const probes::ProbeKind* kind) const {
    if (kind && kind->default_timeout.count() > 0) return std::chrono::duration_cast<Duration>(kind->default_timeout);
    return cat_.global.timeout;
  }
  static std::string TimeoutOrigin(const probes::ProbeKind* kind) {
    if (kind && kind->default_timeout.count() > 0) return " (default of " + std::string(kind->name) + ")";
    return " (global.timeout)";
  }

  // Which of the strategy's lists the check belongs to; the kind's by default.
  bool ReadChecklist(NodeReader& reader, const probes::ProbeKind* kind, CheckSpec& spec) {
    auto list = reader.String("checklist");
    if (!list) {
      if (kind) spec.checklist = std::string(kind->checklist);
      return !reader.Has("checklist");
    }
    if (*list != "daily" && *list != "weekly" && *list != "monthly") {
      reader.Error("checklist", "expected daily, weekly or monthly, got " + Quoted(*list));
      return false;
    }
    spec.checklist = *list;
    return true;
  }

  bool ReadCheckObjective(NodeReader& reader, CheckSpec& spec) {
    auto objective = reader.String("objective");
    if (!objective) return !reader.Has("objective");
    spec.objective = *objective;
    bool well_formed = (objective->starts_with("rpo.") || objective->starts_with("rto.")) &&
                       IsName(std::string_view(*objective).substr(4));
    if (!well_formed) {
      reader.Error("objective",
                   "invalid objective " + Quoted(*objective) + " (use rpo.<name> or rto.<name>)");
      return false;
    }
    if (std::find(objective_ids_.begin(), objective_ids_.end(), *objective) == objective_ids_.end()) {
      reader.Error("objective", "unknown objective " + Quoted(*objective) +
                                    (objective_ids_.empty() ? " (no objectives are declared)"
                                                            : " (declared: " + Join(objective_ids_) + ")"));
      return false;
    }
    return true;
  }

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

}  // namespace

LoadResult LoadCatalogueText(const std::string& text, const std::string& file) {
  Diagnostics diag;
  diag.file = file;
  auto catalogue = std::make_shared<Catalogue>();
  catalogue->file = file;
  if (auto root = ParseDocument(text, diag)) Loader(*catalogue, diag).Load(*root);
  // Secrets found late (a later target's password) may appear in earlier messages.
  diag.Redact();
  diag.SortByPosition();
  if (!diag.ok()) return LoadResult{nullptr, std::move(diag.errors)};
  return LoadResult{std::move(catalogue), {}};
}

LoadResult LoadCatalogueFile(const std::string& path) {
  std::string reason;
  auto text = ReadWholeFile(path, reason);
  if (!text) return LoadResult{nullptr, {path + ": cannot read: " + reason}};
  return LoadCatalogueText(*text, path);
}

}  // namespace drwatch::config
