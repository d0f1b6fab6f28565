// postgres.security: the weekly security review as read-only queries, one
// per rule, anchored on the rules of Supabase's database linter (splinter),
// so a Supabase user recognises them. Each rule counts its findings
// (drwatch_security_findings{rule}); the objects found go to the log and the
// command line's details, never into labels. The check fails when a rule of
// severity critical has findings.

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>

#include "config/node_reader.hpp"
#include "metrics/families.hpp"
#include "pg/quote.hpp"
#include "probes/postgres_probes.hpp"
#include "targets/postgres_target.hpp"

namespace drwatch::probes {
namespace {

enum class Severity { kOff, kInfo, kWarning, kCritical };

constexpr std::string_view kSeverityNames[] = {"off", "info", "warning", "critical"};

// A relation or function of the user's: not in a system schema, not a member of an extension.
#define DRWATCH_USER_NS "n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'"
#define DRWATCH_NOT_EXT(catalog, oid)                                                                     \
  "NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = '" catalog "'::regclass AND d.objid = " oid \
  " AND d.deptype = 'e')"
#define DRWATCH_REL "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE "

// Each query returns one text column: the objects found. {exposed} is the
// exposed schemas as a text[], {allowed} the allowed roles.
struct Rule {
  std::string_view name;
  Severity severity;  // the default; splinter's ERROR is critical, WARN warning, INFO info
  std::string_view sql;
};

const Rule kRules[] = {
    {"rls_disabled_in_public", Severity::kCritical,
     "SELECT n.nspname || '.' || c.relname " DRWATCH_REL
     "c.relkind IN ('r', 'p') AND NOT c.relispartition AND NOT c.relrowsecurity AND n.nspname = ANY({exposed}) "
     "AND " DRWATCH_NOT_EXT("pg_class", "c.oid")},
    {"rls_enabled_no_policy", Severity::kInfo,
     "SELECT n.nspname || '.' || c.relname " DRWATCH_REL
     "c.relkind IN ('r', 'p') AND c.relrowsecurity AND " DRWATCH_USER_NS
     " AND NOT EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid)"},
    {"policy_exists_rls_disabled", Severity::kCritical,
     "SELECT n.nspname || '.' || c.relname " DRWATCH_REL
     "c.relkind IN ('r', 'p') AND NOT c.relrowsecurity AND " DRWATCH_USER_NS
     " AND EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid)"},
    {"security_definer_view", Severity::kCritical,
     "SELECT n.nspname || '.' || c.relname " DRWATCH_REL
     "c.relkind = 'v' AND n.nspname = ANY({exposed}) AND " DRWATCH_NOT_EXT("pg_class", "c.oid")
     " AND NOT EXISTS (SELECT 1 FROM unnest(coalesce(c.reloptions, '{}'::text[])) o "
     "WHERE lower(o) ~ '^security_invoker=(true|on|yes|1|t|y)$')"},
    {"function_search_path_mutable", Severity::kWarning,
     "SELECT n.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')' "
     "FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE p.prosecdef AND " DRWATCH_USER_NS
     " AND " DRWATCH_NOT_EXT("pg_proc", "p.oid")
     " AND NOT EXISTS (SELECT 1 FROM unnest(coalesce(p.proconfig, '{}'::text[])) s WHERE s LIKE 'search\\_path=%')"},
    {"auth_users_exposed", Severity::kCritical,
     "SELECT DISTINCT n.nspname || '.' || c.relname " DRWATCH_REL
     "c.relkind IN ('v', 'm') AND n.nspname = ANY({exposed}) AND EXISTS (SELECT 1 FROM pg_rewrite r "
     "JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid "
     "AND d.refclassid = 'pg_class'::regclass WHERE r.ev_class = c.oid AND d.refobjid = to_regclass('auth.users'))"},
    {"extension_in_public", Severity::kWarning,
     "SELECT e.extname::text FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
     "WHERE n.nspname = 'public'"},
    {"anon_write_grants", Severity::kWarning,
     "SELECT n.nspname || '.' || c.relname || ' ' || string_agg(DISTINCT a.privilege_type, ',' ORDER BY "
     "a.privilege_type) || ' to ' || CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE 'anon' END "
     "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace CROSS JOIN LATERAL aclexplode(c.relacl) a "
     "WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND NOT c.relispartition AND " DRWATCH_USER_NS
     " AND a.privilege_type IN ('INSERT', 'UPDATE', 'DELETE', 'TRUNCATE') AND (a.grantee = 0 OR a.grantee = "
     "(SELECT oid FROM pg_roles WHERE rolname = 'anon')) GROUP BY n.nspname, c.relname, a.grantee"},
    {"public_schema_create", Severity::kWarning,
     "SELECT 'schema public'::text FROM pg_namespace n, aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a "
     "WHERE n.nspname = 'public' AND a.grantee = 0 AND a.privilege_type = 'CREATE'"},
    {"superuser_roles", Severity::kWarning,
     "SELECT r.rolname || ' (' || concat_ws(', ', CASE WHEN r.rolsuper THEN 'superuser' END, "
     "CASE WHEN r.rolbypassrls THEN 'bypassrls' END, CASE WHEN r.rolcreaterole THEN 'createrole' END) || ')' "
     "FROM pg_roles r WHERE (r.rolsuper OR r.rolbypassrls OR r.rolcreaterole) AND r.oid <> 10 "
     "AND r.rolname NOT LIKE 'pg\\_%' AND r.rolname <> ALL({allowed})"},
    {"md5_passwords", Severity::kWarning,
     "SELECT rolname::text FROM pg_authid WHERE rolpassword LIKE 'md5%'"},
    {"ssl_off", Severity::kWarning, "SELECT 'ssl = off'::text WHERE current_setting('ssl') = 'off'"},
};

#undef DRWATCH_REL
#undef DRWATCH_NOT_EXT
#undef DRWATCH_USER_NS

// Platform roles of a Supabase project that hold these attributes by design.
const std::vector<std::string> kDefaultAllowRoles = {
    "postgres",       "supabase_admin",          "supabase_auth_admin",       "supabase_storage_admin",
    "supabase_replication_admin", "supabase_read_only_user", "supabase_realtime_admin",
    "supabase_functions_admin",   "supabase_etl_admin",      "service_role", "dashboard_user", "authenticator",
    "pgbouncer"};

constexpr std::size_t kObjectsShown = 20;

std::string RuleSql(const Rule& rule, const std::string& exposed, const std::string& allowed) {
  std::string sql(rule.sql);
  for (auto [key, value] : {std::pair<std::string_view, const std::string*>{"{exposed}", &exposed},
                            {"{allowed}", &allowed}}) {
    for (auto at = sql.find(key); at != std::string::npos; at = sql.find(key)) sql.replace(at, key.size(), *value);
  }
  return sql;
}

struct Finding {
  std::vector<std::string> objects;
};

class PostgresSecurity final : public Probe {
 public:
  PostgresSecurity(std::map<std::string, Severity, std::less<>> severity, std::vector<std::string> exposed,
                   std::vector<std::string> allowed)
      : severity_(std::move(severity)), exposed_(pg::TextArray(exposed)), allowed_(pg::TextArray(allowed)) {}

