#include "targets/http_target.hpp"
#include "targets/postgres_target.hpp"
#include "targets/storage_target.hpp"
#include "targets/supabase_target.hpp"
#include "targets/target.hpp"

namespace drwatch::targets {

const std::vector<TargetType>& TargetTypes() {
  static const std::vector<TargetType> types = {
      {"postgres", &ParsePostgresTarget},
      {"http", &ParseHttpTarget},
      {"supabase", &ParseSupabaseTarget},
      {"storage", &ParseStorageTarget},
  };
  return types;
}

const TargetType* FindTargetType(std::string_view name) {
  for (const auto& t : TargetTypes()) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

}  // namespace drwatch::targets
