#include "probes/postgres_probes.hpp"
#include "probes/probe.hpp"

namespace drwatch::probes {

const std::vector<ProbeKind>& ProbeKinds() {
  static const std::vector<ProbeKind> kinds = {
      {"postgres.ping", "postgres", &ParsePostgresPing},
      {"postgres.recency", "postgres", &ParsePostgresRecency},
      {"postgres.query", "postgres", &ParsePostgresQuery},
  };
  return kinds;
}

const ProbeKind* FindProbeKind(std::string_view name) {
  for (const auto& k : ProbeKinds()) {
    if (k.name == name) return &k;
  }
  return nullptr;
}

}  // namespace drwatch::probes