  boost::asio::awaitable<ProbeResult> Run(RunContext& ctx) override {
    auto& target = static_cast<targets::PostgresTarget&>(ctx.target);
    pg::QueryResult can = co_await target.Query(
        pg::WrapReadOnly("SELECT has_table_privilege('pg_catalog.pg_authid', 'SELECT')", ctx.timeout));
    if (!can.ok()) co_return ProbeResult::Fail("query: " + can.error);
    bool authid = !can.rows.empty() && can.rows[0][0] == "t";
    std::string sql;
    std::vector<std::string> skipped;
    for (const auto& rule : kRules) {
      if (Level(rule) == Severity::kOff) continue;
      if (rule.name == "md5_passwords" && !authid) {
        skipped.push_back("md5_passwords skipped: pg_authid is not readable by this role (needs a superuser)");
        continue;
      }
      sql += std::string(sql.empty() ? "" : " UNION ALL ") + "SELECT " + pg::QuoteLiteral(rule.name) +
             ", x FROM (" + RuleSql(rule, exposed_, allowed_) + ") AS r(x)";
    }
    std::map<std::string, Finding, std::less<>> found;
    if (!sql.empty()) {
      pg::QueryResult result = co_await target.Query(pg::WrapReadOnly(sql + " ORDER BY 1, 2", ctx.timeout));
      if (!result.ok()) co_return ProbeResult::Fail("query: " + result.error);
      for (const auto& row : result.rows) {
        if (row.size() == 2 && row[0]) found[*row[0]].objects.push_back(row[1].value_or("?"));
      }
    }
    co_return Judge(ctx.check_name, found, skipped);
  }

