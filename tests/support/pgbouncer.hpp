#pragma once
// PgBouncer 1.18 in transaction pooling mode in front of a PgCluster, on a
// free loopback port, for the duration of a test. A failed start throws.

#include <sys/types.h>

#include <string>

#include "support/pg_cluster.hpp"

namespace drwatch::test {

class PgBouncer {
 public:
  /// Starts pgbouncer (auth_type trust, both of the cluster's users in its
  /// userlist) and waits until a query through it succeeds.
  explicit PgBouncer(const PgCluster& cluster);
  /// Stops pgbouncer and removes its directory.
  ~PgBouncer();
  PgBouncer(const PgBouncer&) = delete;
  PgBouncer& operator=(const PgBouncer&) = delete;

  int Port() const { return port_; }
  /// A key=value DSN for user postgres, database postgres on 127.0.0.1:Port().
  std::string Dsn(const std::string& extra = "") const;
  /// The same for another user; no password when `password` is empty.
  std::string DsnFor(const std::string& user, const std::string& password, const std::string& extra = "") const;

 private:
  void WriteConfig(const PgCluster& cluster) const;
  void WaitReady();

  std::string dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace drwatch::test
