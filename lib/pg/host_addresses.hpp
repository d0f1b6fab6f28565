#pragma once
// Name look-ups for libpq's multi-host connection strings, done before the
// connection starts.
//
// PQconnectStart resolves the first host (we call it on the blocking pool),
// but libpq resolves the second and later hosts of "host=a,b" with a
// blocking getaddrinfo inside PQconnectPoll, which runs on the event loop: a
// slow or dead DNS server would stall every check and scrape while the first
// host fails over. So the names are looked up here, on the pool, and written
// into the connection string as hostaddr= entries, one per address, which
// libpq then uses without resolving anything (host= stays, for TLS
// verification and .pgpass).

#include <string>

namespace drwatch::pg {

/// `conninfo` (key=value or URI) with every host name of a multi-host
/// connection string pinned to its addresses; unchanged for a single host,
/// socket directories or when hostaddr is already given. A name that does
/// not resolve is dropped (libpq would skip it too); when none resolves,
/// returns "" and sets `error` as libpq would word it ("could not translate
/// host name \"db2\" to address: Name or service not known"). Blocks: call
/// it on the blocking pool.
std::string PinHostAddresses(const std::string& conninfo, std::string& error);

}  // namespace drwatch::pg
