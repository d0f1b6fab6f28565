// Encrypted backups (issue 11, part 1) against real PostgreSQL 15 clusters,
// the real pg_dump/pg_restore/tar and a file:// store: what an encrypted run
// stores (only *.enc files and a manifest naming the key id; no plaintext),
// and that every reader of runs — backup list, the drill, schema drift,
// restore latest, `drwatchd backup decrypt` — works on it, refuses a
// tampered or truncated file, and names the key ids when the key is wrong;
// old_keys reads runs made before a rotation.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "backup/commands.hpp"
#include "backup/digest.hpp"
#include "backup/encryption.hpp"
#include "backup/manifest.hpp"
#include "backup/runs.hpp"
#include "probes/backup_probes.hpp"
#include "restore/restore_latest.hpp"
#include "storage/file_backend.hpp"
#include "support/app_seed.hpp"
#include "support/drill_fixture.hpp"
#include "support/pg_cluster.hpp"
#include "support/check_runner.hpp"

namespace drwatch::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::Not;

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void Spill(const std::string& path, const std::string& data) { std::ofstream(path, std::ios::binary) << data; }

struct Shell {
  int status = -1;
  std::string out;
};

// Runs a shell command line; its stdout and exit status.
Shell Sh(const std::string& command) {
  Shell r;
  FILE* p = ::popen(command.c_str(), "r");
  if (!p) return r;
  char buf[65536];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, p)) r.out.append(buf, n);
  int status = ::pclose(p);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