 private:
  Severity Level(const Rule& rule) const {
    auto it = severity_.find(rule.name);
    return it == severity_.end() ? rule.severity : it->second;
  }

  ProbeResult Judge(std::string_view check, const std::map<std::string, Finding, std::less<>>& found,
                    const std::vector<std::string>& skipped) const {
    ProbeResult out;
    std::string critical, details;
    int warnings = 0;
    for (const auto& rule : kRules) {
      Severity level = Level(rule);
      if (level == Severity::kOff || (rule.name == "md5_passwords" && !skipped.empty())) continue;
      auto it = found.find(rule.name);
      std::size_t n = it == found.end() ? 0 : it->second.objects.size();
      out.samples.push_back(
          metrics::kSecurityFindings.Make(static_cast<double>(n), {{"rule", std::string(rule.name)}}));
      if (n == 0) continue;
      std::string listed;
      for (std::size_t i = 0; i < std::min(n, kObjectsShown); ++i) listed += (i ? ", " : "") + it->second.objects[i];
      if (n > kObjectsShown) listed += ", … (" + std::to_string(n - kObjectsShown) + " more)";
      std::string line = std::string(rule.name) + " (" + std::string(kSeverityNames[static_cast<int>(level)]) +
                         "): " + std::to_string(n) + ": " + listed;
      details += "  " + line + "\n";
      spdlog::info("check {}: {}", check, line);
      if (level == Severity::kCritical) {
        critical += (critical.empty() ? "" : ", ") + std::string(rule.name) + " (" + std::to_string(n) + ")";
      } else if (level == Severity::kWarning) {
        ++warnings;
      }
    }
    for (const auto& s : skipped) details += "  " + s + "\n";
    out.details = details.empty() ? "  no findings\n" : details;
    out.success = critical.empty();
    out.reason = critical.empty() ? "no critical findings, " + std::to_string(warnings) + " warning rule(s) with findings"
                                  : "critical findings: " + critical;
    return out;
  }

  std::map<std::string, Severity, std::less<>> severity_;  // overrides of the defaults
  std::string exposed_;  // text[] literal
  std::string allowed_;  // text[] literal
};

std::optional<Severity> ParseSeverity(const std::string& text) {
  for (std::size_t i = 0; i < std::size(kSeverityNames); ++i) {
    if (text == kSeverityNames[i]) return static_cast<Severity>(i);
  }
  return std::nullopt;
}

}  // namespace

std::unique_ptr<Probe> ParsePostgresSecurity(config::NodeReader& check) {
  bool ok = true;
  std::map<std::string, Severity, std::less<>> severity;
  if (check.Has("rules")) {
    auto rules = check.Map("rules");
    ok = rules.has_value();
    for (const auto& name : rules ? rules->Keys() : std::vector<std::string>{}) {
      bool known = std::any_of(std::begin(kRules), std::end(kRules), [&](const Rule& r) { return r.name == name; });
      if (!known) {
        rules->Error(name, "unknown rule (see docs/catalogue.md#postgressecurity)");
        ok = false;
        continue;
      }
      auto text = rules->String(name);  // a bare `off` is the text "off" here, not YAML 1.1's false
      auto level = text ? ParseSeverity(*text) : std::nullopt;
      if (text && !level) {
        rules->Error(name, "expected off, info, warning or critical");
      }
      if (!level) {
        ok = false;
        continue;
      }
      severity[name] = *level;
    }
  }
  auto exposed = check.StringList("exposed_schemas");
  auto allowed = check.StringList("allow_roles");
  ok = ok && (exposed || !check.Has("exposed_schemas")) && (allowed || !check.Has("allow_roles"));
  if (!ok) return nullptr;
  return std::make_unique<PostgresSecurity>(std::move(severity), exposed.value_or(std::vector<std::string>{"public"}),
                                            allowed.value_or(kDefaultAllowRoles));
}

}  // namespace drwatch::probes
