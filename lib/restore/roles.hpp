#pragma once
// The cluster's roles, as a backup stores them (roles.sql: the output of
// `pg_dumpall --roles-only --no-role-passwords`) and as a restore re-creates
// them: a Supabase database names platform roles (anon, authenticated,
// service_role, supabase_auth_admin, …) as owners, in grants and in RLS
// policies, so it restores only into a cluster that has them all.

#include <boost/asio/awaitable.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "backup/encryption.hpp"
#include "backup/manifest.hpp"
#include "common/blocking.hpp"
#include "pg/connection.hpp"
#include "storage/backend.hpp"

namespace drwatch::restore {

/// The statements of roles.sql, grouped by the role they define.
struct RoleScript {
  struct Role {
    std::string name;
    std::vector<std::string> statements;  // CREATE ROLE, ALTER ROLE … WITH/SET, COMMENT ON ROLE, …
  };
  struct Membership {
    std::string role;       // the role granted
    std::string member;     // the role it is granted to
    std::string statement;  // "GRANT "anon" TO "authenticator"" (no GRANTED BY: the grantor may not exist)
  };
  std::vector<Role> roles;
  std::vector<Membership> memberships;
};

/// Parses pg_dumpall's role output (PostgreSQL 12 to 17). Statements that
/// are about no role (SET, comments) are skipped; so are per-database
/// settings (`ALTER ROLE … IN DATABASE`), whose database may be named
/// otherwise where the backup is restored.
RoleScript ParseRoleScript(std::string_view sql);

/// Splits SQL text into statements (semicolons outside quotes, comment lines
/// dropped), each without its semicolon.
std::vector<std::string> SplitStatements(std::string_view sql);

struct RolesCreated {
  std::string error;               // one line: "create role anon: permission denied to create role"
  std::vector<std::string> names;  // the roles that were created, in script order
  std::size_t existing = 0;        // roles of the script the cluster already had (left untouched)
  bool absent = false;             // the run has no roles.sql (taken by an older drwatchd)
  bool ok() const { return error.empty(); }
};

inline constexpr char kRolesFile[] = "roles.sql";

/// Creates on `conn`'s cluster every role of `script` it lacks, with its
/// attributes, settings and comments, then the memberships of the roles it
/// created. Roles that exist are left untouched (also their memberships).
boost::asio::awaitable<RolesCreated> CreateMissingRoles(pg::Connection& conn, const RoleScript& script);

/// Downloads roles.sql of run `manifest` of backup `check` into `dir`,
/// proves it intact against the manifest (decrypting it with `keys` in an
/// encrypted run) and creates the missing roles (see CreateMissingRoles). A
/// run without roles.sql gives `absent`.
boost::asio::awaitable<RolesCreated> RestoreRoles(BlockingPool& pool, storage::Backend& store,
                                                  const backup::Manifest& manifest, std::string check,
                                                  std::string dir, pg::Connection& conn,
                                                  const backup::KeyRing& keys);

/// "anon, authenticated (2 created, 5 existed)" or "none (7 existed)".
std::string DescribeRoles(const RolesCreated& roles);

}  // namespace drwatch::restore
