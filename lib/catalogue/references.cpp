#include <algorithm>

#include "catalogue/loader.hpp"

namespace drwatch::catalogue::detail {

// Checks that build on other checks (a drill on its backup) are linked once
// every check is read: the one referred to may come later in the file.
void Loader::LinkChecks() {
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
bool Loader::CheckReferenceOk(NodeReader& reader, const CheckSpec& spec, const probes::CheckReference& ref, bool valid) {
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
bool Loader::ReadMeasuredObjectives(NodeReader& reader, const CheckSpec& spec) {
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

// The targets a probe uses besides its own (a replica): declared, of the
// type it needs, and not the check's own target.
bool Loader::ReadReferences(NodeReader& reader, const CheckSpec& spec) {
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

}  // namespace drwatch::catalogue::detail