class EncryptedBackupTest : public DrillServerTest {
 protected:
  void SetUp() override {
    DrillServerTest::SetUp();
    if (HasFatalFailure()) return;
    static const bool seeded = (SeedAppDatabase(cluster()), true);  // once for the suite
    (void)seeded;
    key_a_ = backup::GenerateKeyBase64();
    key_b_ = backup::GenerateKeyBase64();
    Spill(dir_ + "/a.key", key_a_ + "\n");
    Spill(dir_ + "/b.key", key_b_ + "\n");
    for (const char* key : {"/a.key", "/b.key"}) {  // secrets: owner only, or they are refused
      std::filesystem::permissions(dir_ + key, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    }
    id_a_ = backup::BackupKey::FromBase64(key_a_)->id();
    id_b_ = backup::BackupKey::FromBase64(key_b_)->id();
  }

  // The restore tests' catalogue with nightly encrypted by `encryption`
  // (a flow mapping), a drill, a drift check and an encrypted backup.files.
  std::string Catalogue(const std::string& encryption) {
    std::string text = CatalogueWithBackup(kAppTables);
    std::string tables = std::string("tables: ") + kAppTables + "}";
    text.replace(text.find(tables), tables.size(),
                 std::string("tables: ") + kAppTables + ", encryption: " + encryption + "}");
    fs::create_directories(dir_ + "/functions/hello");
    Spill(dir_ + "/functions/hello/index.ts", "Deno.serve(() => new Response('marker-fn-2b7e'))\n");
    return text +
           "  - name: weekly_drill\n"
           "    kind: restore.drill\n"
           "    target: drill\n"
           "    backup: nightly\n"
           "    covers: {authentication: [auth], core_business_logic: [public.orders]}\n"
           "  - {name: drift, kind: postgres.schema_drift, target: db, backup: nightly}\n"
           "  - {name: functions, kind: backup.files, storage: backups, path: " + dir_ + "/functions, encryption: " +
           encryption + "}\n";
  }
  std::string KeyA() const { return "{key: \"${file:" + dir_ + "/a.key}\"}"; }
  std::string KeyB() const { return "{key: \"${file:" + dir_ + "/b.key}\"}"; }
  std::string KeyBWithOldA() const {
    return "{key: \"${file:" + dir_ + "/b.key}\", old_keys: [\"${file:" + dir_ + "/a.key}\"]}";
  }

  std::optional<probes::ProbeResult> Run(const std::string& name, std::chrono::milliseconds timeout = 120s) {
    return runner_.Run(name, timeout);
  }

  backup::Manifest Backup(const std::string& check = "nightly") {
    auto r = Run(check);
    EXPECT_TRUE(r && r->success) << (r ? r->reason : "timed out");
    storage::FileBackend store(pool_, dir_ + "/store");
    auto latest = RunWithDeadline(io_, backup::LatestComplete(store, check), 10s);
    EXPECT_TRUE(latest && latest->ok());
    return latest ? latest->manifest : backup::Manifest{};
  }

  std::string RunFile(const backup::Manifest& m, const std::string& file) const {
    return dir_ + "/store/" + m.check + "/" + m.run + "/" + file;
  }

  // Rewrites the manifest's entry for `file` to match what is stored now:
  // someone with write access to the bucket, not a bit flip on the way.
  void ReSign(const backup::Manifest& m, const std::string& file) {
    backup::Manifest changed = m;
    for (auto& f : changed.files) {
      if (f.name != file) continue;
      auto digest = backup::HashFileBlocking(RunFile(m, file));
      f.size = digest.size;
      f.sha256 = digest.sha256;
    }
    Spill(RunFile(m, "manifest.json"), backup::ToJson(changed));
  }

  int RestoreLatest(const std::string& to, std::ostringstream& out) {
    storage::FileBackend store(pool_, dir_ + "/store");
    auto ctx = runner_.Context("nightly", 120s);
    restore::RestoreLatestOptions options{"nightly", to, true};
    options.keys = static_cast<const probes::BackupJob&>(*runner_.Check("nightly").probe).keys();
    auto status = RunWithDeadline(io_, restore::RestoreLatestCommand(ctx, store, options, out), 120s);
    return status.value_or(-1);
  }

  static int ScratchDatabases() {
    return std::stoi(
        drill_server_->QueryValue("SELECT count(*) FROM pg_database WHERE datname LIKE 'drwatch\\_drill\\_%'"));
  }

  std::string key_a_, key_b_, id_a_, id_b_;
};

TEST_F(EncryptedBackupTest, StoresOnlyCiphertextAndEveryReaderWorksUnchanged) {
  runner_.Load(Catalogue(KeyA()), "enc.yml");
  backup::Manifest m = Backup();
  ASSERT_TRUE(m.encryption);
  EXPECT_EQ(m.encryption->key_id, id_a_);
  EXPECT_EQ(m.encryption->cipher, "xchacha20poly1305-secretstream");
  std::vector<std::string> names;
  for (const auto& f : m.files) {
    names.push_back(f.name);
    ASSERT_TRUE(f.plaintext_size) << f.name;
    EXPECT_EQ(f.size, *f.plaintext_size + backup::kEncryptionHeaderBytes +
                          ((*f.plaintext_size + 65535) / 65536 + 1) * 21)
        << f.name;
  }
  EXPECT_EQ(names, (std::vector<std::string>{"schema.sql.enc", "data.dump.enc", "roles.sql.enc"}));
  backup::Manifest files = Backup("functions");
  ASSERT_EQ(files.files.size(), 1u);
  EXPECT_EQ(files.files[0].name, "files.tar.gz.enc");

  // Nothing readable anywhere in storage: not the table definitions (plain
  // in schema.sql and in data.dump's table of contents), not a row's value,
  // not a role, not a function's source, not the key.
  std::string manifest_text;
  for (const auto& entry : fs::recursive_directory_iterator(dir_ + "/store")) {
    if (!entry.is_regular_file()) continue;
    std::string data = Slurp(entry.path());
    if (entry.path().filename() == "manifest.json") {
      manifest_text += data;
      continue;
    }
    EXPECT_EQ(entry.path().extension(), ".enc") << entry.path();
    for (const char* marker : {"CREATE TABLE", "audit_logs", "user1@example.com", "authenticator", "marker-fn-2b7e",
                               "PGDMP"}) {
      EXPECT_EQ(data.find(marker), std::string::npos) << marker << " in " << entry.path();
    }
    EXPECT_EQ(data.find(key_a_), std::string::npos);
  }
  EXPECT_THAT(manifest_text, HasSubstr(id_a_));
  EXPECT_THAT(manifest_text, Not(HasSubstr(key_a_)));

  // backup list verifies what is stored.
  storage::FileBackend store(pool_, dir_ + "/store");
  std::ostringstream listed;
  auto status = RunWithDeadline(io_, backup::ListCommand(store, pool_, "nightly", listed), 60s);
  ASSERT_TRUE(status);
  EXPECT_EQ(*status, 0) << listed.str();
  EXPECT_THAT(listed.str(), HasSubstr("ok (3 files, encrypted with key " + id_a_ + ")"));

  // The drill decrypts on its way to pg_restore.
  auto drill = Run("weekly_drill");
  ASSERT_TRUE(drill);
  std::cout << drill->details;
  ASSERT_TRUE(drill->success) << drill->reason;
  EXPECT_EQ(drill->reason, "run " + m.run + " restored, 4 tables verified");
  for (const char* step : {"download data.dump.enc", "verify checksums", "decrypt data.dump", "create roles"}) {
    EXPECT_THAT(drill->details, HasSubstr(step));
  }
  EXPECT_EQ(ScratchDatabases(), 0);

  // Schema drift reads the encrypted schema.sql.
  auto drift = Run("drift", 60s);
  ASSERT_TRUE(drift);
  EXPECT_TRUE(drift->success) << drift->reason;
  EXPECT_EQ(drift->reason, "live schema matches backup " + m.run);

  // restore latest onto a fresh cluster.
  PgCluster fresh;
  std::ostringstream out;
  EXPECT_EQ(RestoreLatest(fresh.Dsn(), out), 0) << out.str();
  EXPECT_THAT(out.str(), HasSubstr("decrypt data.dump"));
  for (const auto& [table, rows] : AppRowCounts()) {
    EXPECT_EQ(fresh.QueryValue("SELECT count(*) FROM " + table), std::to_string(rows)) << table;
  }
}

TEST_F(EncryptedBackupTest, AWrongKeyNamesTheIdsAndOldKeysReadRunsBeforeARotation) {
  runner_.Load(Catalogue(KeyA()), "enc.yml");
  backup::Manifest before = Backup();
  runner_.Load(Catalogue(KeyB()), "enc.yml");  // the key was replaced, the old one forgotten
  std::string why = "data.dump.enc was encrypted with key " + id_a_ + ", configured keys: " + id_b_;
  auto drill = Run("weekly_drill");
  ASSERT_TRUE(drill);
  EXPECT_FALSE(drill->success);
  EXPECT_EQ(drill->reason, why);
  EXPECT_EQ(ScratchDatabases(), 0);
  std::ostringstream out;
  EXPECT_EQ(RestoreLatest(drill_server_->Dsn(), out), 1);
  EXPECT_THAT(out.str(), HasSubstr(why));
  auto drift = Run("drift", 60s);
  ASSERT_TRUE(drift);
  EXPECT_EQ(drift->reason, "schema.sql.enc was encrypted with key " + id_a_ + ", configured keys: " + id_b_ +
                               " (run " + before.run + ")");
  for (const std::string& text : {drill->reason + drill->details, out.str(), drift->reason}) {
    EXPECT_THAT(text, Not(HasSubstr(key_a_)));
    EXPECT_THAT(text, Not(HasSubstr(key_b_)));
  }

  // The rotation done right: B encrypts, A (old_keys) still reads.
  runner_.Load(Catalogue(KeyBWithOldA()), "enc.yml");
  drill = Run("weekly_drill");
  ASSERT_TRUE(drill);
  EXPECT_TRUE(drill->success) << drill->reason;
  EXPECT_EQ(drill->reason, "run " + before.run + " restored, 4 tables verified");
  TurnLoop(io_, 1100ms);  // a new run id
  backup::Manifest after = Backup();
  ASSERT_TRUE(after.encryption);
  EXPECT_EQ(after.encryption->key_id, id_b_);
  drill = Run("weekly_drill");
  ASSERT_TRUE(drill);
  EXPECT_TRUE(drill->success) << drill->reason;
  EXPECT_EQ(drill->reason, "run " + after.run + " restored, 4 tables verified");
}

TEST_F(EncryptedBackupTest, AFlippedByteOrATruncatedFileIsRefusedNeverRestored) {
  runner_.Load(Catalogue(KeyA()), "enc.yml");
  backup::Manifest m = Backup();
  std::string path = RunFile(m, "data.dump.enc");
  std::string stored = Slurp(path);

  // A flipped byte: the stored SHA-256 catches it first.
  std::string flipped = stored;
  flipped[flipped.size() / 2] ^= 0x01;
  Spill(path, flipped);
  auto r = Run("weekly_drill");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->reason, "checksum mismatch: data.dump.enc");

