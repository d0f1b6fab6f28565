#include <algorithm>

#include "catalogue/loader.hpp"

namespace drwatch::catalogue::detail {

namespace {

constexpr std::int64_t kMaxConcurrency = 10000;

std::string Position(const YAML::Mark& mark) {
  return std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
}

}  // namespace

bool IsName(std::string_view s) {
  if (s.empty() || s[0] < 'a' || s[0] > 'z') return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; });
}

void Loader::Load(const YAML::Node& root) {
  NodeReader top(root, "", diag_);
  ReadGlobal(top);
  ReadTargets(top);
  ReadObjectives(top);
  ReadChecks(top);
  top.Finish();
}

void Loader::ReadGlobal(NodeReader& top) {
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

void Loader::ReadTargets(NodeReader& top) {
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

void Loader::ReadTarget(NodeReader& reader, const std::string& name) {
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

void Loader::ReadObjectives(NodeReader& top) {
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

void Loader::ReadChecks(NodeReader& top) {
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

void Loader::ReadCheck(NodeReader& reader) {
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

bool Loader::ReadCheckName(NodeReader& reader, CheckSpec& spec) {
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

const probes::ProbeKind* Loader::ReadKind(NodeReader& reader, CheckSpec& spec) {
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

bool Loader::ReadCheckTarget(NodeReader& reader, const probes::ProbeKind* kind, CheckSpec& spec) {
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

bool Loader::ReadCheckObjective(NodeReader& reader, CheckSpec& spec) {
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

// Which of the strategy's lists the check belongs to; the kind's by default.
bool Loader::ReadChecklist(NodeReader& reader, const probes::ProbeKind* kind, CheckSpec& spec) {
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

}  // namespace drwatch::catalogue::detail
