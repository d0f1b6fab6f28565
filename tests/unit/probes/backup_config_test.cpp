// backup.pg_dump and backup.files as the catalogue reads them: defaults,
// the storage target as the check's reference (pg_dump) or its target
// (files), and one bad fixture with its exact errors per rule.

#include <gtest/gtest.h>

#include "catalogue/catalogue.hpp"
#include "probes/backup_probes.hpp"
#include "support/bad_fixtures.hpp"

namespace drwatch::probes {
namespace {

using namespace std::chrono_literals;

constexpr char kTargets[] =
    "targets:\n"
    "  db:\n"
    "    type: postgres\n"
    "    dsn: \"host=127.0.0.1 dbname=app\"\n"
    "  backups:\n"
    "    type: storage\n"
    "    url: file:///var/backups/drwatch\n"
    "checks:\n";

const std::vector<test::BadCase> kBadCases = {
    {"bad_backup_jobs.yml",
     {":13:11: checks[0].jobs: parallel pg_dump (-j) needs the directory format, which cannot be streamed to "
      "storage; only 1 is supported"}},
    {"bad_backup_tables.yml", {":13:13: checks[0].tables: invalid table \"auth.\" (use table or schema.table)"}},
    {"bad_backup_keep.yml",
     {":13:18: checks[0].keep.last: expected an integer between 1 and 100000",
      ":13:31: checks[0].keep.hourly: unknown key"}},
    {"bad_backup_storage_type.yml",
     {":12:14: checks[0].storage: kind backup.pg_dump needs a storage target, \"db\" is postgres"}},
    {"bad_backup_missing_storage.yml", {":9:5: checks[0].storage: missing required key"}},
    {"bad_backup_pg_dump_path.yml", {":13:19: checks[0].pg_dump_path: expected an absolute path"}},
    {"bad_backup_files_target.yml",
     {":9:5: checks[0].storage: missing required key", ":11:5: checks[0].target: unknown key"}},
    {"bad_backup_files_path.yml", {":12:11: checks[0].path: expected an absolute path"}},
    {"bad_backup_encryption_key.yml",
     {":13:23: checks[0].encryption.key: not a base64-encoded 32-byte key (make one with drwatchd backup keygen)"}},
    {"bad_backup_encryption_key_length.yml",
     {":14:12: checks[0].encryption.key: not a base64-encoded 32-byte key (make one with drwatchd backup keygen)"}},
    {"bad_backup_encryption_old_key.yml",
     {":15:66: checks[0].encryption.old_keys[1]: not a base64-encoded 32-byte key (make one with drwatchd backup "
      "keygen)"}},
    {"bad_backup_encryption_shape.yml",
     {":14:7: checks[0].encryption.key: missing required key", ":15:7: checks[0].encryption.cipher: unknown key",
      ":20:17: checks[1].encryption: expected a mapping"}},
    {"bad_backup_timeout.yml",
     {":13:15: checks[0].interval: timeout 1h (default of backup.pg_dump) must be shorter than interval 30m"}},
};

class BadBackupCatalogue : public testing::TestWithParam<test::BadCase> {};

TEST_P(BadBackupCatalogue, ReportsExactErrors) {
  test::ExpectRefused(GetParam());
}

INSTANTIATE_TEST_SUITE_P(Fixtures, BadBackupCatalogue, testing::ValuesIn(kBadCases), test::BadCaseShortName);

catalogue::LoadResult Load(const std::string& checks) {
  return catalogue::LoadCatalogueText(std::string(kTargets) + checks, "b.yml");
}

TEST(BackupPgDumpConfig, DefaultsToADailyRunWithAnHourToFinish) {
  auto result = Load(
      "  - name: nightly\n"
      "    kind: backup.pg_dump\n"
      "    target: db\n"
      "    storage: backups\n"
      "    tables: [auth.users, public.orders, plain]\n"
      "    keep: {last: 3, daily: 7, weekly: 4}\n"
      "    jobs: 1\n"
      "    pg_dump_path: /usr/lib/postgresql/15/bin/pg_dump\n");
  ASSERT_TRUE(result.catalogue) << (result.errors.empty() ? "" : result.errors[0]);
  const auto& check = result.catalogue->checks.at(0);
  EXPECT_EQ(check.target, "db");
  EXPECT_EQ(check.interval, 24h);
  EXPECT_EQ(check.timeout, 1h);
  auto* job = dynamic_cast<BackupJob*>(check.probe.get());
  ASSERT_NE(job, nullptr);
  EXPECT_EQ(job->storage(), "backups");
  auto refs = job->ReferencedTargets();
  ASSERT_EQ(refs.size(), 1u);
  EXPECT_EQ(refs[0].key, "storage");
  EXPECT_EQ(refs[0].target, "backups");
  EXPECT_EQ(refs[0].type, "storage");
}

TEST(BackupPgDumpConfig, TheCheckKeepsItsOwnTimeout) {
  auto result = Load(
      "  - name: nightly\n"
      "    kind: backup.pg_dump\n"
      "    target: db\n"
      "    storage: backups\n"
      "    interval: 12h\n"
      "    timeout: 2h\n");
  ASSERT_TRUE(result.catalogue);
  EXPECT_EQ(result.catalogue->checks.at(0).interval, 12h);
  EXPECT_EQ(result.catalogue->checks.at(0).timeout, 2h);
}

TEST(BackupFilesConfig, ItsStorageIsItsTarget) {
  auto result = Load(
      "  - name: functions\n"
      "    kind: backup.files\n"
      "    storage: backups\n"
      "    path: /srv/supabase/functions\n");
  ASSERT_TRUE(result.catalogue) << (result.errors.empty() ? "" : result.errors[0]);
  const auto& check = result.catalogue->checks.at(0);
  EXPECT_EQ(check.target, "backups");
  EXPECT_EQ(check.interval, 24h);
  EXPECT_EQ(check.timeout, 1h);
  auto* job = dynamic_cast<BackupJob*>(check.probe.get());
  ASSERT_NE(job, nullptr);
  EXPECT_EQ(job->storage(), "backups");
  EXPECT_TRUE(job->ReferencedTargets().empty());
}

TEST(BackupFilesConfig, StorageMustBeAStorageTarget) {
  auto result = Load(
      "  - name: functions\n"
      "    kind: backup.files\n"
      "    storage: db\n"
      "    path: /srv/supabase/functions\n");
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.errors[0], "b.yml:11:14: checks[0].storage: kind backup.files needs a storage target, \"db\" is postgres");
}

}  // namespace
}  // namespace drwatch::probes
