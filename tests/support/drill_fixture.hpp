#pragma once
// The fixture of the restore tests: the suite's source cluster
// (PgClusterTest's), a second cluster as the drill server (also a restore
// target), and per test a fresh directory holding a file:// store
// (`dir_ + "/store"`) and a CheckRunner.

#include <string>

#include "support/check_runner.hpp"
#include "support/pg_cluster.hpp"

namespace drwatch::test {

class DrillServerTest : public PgClusterTest {
 protected:
  static void SetUpTestSuite();
  static void TearDownTestSuite();
  /// Fails the test when the drill server did not start; makes dir_/store.
  void SetUp() override;
  void TearDown() override;

  /// The head of a restore test's catalogue: targets db (the source, as the
  /// password user), drill (`drill_dsn`, default the drill server) and
  /// backups (dir_/store), the RTO objectives, and a backup.pg_dump check
  /// `nightly` with `tables` (a YAML list); the test's own checks follow.
  std::string CatalogueWithBackup(const std::string& tables, const std::string& drill_dsn = "") const;

  static PgCluster* drill_server_;
  std::string dir_;
  CheckRunner runner_{io_, pool_};

 private:
  static std::string drill_error_;
};

}  // namespace drwatch::test
