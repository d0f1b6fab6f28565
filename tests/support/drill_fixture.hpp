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

  static PgCluster* drill_server_;
  std::string dir_;
  CheckRunner runner_{io_, pool_};

 private:
  static std::string drill_error_;
};

}  // namespace drwatch::test
