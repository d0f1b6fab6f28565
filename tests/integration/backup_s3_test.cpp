// S3 as the backup storage: backup.pg_dump, backup.files and restore.drill
// with an s3:// storage target on s3rver (the npm S3-compatible server,
// started per test on a free loopback port) and the seeded application
// database of the file:// tests (tests/support/app_seed.hpp). What is in the
// bucket is read back through the backend itself (GetToFile), so a manifest
// that disagrees with the objects it describes fails here. A dump larger than
// one part goes through a multipart upload; a deadline in the middle of one
// leaves neither a manifest nor a completed data.dump.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "backup/digest.hpp"
#include "backup/encryption.hpp"
#include "backup/manifest.hpp"
#include "backup/runs.hpp"
#include "storage/s3_backend.hpp"
#include "support/app_seed.hpp"
#include "support/pg_cluster.hpp"
#include "support/check_runner.hpp"
#include "support/s3rver.hpp"

namespace drwatch::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using ::testing::HasSubstr;

// Rows of the "big" database: four md5 texts a row compress to about 20 MiB
// of data.dump, more than two parts of storage::kPartBytes.
constexpr int kBigRows = 300000;

std::string ReadWhole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Bytes a process has written so far (/proc/PID/io wchar), 0 when it is gone.
std::uint64_t BytesWritten(int pid) {
  std::istringstream io(ReadWhole("/proc/" + std::to_string(pid) + "/io"));
  std::string key;
  std::uint64_t value = 0;
  while (io >> key >> value) {
    if (key == "wchar:") return value;
  }
  return 0;
}

class BackupS3Test : public ProbeHarness {
 protected:
  // The source (seeded) and the drill server: two clusters for the suite.
  static void SetUpTestSuite() {
    try {
      source_ = new PgCluster();
      SeedAppDatabase(*source_);
      drill_ = new PgCluster();
    } catch (const std::exception& e) {
      error_ = e.what();
    }
  }
  static void TearDownTestSuite() {
    delete drill_;
    delete source_;
    drill_ = source_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(drill_, nullptr) << "no PostgreSQL clusters: " << error_;
    std::string templ = (fs::temp_directory_path() / "drwatch-backup-s3-XXXXXX").string();
    ASSERT_NE(::mkdtemp(templ.data()), nullptr);
    dir_ = templ;
  }

  void TearDown() override {
    ProbeHarness::TearDown();
    fs::remove_all(dir_);
  }

  // A database "big" on the source with one table of kBigRows rows of
  // incompressible-ish text (md5 hex), seeded once for the suite.
  static void SeedBig() {
    static bool seeded = false;
    if (seeded) return;
    seeded = true;
    source_->Exec("CREATE DATABASE big");
    PGconn* conn = PQconnectdb(source_->Dsn("dbname=big").c_str());
    ASSERT_EQ(PQstatus(conn), CONNECTION_OK) << PQerrorMessage(conn);
    PGresult* r = PQexec(conn,
                         ("CREATE TABLE public.blobs (id bigint PRIMARY KEY, payload text NOT NULL);"
                          "INSERT INTO public.blobs SELECT g, md5(g::text) || md5((-g)::text) || md5((g * 7)::text) "
                          "|| md5((g * 13)::text) FROM generate_series(1, " +
                          std::to_string(kBigRows) + ") g;")
                             .c_str());
    EXPECT_EQ(PQresultStatus(r), PGRES_COMMAND_OK) << PQerrorMessage(conn);
    PQclear(r);
    PQfinish(conn);
  }

  // Targets: db (the seeded source, as the password user), big (the big
  // database, as postgres), drill, and the s3:// storage `backups`.
  std::string Catalogue(const std::string& checks) const {
    return "targets:\n"
           "  db: {type: postgres, dsn: \"" + source_->PasswordDsn() + "\"}\n"
           "  big: {type: postgres, dsn: \"" + source_->Dsn("dbname=big") + "\"}\n"
           "  drill: {type: postgres, dsn: \"" + drill_->Dsn() + "\"}\n" +
           s3_.TargetYaml("backups", "prod") + "    path_style: true\n"
           "objectives:\n"
           "  rto: {authentication: 15m, core_business_logic: 30m, analytics_reporting: 2h}\n"
           "checks:\n" + checks;
  }

