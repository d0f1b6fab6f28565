#include "support/drill_fixture.hpp"

#include <stdlib.h>

#include <filesystem>

namespace drwatch::test {

namespace fs = std::filesystem;

PgCluster* DrillServerTest::drill_server_ = nullptr;
std::string DrillServerTest::drill_error_;

void DrillServerTest::SetUpTestSuite() {
  PgClusterTest::SetUpTestSuite();
  try {
    drill_server_ = new PgCluster();
  } catch (const std::exception& e) {
    drill_error_ = e.what();
  }
}

void DrillServerTest::TearDownTestSuite() {
  delete drill_server_;
  drill_server_ = nullptr;
  PgClusterTest::TearDownTestSuite();
}

void DrillServerTest::SetUp() {
  PgClusterTest::SetUp();
  ASSERT_NE(drill_server_, nullptr) << "no drill cluster: " << drill_error_;
  std::string templ = (fs::temp_directory_path() / "drwatch-restore-test-XXXXXX").string();
  ASSERT_NE(::mkdtemp(templ.data()), nullptr);
  dir_ = templ;
  fs::create_directory(dir_ + "/store");
}

void DrillServerTest::TearDown() {
  runner_.Clear();
  TurnLoop(io_, std::chrono::milliseconds(100));
  std::error_code ec;
  fs::remove_all(dir_, ec);
  PgClusterTest::TearDown();
}

std::string DrillServerTest::CatalogueWithBackup(const std::string& tables, const std::string& drill_dsn) const {
  return "targets:\n"
         "  db: {type: postgres, dsn: \"" + cluster().PasswordDsn() + "\"}\n"
         "  drill: {type: postgres, dsn: \"" + (drill_dsn.empty() ? drill_server_->Dsn() : drill_dsn) + "\"}\n"
         "  backups: {type: storage, url: \"file://" + dir_ + "/store\"}\n"
         "objectives:\n"
         "  rto: {authentication: 15m, core_business_logic: 30m, analytics_reporting: 2h}\n"
         "checks:\n"
         "  - {name: nightly, kind: backup.pg_dump, target: db, storage: backups, tables: " + tables + "}\n";
}

}  // namespace drwatch::test
