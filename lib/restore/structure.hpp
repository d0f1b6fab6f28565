#pragma once
// The structure of a database in counts (tables, partitions, views,
// functions, triggers, policies, RLS tables, grants, extensions, enums,
// publications), taken by a backup in its dump's snapshot and compared after
// every drill and restore: row counts prove the data came back, these prove
// the objects an application relies on did (an RLS policy that did not
// restore is a security hole that no row count shows).

#include <boost/asio/awaitable.hpp>
#include <string>
#include <vector>

#include "backup/manifest.hpp"
#include "pg/connection.hpp"

namespace drwatch::restore {

/// One row, one column per count. Objects of extensions and of the system
/// schemas are not counted; partition triggers and indexes that the server
/// clones by itself are not either.
extern const char kStructureQuery[];

/// The counts of a kStructureQuery result. Returns "" or why not.
std::string ReadStructure(const pg::QueryResult& result, std::vector<backup::ManifestCount>& out);

/// Counts the structure of the database `conn` is connected to.
boost::asio::awaitable<std::string> CountStructure(pg::Connection& conn, std::vector<backup::ManifestCount>& out);

/// "" when `restored` has at least each count of `backup`, else one line
/// naming what is missing: "structure: 5 of 7 policies, 0 of 1 publications
/// restored". Counts the backup does not have are ignored.
std::string CompareStructure(const std::vector<backup::ManifestCount>& backup,
                             const std::vector<backup::ManifestCount>& restored);

}  // namespace drwatch::restore
