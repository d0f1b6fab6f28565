#include "support/app_seed.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace drwatch::test {

void SeedAppDatabase(const PgCluster& cluster) {
  cluster.Exec(
      "CREATE SCHEMA auth;"
      "CREATE TABLE auth.users (id bigint PRIMARY KEY, email text NOT NULL UNIQUE);"
      "INSERT INTO auth.users SELECT g, 'user' || g || '@example.com' FROM generate_series(1, 20000) g;"
      "CREATE TABLE auth.sessions (id bigint PRIMARY KEY, user_id bigint REFERENCES auth.users, created_at "
      "timestamptz NOT NULL DEFAULT now());"
      "CREATE INDEX ON auth.sessions (user_id);"
      "INSERT INTO auth.sessions (id, user_id) SELECT g, 1 + g % 20000 FROM generate_series(1, 30000) g;"
      "CREATE TABLE public.orders (id bigint PRIMARY KEY, user_id bigint REFERENCES auth.users, "
      "amount numeric(12,2), note text);"
      "INSERT INTO public.orders SELECT g, 1 + g % 20000, g * 1.25, md5(g::text) FROM generate_series(1, 50000) g;"
      "CREATE TABLE public.audit_logs (id bigserial PRIMARY KEY, created_at timestamptz NOT NULL, what text);"
      "INSERT INTO public.audit_logs (created_at, what) SELECT now() - g * interval '1 minute', 'event ' || g "
      "FROM generate_series(1, 10000) g;"
      "CREATE VIEW public.order_totals AS SELECT user_id, sum(amount) AS total FROM public.orders GROUP BY 1;"
      "GRANT USAGE ON SCHEMA auth TO drwatch;"
      "GRANT SELECT ON ALL TABLES IN SCHEMA auth, public TO drwatch;"
      "GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO drwatch;");
}

const std::map<std::string, std::int64_t>& AppRowCounts() {
  static const std::map<std::string, std::int64_t> rows = {
      {"auth.users", 20000}, {"auth.sessions", 30000}, {"public.orders", 50000}, {"public.audit_logs", 10000}};
  return rows;
}

namespace {

// A /proc file of a process that may exit while we read it: "" then.
std::string ReadProc(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

}  // namespace

std::vector<int> OwnChildrenWith(const std::string& needle) {
  std::vector<int> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/proc", ec)) {
    std::string name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string stat = ReadProc(e.path() / "stat");
    auto close = stat.rfind(')');
    if (close == std::string::npos || stat.size() < close + 4 || stat[close + 2] == 'Z') continue;
    if (std::atoi(stat.c_str() + close + 4) != ::getpid()) continue;
    std::string cmdline = ReadProc(e.path() / "cmdline");
    std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
    if (cmdline.find(needle) != std::string::npos) out.push_back(std::stoi(name));
  }
  return out;
}

}  // namespace drwatch::test
