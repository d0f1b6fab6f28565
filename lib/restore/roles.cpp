#include "restore/roles.hpp"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <optional>
#include <set>

#include "pg/quote.hpp"
#include "restore/fetch.hpp"

namespace drwatch::restore {
namespace {

namespace asio = boost::asio;

constexpr std::size_t kMaxRolesBytes = 16 * 1024 * 1024;

bool StartsWithWord(std::string_view s, std::string_view word) {
  if (s.size() < word.size()) return false;
  for (std::size_t i = 0; i < word.size(); ++i) {
    if (std::toupper(static_cast<unsigned char>(s[i])) != word[i]) return false;
  }
  return s.size() == word.size() || s[word.size()] == ' ';
}

// Reads an identifier (bare or "quoted") at the start of `s` and advances
// past it and the blanks after it.
std::optional<std::string> TakeIdent(std::string_view& s) {
  std::string name;
  std::size_t i = 0;
  if (!s.empty() && s[0] == '"') {
    for (i = 1; i < s.size(); ++i) {
      if (s[i] == '"') {
        if (i + 1 < s.size() && s[i + 1] == '"') {
          name += '"';
          ++i;
          continue;
        }
        break;
      }
      name += s[i];
    }
    if (i >= s.size()) return std::nullopt;
    ++i;
  } else {
    while (i < s.size() && s[i] != ' ' && s[i] != ';' && s[i] != ',') name += s[i++];
    // Bare identifiers are folded to lower case, as the server does.
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  }
  if (name.empty()) return std::nullopt;
  s.remove_prefix(i);
  while (!s.empty() && s[0] == ' ') s.remove_prefix(1);
  return name;
}

// The role a statement is about: "CREATE ROLE x", "ALTER ROLE x …",
// "COMMENT ON ROLE x …", "SECURITY LABEL FOR p ON ROLE x …".
std::optional<std::string> RoleOf(std::string_view stmt) {
  for (std::string_view prefix : {"CREATE ROLE ", "ALTER ROLE ", "COMMENT ON ROLE "}) {
    if (StartsWithWord(stmt, prefix.substr(0, prefix.size() - 1))) {
      stmt.remove_prefix(prefix.size());
      return TakeIdent(stmt);
    }
  }
  if (StartsWithWord(stmt, "SECURITY LABEL")) {
    auto on = stmt.find(" ON ROLE ");
    if (on == std::string_view::npos) return std::nullopt;
    stmt.remove_prefix(on + 9);
    return TakeIdent(stmt);
  }
  return std::nullopt;
}

std::optional<RoleScript::Membership> MembershipOf(std::string_view stmt) {
  if (!StartsWithWord(stmt, "GRANT")) return std::nullopt;
  stmt.remove_prefix(6);
  auto role = TakeIdent(stmt);
  if (!role || !StartsWithWord(stmt, "TO")) return std::nullopt;
  stmt.remove_prefix(3);
  auto member = TakeIdent(stmt);
  if (!member) return std::nullopt;
  // What follows the member: "WITH ADMIN OPTION", "WITH INHERIT TRUE, SET
  // TRUE" (16+), then "GRANTED BY grantor", which is dropped.
  std::string options(stmt);
  auto granted = options.find("GRANTED BY");
  if (granted != std::string::npos) options.erase(granted);
  while (!options.empty() && options.back() == ' ') options.pop_back();
  std::string statement = "GRANT " + pg::QuoteIdent(*role) + " TO " + pg::QuoteIdent(*member);
  if (!options.empty()) statement += " " + options;
  return RoleScript::Membership{*role, *member, statement};
}

}  // namespace

std::vector<std::string> SplitStatements(std::string_view sql) {
  std::vector<std::string> out;
  std::string current;
  char quote = 0;
  for (std::size_t i = 0; i < sql.size(); ++i) {
    char c = sql[i];
    if (quote) {
      current += c;
      if (c == quote) quote = 0;  // a doubled quote re-opens on the next character
      continue;
    }
    bool line_start = current.find_first_not_of(" \t\r\n") == std::string::npos;
    if ((c == '-' && i + 1 < sql.size() && sql[i + 1] == '-') || (c == '\\' && line_start)) {
      // A comment, or a psql meta-command (\restrict of pg_dumpall 15.14+).
      while (i < sql.size() && sql[i] != '\n') ++i;
      continue;
    }
    if (c == '\'' || c == '"') quote = c;
    if (c == ';') {
      auto first = current.find_first_not_of(" \t\r\n");
      if (first != std::string::npos) out.push_back(current.substr(first));
      current.clear();
      continue;
    }
    current += c;
  }
  return out;
}

RoleScript ParseRoleScript(std::string_view sql) {
  RoleScript script;
  for (auto& stmt : SplitStatements(sql)) {
    if (auto membership = MembershipOf(stmt)) {
      script.memberships.push_back(std::move(*membership));
      continue;
    }
    auto role = RoleOf(stmt);
    if (!role || stmt.find(" IN DATABASE ") != std::string::npos) continue;
    auto it = std::find_if(script.roles.begin(), script.roles.end(), [&](const auto& r) { return r.name == *role; });
    if (it == script.roles.end()) {
      script.roles.push_back({*role, {}});
      it = script.roles.end() - 1;
    }
    it->statements.push_back(std::move(stmt));
  }
  return script;
}

asio::awaitable<RolesCreated> CreateMissingRoles(pg::Connection& conn, const RoleScript& script) {
  RolesCreated out;
  auto existing = co_await conn.Execute("SELECT rolname FROM pg_roles");
  if (!existing.ok()) {
    out.error = "list roles: " + existing.error;
    co_return out;
  }
  std::set<std::string> have;
  for (const auto& row : existing.rows) have.insert(row[0].value_or(""));
  std::set<std::string> created;
  for (const auto& role : script.roles) {
    if (have.contains(role.name)) {
      ++out.existing;
      continue;
    }
    for (const auto& stmt : role.statements) {
      auto r = co_await conn.Execute(stmt);
      if (!r.ok()) {
        out.error = "create role " + role.name + ": " + r.error;
        co_return out;
      }
    }
    created.insert(role.name);
    out.names.push_back(role.name);
  }
  for (const auto& m : script.memberships) {
    if (!created.contains(m.member)) continue;
    auto r = co_await conn.Execute(m.statement);
    if (!r.ok()) {
      out.error = "grant role " + m.role + " to " + m.member + ": " + r.error;
      co_return out;
    }
  }
  co_return out;
}

asio::awaitable<RolesCreated> RestoreRoles(BlockingPool& pool, storage::Backend& store,
                                           const backup::Manifest& manifest, std::string check, std::string dir,
                                           pg::Connection& conn, const backup::KeyRing& keys) {
  RolesCreated out;
  if (!manifest.Stored(kRolesFile)) {
    out.absent = true;
    co_return out;
  }
  std::string path = dir + "/" + kRolesFile;
  out.error = co_await FetchFile(pool, store, manifest, check, kRolesFile, path, keys);
  if (!out.error.empty()) co_return out;
  auto read = [path] {
    std::ifstream in(path, std::ios::binary);
    std::string text;
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    return text.size() > kMaxRolesBytes ? std::string() : text;
  };
  auto ignore = [](std::string) {};
  auto text = co_await RunBlocking(pool, read, ignore);
  if (!text) {
    out.error = "read roles.sql: cancelled";
    co_return out;
  }
  RolesCreated created = co_await CreateMissingRoles(conn, ParseRoleScript(*text));
  co_return created;
}

std::string DescribeRoles(const RolesCreated& roles) {
  if (roles.absent) return "no roles.sql in this run (taken by an older drwatchd): the roles must exist already";
  std::string names;
  for (const auto& n : roles.names) names += (names.empty() ? "" : ", ") + n;
  if (names.empty()) return "none created (" + std::to_string(roles.existing) + " existed)";
  return names + " (" + std::to_string(roles.names.size()) + " created, " + std::to_string(roles.existing) +
         " existed)";
}

}  // namespace drwatch::restore