  static std::string NightlyCheck() {
    return "  - {name: nightly, kind: backup.pg_dump, target: db, storage: backups, tables: " +
           std::string(kAppTables) + "}\n";
  }

  // The bucket as the tests read it: the same prefix as the target.
  std::unique_ptr<storage::S3Backend> Bucket() {
    storage::S3Config c;
    c.bucket = s3_.bucket();
    c.prefix = "prod";
    c.endpoint = s3_.endpoint();
    c.access_key_id = S3rver::kKey;
    c.secret_access_key = S3rver::kKey;
    c.path_style = true;
    return std::make_unique<storage::S3Backend>(std::move(c), nullptr, io_.get_executor(), pool_);
  }

  backup::LatestResult Latest(const std::string& check) {
    auto bucket = Bucket();
    auto latest = RunWithDeadline(io_, backup::LatestComplete(*bucket, check), 30s);
    EXPECT_TRUE(latest) << "timed out";
    return latest ? std::move(*latest) : backup::LatestResult{"timed out", {}, {}};
  }

  // Every object of `check` in the bucket ("nightly/<run>/data.dump", ...).
  std::vector<std::string> Keys(const std::string& check) {
    auto bucket = Bucket();
    auto listed = RunWithDeadline(io_, bucket->List(check + "/*/*", 1000), 30s);
    EXPECT_TRUE(listed && listed->ok()) << (listed ? listed->error : "timed out");
    std::vector<std::string> out;
    if (listed) {
      for (const auto& o : listed->objects) out.push_back(o.key);
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  // Downloads every file of the manifest with GetToFile and checks its size
  // and SHA-256 against the manifest's.
  void ExpectFilesMatch(const backup::Manifest& m) {
    auto bucket = Bucket();
    for (const auto& f : m.files) {
      std::string local = dir_ + "/" + f.name;
      auto got = RunWithDeadline(io_, bucket->GetToFile(backup::RunKey(m.check, m.run, f.name), local, 1ull << 32), 60s);
      ASSERT_TRUE(got) << "timed out";
      ASSERT_EQ(got->error, "") << f.name;
      backup::DigestResult digest = backup::HashFileBlocking(local);
      ASSERT_EQ(digest.error, "");
      EXPECT_EQ(digest.size, f.size) << f.name;
      EXPECT_EQ(digest.sha256, f.sha256) << f.name;
      fs::remove(local);
    }
  }

  static PgCluster* source_;
  static PgCluster* drill_;
  static std::string error_;
  S3rver s3_;
  std::string dir_;
};

PgCluster* BackupS3Test::source_ = nullptr;
PgCluster* BackupS3Test::drill_ = nullptr;
std::string BackupS3Test::error_;

TEST_F(BackupS3Test, PgDumpToS3ThenADrillFromIt) {
  ASSERT_TRUE(LoadText(Catalogue(NightlyCheck() +
                                 "  - name: weekly_drill\n"
                                 "    kind: restore.drill\n"
                                 "    target: drill\n"
                                 "    backup: nightly\n"
                                 "    jobs: 2\n"
                                 "    covers:\n"
                                 "      core_business_logic: [public.orders]\n"
                                 "      authentication: [auth]\n"
                                 "    verify: [\"SELECT count(*) = 20000 FROM auth.users\"]\n")));
  LoopWatch watch(io_, 20ms);
  auto start = std::chrono::steady_clock::now();
  auto result = Run("nightly", 120s);
  auto backup_ms = Since(start);
  ASSERT_TRUE(result) << "timed out";
  auto backup_lateness = watch.worst_lateness();
  ASSERT_TRUE(result->success) << result->reason;
  EXPECT_LT(backup_lateness, 250ms);

  backup::LatestResult latest = Latest("nightly");
  ASSERT_EQ(latest.error, "");
  const backup::Manifest& m = latest.manifest;
  EXPECT_EQ(m.kind, "backup.pg_dump");
  EXPECT_EQ(m.check, "nightly");
  EXPECT_EQ(m.database, "postgres");
  EXPECT_EQ(Keys("nightly"), (std::vector<std::string>{"nightly/" + m.run + "/data.dump",
                                                       "nightly/" + m.run + "/manifest.json",
                                                       "nightly/" + m.run + "/roles.sql",
                                                       "nightly/" + m.run + "/schema.sql"}));
  ASSERT_EQ(m.files.size(), 3u);
  ExpectFilesMatch(m);
  std::map<std::string, std::int64_t> rows;
  for (const auto& t : m.tables) rows[t.name] = t.rows;
  EXPECT_EQ(rows, AppRowCounts());
  auto samples = SamplesByName(result->samples);
  EXPECT_EQ(samples["drwatch_backup_size_bytes{file=data.dump}"], static_cast<double>(m.File("data.dump")->size));
  EXPECT_THAT(result->details, HasSubstr("s3://" + s3_.bucket() + "/prod/nightly/" + m.run));

  start = std::chrono::steady_clock::now();
  auto drill = Run("weekly_drill", 180s);
  auto drill_ms = Since(start);
  ASSERT_TRUE(drill) << "timed out";
  ASSERT_TRUE(drill->success) << drill->reason << "\n" << drill->details;
  EXPECT_EQ(drill->reason, "run " + m.run + " restored, 4 tables verified");
  auto restored = SamplesByName(drill->samples);
  double auth = restored.at("drwatch_restore_duration_seconds{system=authentication}");
  double core = restored.at("drwatch_restore_duration_seconds{system=core_business_logic}");
  EXPECT_GT(auth, 0);
  EXPECT_GT(core, auth) << "authentication (15m) is restored before core_business_logic (30m)";
  EXPECT_EQ(restored.at("drwatch_restore_verified_tables"), 4);
  EXPECT_GT(restored.at("drwatch_restore_last_success_timestamp_seconds"), 1.7e9);
  EXPECT_THAT(drill->details, HasSubstr("download data.dump"));
  EXPECT_THAT(drill->details, HasSubstr("verify checksums"));
  EXPECT_EQ(drill_->QueryValue("SELECT count(*) FROM pg_database WHERE datname LIKE 'drwatch\\_drill\\_%'"), "0");
  std::cout << "[ measured ] through s3rver: backup.pg_dump of 110000 rows " << backup_ms.count() << " ms (data.dump "
            << m.File("data.dump")->size << " bytes, loop worst lateness " << backup_lateness.count()
            << " ms), restore.drill " << drill_ms.count() << " ms (authentication " << auth << " s, core "
            << core << " s)\n";
  RecordProperty("backup_s3_ms", static_cast<int>(backup_ms.count()));
  RecordProperty("drill_s3_ms", static_cast<int>(drill_ms.count()));
}

TEST_F(BackupS3Test, BackupFilesToS3) {
  std::string tree = dir_ + "/functions";
  fs::create_directories(tree + "/hello");
  std::ofstream(tree + "/hello/index.ts") << "Deno.serve(() => new Response('hi'))\n";
  ASSERT_TRUE(LoadText(Catalogue("  - {name: functions, kind: backup.files, storage: backups, path: " + tree + "}\n")));
  auto result = Run("functions", 60s);
  ASSERT_TRUE(result) << "timed out";
  ASSERT_TRUE(result->success) << result->reason;
  backup::LatestResult latest = Latest("functions");
  ASSERT_EQ(latest.error, "");
  EXPECT_EQ(latest.manifest.kind, "backup.files");
  EXPECT_EQ(latest.manifest.source_path, tree);
  ASSERT_EQ(latest.manifest.files.size(), 1u);
  EXPECT_EQ(latest.manifest.files[0].name, "files.tar.gz");
  ExpectFilesMatch(latest.manifest);
  EXPECT_EQ(Keys("functions"), (std::vector<std::string>{"functions/" + latest.manifest.run + "/files.tar.gz",
                                                         "functions/" + latest.manifest.run + "/manifest.json"}));
}

TEST_F(BackupS3Test, ADumpLargerThanAPartGoesThroughMultipart) {
  SeedBig();
  ASSERT_TRUE(LoadText(Catalogue("  - {name: bigdump, kind: backup.pg_dump, target: big, storage: backups, "
                                 "tables: [public.blobs]}\n")));
  LoopWatch watch(io_, 20ms);
  auto start = std::chrono::steady_clock::now();
  auto result = Run("bigdump", 120s);
  auto took = Since(start);
  auto lateness = watch.worst_lateness();  // of the backup alone: the checks below block
  ASSERT_TRUE(result) << "timed out";
  ASSERT_TRUE(result->success) << result->reason;
  backup::LatestResult latest = Latest("bigdump");
  ASSERT_EQ(latest.error, "");
  const backup::ManifestFile* data = latest.manifest.File("data.dump");
  ASSERT_NE(data, nullptr);
  EXPECT_GT(data->size, 2 * storage::kPartBytes) << "the dump should need three parts";
  ASSERT_EQ(latest.manifest.tables.size(), 1u);
  EXPECT_EQ(latest.manifest.tables[0].rows, kBigRows);
  ExpectFilesMatch(latest.manifest);
  std::cout << "[ measured ] through s3rver: backup.pg_dump of a " << data->size << "-byte data.dump ("
            << (data->size + storage::kPartBytes - 1) / storage::kPartBytes << " parts) " << took.count()
            << " ms, loop worst lateness " << lateness.count() << " ms\n";
  RecordProperty("backup_s3_big_ms", static_cast<int>(took.count()));
  RecordProperty("backup_s3_big_worst_lateness_ms", static_cast<int>(lateness.count()));
  // Parts are hashed on the pool; on a shared 2-core machine the scheduler
  // alone delays a timer by up to ~130 ms, a blocked loop by much more.
  EXPECT_LT(lateness, 250ms);
}

// Encrypted runs through multipart uploads, with server-side encryption
// asked for as well (s3rver ignores the headers; the request builder's unit
// test proves they are signed and sent): the objects hold ciphertext only,
// a drill decrypts on its way to pg_restore, and a truncated object whose
// manifest entry was rewritten to match is still refused.
TEST_F(BackupS3Test, AnEncryptedMultipartBackupWithSseThenADrill) {
  SeedBig();
  std::ofstream(dir_ + "/backup.key") << backup::GenerateKeyBase64() << "\n";
  std::filesystem::permissions(dir_ + "/backup.key",  // a secret: owner only, or it is refused
                               std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  std::string enc = ", encryption: {key: \"${file:" + dir_ + "/backup.key}\"}";
  std::string text = Catalogue("  - {name: bigdump, kind: backup.pg_dump, target: big, storage: backups, "
                               "tables: [public.blobs]" + enc + "}\n"
                               "  - {name: nightly, kind: backup.pg_dump, target: db, storage: backups, tables: " +
                               std::string(kAppTables) + enc + "}\n"
                               "  - name: weekly_drill\n"
                               "    kind: restore.drill\n"
                               "    target: drill\n"
                               "    backup: nightly\n"
                               "    covers: {authentication: [auth]}\n");
  text.replace(text.find("    path_style: true\n"), 0, "    sse: AES256\n");
  ASSERT_TRUE(LoadText(text));
  LoopWatch watch(io_, 20ms);
  auto start = std::chrono::steady_clock::now();
  auto result = Run("bigdump", 120s);
  auto took = Since(start);
  auto lateness = watch.worst_lateness();
  ASSERT_TRUE(result) << "timed out";
  ASSERT_TRUE(result->success) << result->reason;
  backup::LatestResult latest = Latest("bigdump");
  ASSERT_EQ(latest.error, "");
  const backup::Manifest& m = latest.manifest;
  ASSERT_TRUE(m.encryption);
  const backup::ManifestFile* data = m.File("data.dump.enc");
  ASSERT_NE(data, nullptr);
  EXPECT_GT(data->size, 2 * storage::kPartBytes) << "the dump should need three parts";
  EXPECT_EQ(Keys("bigdump"), (std::vector<std::string>{"bigdump/" + m.run + "/data.dump.enc",
                                                       "bigdump/" + m.run + "/manifest.json",
                                                       "bigdump/" + m.run + "/roles.sql.enc",
                                                       "bigdump/" + m.run + "/schema.sql.enc"}));
  ExpectFilesMatch(m);
  // What is in the bucket is ciphertext; it decrypts to a custom-format dump of the manifest's size.
  auto bucket = Bucket();
  std::string local = dir_ + "/data.dump.enc";
  auto got = RunWithDeadline(io_, bucket->GetToFile(backup::RunKey(m.check, m.run, data->name), local, 1ull << 32), 60s);
  ASSERT_TRUE(got && got->ok());
  std::string stored = ReadWhole(local);
  EXPECT_EQ(stored.find("PGDMP"), std::string::npos);
  EXPECT_EQ(stored.find("CREATE TABLE public.blobs"), std::string::npos);
  EXPECT_EQ(stored.find(source_->QueryValue("SELECT md5('1')")), std::string::npos);
  backup::KeyRing keys;
  keys.keys.push_back(*backup::BackupKey::FromBase64(ReadWhole(dir_ + "/backup.key")));
  std::uint64_t plain = 0;
  ASSERT_EQ(backup::DecryptFileBlocking(keys, data->name, local, dir_ + "/data.dump", plain), "");
  EXPECT_EQ(plain, data->plaintext_size.value_or(0));
  EXPECT_EQ(ReadWhole(dir_ + "/data.dump").substr(0, 5), "PGDMP");
  std::cout << "[ measured ] through s3rver: encrypted backup.pg_dump of a " << data->size << "-byte data.dump.enc "
            << took.count() << " ms, loop worst lateness " << lateness.count() << " ms\n";
  EXPECT_LT(lateness, 250ms);

  auto nightly = Run("nightly", 120s);
  ASSERT_TRUE(nightly && nightly->success) << (nightly ? nightly->reason : "timed out");
  auto drill = Run("weekly_drill", 180s);
  ASSERT_TRUE(drill) << "timed out";
  ASSERT_TRUE(drill->success) << drill->reason << "\n" << drill->details;
  EXPECT_THAT(drill->details, HasSubstr("decrypt data.dump"));

  // A truncated object, its manifest entry rewritten to match: the missing final chunk shows.
  backup::Manifest n = Latest("nightly").manifest;
  const backup::Manifest as_taken = n;
  std::string key = backup::RunKey(n.check, n.run, "data.dump.enc");
  ASSERT_TRUE(RunWithDeadline(io_, bucket->GetToFile(key, local, 1ull << 32), 60s)->ok());
  const std::string original = ReadWhole(local);
  std::string cut = original.substr(0, 200000);
  ASSERT_TRUE(RunWithDeadline(io_, bucket->Put(key, cut), 30s)->ok());
  for (auto& f : n.files) {
    if (f.name == "data.dump.enc") f = {f.name, cut.size(), Sha256Hex(cut), f.plaintext_size};
  }
  ASSERT_TRUE(RunWithDeadline(io_, bucket->Put(backup::RunKey(n.check, n.run, "manifest.json"), backup::ToJson(n)), 30s)
                  ->ok());
  drill = Run("weekly_drill", 180s);
  ASSERT_TRUE(drill) << "timed out";
  EXPECT_FALSE(drill->success);
  EXPECT_EQ(drill->reason, "data.dump.enc: truncated: the final chunk is missing");

  // One flipped byte in the object, the manifest as taken: its SHA-256 catches it.
  std::string flipped = original;
  flipped[flipped.size() / 2] ^= 0x01;
  ASSERT_TRUE(RunWithDeadline(io_, bucket->Put(key, flipped), 30s)->ok());
  ASSERT_TRUE(
      RunWithDeadline(io_, bucket->Put(backup::RunKey(n.check, n.run, "manifest.json"), backup::ToJson(as_taken)), 30s)
          ->ok());
  drill = Run("weekly_drill", 180s);
  ASSERT_TRUE(drill) << "timed out";
  EXPECT_FALSE(drill->success);
  EXPECT_EQ(drill->reason, "checksum mismatch: data.dump.enc");
  // The manifest rewritten to match (someone with write access to the bucket): the cipher catches it.
  n = as_taken;
  for (auto& f : n.files) {
    if (f.name == "data.dump.enc") f = {f.name, flipped.size(), Sha256Hex(flipped), f.plaintext_size};
  }
  ASSERT_TRUE(RunWithDeadline(io_, bucket->Put(backup::RunKey(n.check, n.run, "manifest.json"), backup::ToJson(n)), 30s)
                  ->ok());
  drill = Run("weekly_drill", 180s);
  ASSERT_TRUE(drill) << "timed out";
  EXPECT_FALSE(drill->success);
  EXPECT_EQ(drill->reason, "data.dump.enc: authentication failed: the file is corrupt, tampered with or reordered");
  EXPECT_EQ(drill_->QueryValue("SELECT count(*) FROM pg_database WHERE datname LIKE 'drwatch\\_drill\\_%'"), "0");
}

TEST_F(BackupS3Test, ADeadlineMidUploadLeavesNoManifestAndNoDataDump) {
  SeedBig();
  ASSERT_TRUE(LoadText(Catalogue("  - {name: bigdump, kind: backup.pg_dump, target: big, storage: backups}\n")));
  constexpr auto kDeadline = 10s;
  auto ctx = runner_.Context("bigdump", kDeadline);
  bool done = false;
  std::optional<probes::ProbeResult> result;
  SpawnWithDeadline<probes::ProbeResult>(io_, Check("bigdump").probe->Run(ctx), kDeadline,
                                         [&](std::optional<probes::ProbeResult> r, std::exception_ptr) {
                                           result = std::move(r);
                                           done = true;
                                         });
  // pg_dump -Fc has written more than a part: the first part is on its way
  // or in the bucket. Stopping it there stalls the upload until the deadline.
  int dumping = 0;
  auto past_a_part = PollUntil(io_, [&] {
    for (int pid : OwnChildrenWith("-Fc")) {
      if (BytesWritten(pid) > storage::kPartBytes + storage::kPartBytes / 16) dumping = pid;
    }
    return dumping != 0 || done;
  }, kDeadline);
  ASSERT_TRUE(past_a_part && dumping != 0) << "pg_dump never wrote a part: " << (result ? result->reason : "");
  ASSERT_EQ(::kill(dumping, SIGSTOP), 0);
  ASSERT_TRUE(PollUntil(io_, [&] { return done; }, kDeadline + 5s));
  EXPECT_FALSE(result) << "the deadline should have won: " << result->reason;
  EXPECT_TRUE(PollUntil(io_, [&] { return OwnChildrenWith("-Fc").empty(); }, 5s)) << "the stopped pg_dump outlived the deadline";
  TurnLoop(io_, 500ms);  // the writer's detached AbortMultipartUpload

  for (const auto& key : Keys("bigdump")) {
    EXPECT_FALSE(key.ends_with("/manifest.json")) << key;
    EXPECT_FALSE(key.ends_with("/data.dump")) << key;
  }
  EXPECT_THAT(Latest("bigdump").error, HasSubstr("no complete backup of bigdump"));
}

}  // namespace
}  // namespace drwatch::test