  // The same flip with the manifest rewritten to match: the cipher catches it.
  ReSign(m, "data.dump.enc");
  r = Run("weekly_drill");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->reason, "data.dump.enc: authentication failed: the file is corrupt, tampered with or reordered");
  EXPECT_THAT(r->details, Not(HasSubstr("create database")));

  // Truncated at a chunk boundary, manifest rewritten: the missing final chunk shows.
  Spill(path, stored.substr(0, backup::kEncryptionHeaderBytes + 2 * (4 + 65536 + 17)));
  ReSign(m, "data.dump.enc");
  r = Run("weekly_drill");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->reason, "data.dump.enc: truncated: the final chunk is missing");
  std::ostringstream out;
  EXPECT_EQ(RestoreLatest(drill_server_->Dsn(), out), 1);
  EXPECT_THAT(out.str(), HasSubstr("data.dump.enc: truncated: the final chunk is missing"));
  EXPECT_THAT(out.str(), Not(HasSubstr("pg_restore")));
  EXPECT_EQ(ScratchDatabases(), 0);
}

TEST_F(EncryptedBackupTest, BackupDecryptNeedsOnlyTheFileAndTheKey) {
  runner_.Load(Catalogue(KeyA()), "enc.yml");
  backup::Manifest m = Backup();
  backup::Manifest files = Backup("functions");
  std::string daemon = DRWATCH_DAEMON_PATH;
  std::string dump = RunFile(m, "data.dump.enc");

  Shell plain = Sh(daemon + " backup decrypt " + dump + " --key-file " + dir_ + "/a.key");
  EXPECT_EQ(plain.status, 0);
  EXPECT_EQ(plain.out.size(), *m.Stored("data.dump")->plaintext_size);
  EXPECT_EQ(plain.out.substr(0, 5), "PGDMP");
  Spill(dir_ + "/data.dump", plain.out);
  Shell toc = Sh(pgproc::BinDir() + "/pg_restore -l " + dir_ + "/data.dump");
  EXPECT_EQ(toc.status, 0);
  EXPECT_THAT(toc.out, HasSubstr("TABLE auth users"));
  Shell tar = Sh(daemon + " backup decrypt " + RunFile(files, "files.tar.gz.enc") + " --key-file " + dir_ +
                 "/a.key | tar xzOf - ./hello/index.ts");
  EXPECT_EQ(tar.status, 0);
  EXPECT_THAT(tar.out, HasSubstr("marker-fn-2b7e"));

  // Wrong key, truncated file: nothing on stdout, exit 1, the reason on stderr.
  Shell wrong = Sh(daemon + " backup decrypt " + dump + " --key-file " + dir_ + "/b.key 2>" + dir_ + "/err");
  EXPECT_EQ(wrong.status, 1);
  EXPECT_EQ(wrong.out, "");
  EXPECT_EQ(Slurp(dir_ + "/err"), "drwatchd: backup decrypt: data.dump.enc was encrypted with key " + id_a_ +
                                      ", configured keys: " + id_b_ + "\n");
  Spill(dir_ + "/cut.enc", Slurp(dump).substr(0, 100000));
  Shell cut = Sh(daemon + " backup decrypt " + dir_ + "/cut.enc --key-file " + dir_ + "/a.key 2>" + dir_ + "/err");
  EXPECT_EQ(cut.status, 1);
  EXPECT_EQ(cut.out, "");
  EXPECT_EQ(Slurp(dir_ + "/err"), "drwatchd: backup decrypt: cut.enc: truncated: the final chunk is missing\n");
  // A key every user can read is refused, with the fix.
  Spill(dir_ + "/open.key", key_a_ + "\n");
  std::filesystem::permissions(dir_ + "/open.key", std::filesystem::perms::owner_read |
                                                       std::filesystem::perms::owner_write |
                                                       std::filesystem::perms::others_read);
  Shell open = Sh(daemon + " backup decrypt " + dump + " --key-file " + dir_ + "/open.key 2>" + dir_ + "/err");
  EXPECT_EQ(open.status, 1);
  EXPECT_EQ(open.out, "");
  EXPECT_THAT(Slurp(dir_ + "/err"), HasSubstr("open.key is readable by every user (mode 0604): run chmod 600"));
  Shell usage = Sh(daemon + " backup decrypt " + dump + " 2>&1");
  EXPECT_EQ(usage.status, 2);
  EXPECT_THAT(usage.out, HasSubstr("backup decrypt needs --key-file PATH"));
}

}  // namespace
}  // namespace drwatch::test
