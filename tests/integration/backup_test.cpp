// backup.pg_dump and backup.files against a real PostgreSQL 15 cluster, the
// real pg_dump/pg_restore/tar, and a file:// storage target in a temp dir:
// what a complete run holds, and that every way a run can fail (pg_dump
// missing or failing, database down, storage unwritable or full, the
// deadline) leaves no run that looks complete.

#include <dirent.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <spdlog/spdlog.h>

#include "backup/commands.hpp"
#include "common/crypto.hpp"
#include "backup/manifest.hpp"
#include "backup/runs.hpp"
#include "common/subprocess.hpp"
#include "catalogue/catalogue.hpp"
#include "pg/tools.hpp"
#include "probes/history.hpp"
#include "storage/file_backend.hpp"
#include "support/check_runner.hpp"
#include "support/log_capture.hpp"
#include "support/app_seed.hpp"
#include "support/pg_cluster.hpp"
#include "support/process.hpp"

namespace drwatch::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr const char* kTables = kAppTables;

// Captures what the default logger writes while it lives.
// Output of a command line (tests only: blocking is fine here).
std::string Capture(const std::string& command) {
  std::string out;
  FILE* p = ::popen(command.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  ::pclose(p);
  return out;
}

class BackupTest : public PgClusterTest {
 protected:
  void SetUp() override {
    PgClusterTest::SetUp();
    std::string templ = (fs::temp_directory_path() / "drwatch-backup-XXXXXX").string();
    ASSERT_NE(::mkdtemp(templ.data()), nullptr);
    dir_ = templ;
    store_dir_ = dir_ + "/store";
    fs::create_directory(store_dir_);
    Seed();
  }

  void TearDown() override {
    runner_.Clear();
    TurnLoop(io_, 100ms);
    if (mounted_) ::umount2(store_dir_.c_str(), MNT_DETACH);
    fs::remove_all(dir_);
    PgClusterTest::TearDown();
  }

  // auth and public schemas, four tables, 110000 rows; readable by the
  // password user the checks connect as (PGPASSWORD reaches pg_dump).
  static void Seed() {
    static bool seeded = false;
    if (seeded) return;
    seeded = true;
    SeedAppDatabase(cluster());
  }

  // A catalogue with postgres target `db` at `dsn`, storage target `backups`
  // at `store` (default: the temp store) and `checks`.
  void Load(const std::string& dsn, const std::string& checks, std::string store = "") {
    if (store.empty()) store = store_dir_;
    std::string text = "targets:\n  db:\n    type: postgres\n    dsn: \"" + dsn +
                       "\"\n  backups:\n    type: storage\n    url: \"file://" + store + "\"\nchecks:\n" + checks;
    runner_.Load(text, "backup_test.yml");
  }

  const catalogue::CheckSpec& Check(const std::string& name) const { return runner_.Check(name); }
  probes::RunContext Context(const std::string& name, std::chrono::milliseconds timeout) {
    return runner_.Context(name, timeout);
  }
  std::optional<probes::ProbeResult> Run(const std::string& name, std::chrono::milliseconds timeout = 60s) {
    return runner_.Run(name, timeout);
  }

  std::vector<backup::RunInfo> Runs(const std::string& check) {
    storage::FileBackend store(pool_, store_dir_);
    auto runs = RunWithDeadline(io_, backup::ListRuns(store, check), 10s);
    EXPECT_TRUE(runs && runs->ok());
    return runs ? runs->runs : std::vector<backup::RunInfo>{};
  }

  std::vector<backup::RunInfo> CompleteRuns(const std::string& check) {
    auto runs = Runs(check);
    std::erase_if(runs, [](const auto& r) { return !r.has_manifest; });
    return runs;
  }

  backup::Manifest ManifestOf(const std::string& check, const std::string& id) {
    std::string error;
    auto m = backup::ParseManifest(ReadFile(store_dir_ + "/" + check + "/" + id + "/manifest.json"), error);
    EXPECT_TRUE(m) << error;
    return m.value_or(backup::Manifest{});
  }

  // Waits for the next wall-clock second: run ids have a resolution of one.
  void NextSecond() {
    auto now = std::chrono::system_clock::now();
    auto next = std::chrono::ceil<std::chrono::seconds>(now) + 10ms;
    TurnLoop(io_, std::chrono::duration_cast<std::chrono::milliseconds>(next - now));
  }

  std::string PgDumpCheck(const std::string& extra = "") {
    return "  - name: nightly\n    kind: backup.pg_dump\n    target: db\n    storage: backups\n    tables: " +
           std::string(kTables) + "\n" + extra;
  }

  std::string dir_, store_dir_;
  bool mounted_ = false;
  CheckRunner runner_{io_, pool_};
};

TEST_F(BackupTest, BacksUpTheSeededDatabaseWithAVerifiableManifest) {
  Load(cluster().PasswordDsn(), PgDumpCheck());
  LoopWatch watch(io_, 20ms);
  auto start = std::chrono::steady_clock::now();
  auto result = Run("nightly");
  auto took = Since(start);
  ASSERT_TRUE(result) << "timed out";
  ASSERT_TRUE(result->success) << result->reason;
  // The loop was never blocked for the dump's duration (seconds). Not a
  // tighter bound: on a shared 2-core machine at load 7 the scheduler alone
  // delays a timer by 60-130 ms.
  EXPECT_LT(watch.worst_lateness(), 250ms);

  auto runs = CompleteRuns("nightly");
  ASSERT_EQ(runs.size(), 1u);
  const std::string run_dir = store_dir_ + "/nightly/" + runs[0].id;
  EXPECT_EQ(AllFiles(run_dir), (std::vector<std::string>{"data.dump", "manifest.json", "roles.sql", "schema.sql"}));
  backup::Manifest m = ManifestOf("nightly", runs[0].id);
  EXPECT_EQ(m.kind, "backup.pg_dump");
  EXPECT_EQ(m.check, "nightly");
  EXPECT_EQ(m.run, runs[0].id);
  EXPECT_EQ(m.database, "postgres");
  EXPECT_TRUE(m.server_version.starts_with("15.")) << m.server_version;
  EXPECT_LE(m.started_at, m.finished_at);
  ASSERT_EQ(m.files.size(), 3u);
  for (const auto& f : m.files) {
    std::string bytes = ReadFile(run_dir + "/" + f.name);
    EXPECT_EQ(f.size, bytes.size()) << f.name;
    EXPECT_EQ(f.sha256, Sha256Hex(bytes)) << f.name;
  }
  std::map<std::string, std::int64_t> rows;
  for (const auto& t : m.tables) rows[t.name] = t.rows;
  EXPECT_EQ(rows, (std::map<std::string, std::int64_t>{
                      {"auth.users", 20000}, {"auth.sessions", 30000}, {"public.orders", 50000}, {"public.audit_logs", 10000}}));

  std::string schema = ReadFile(run_dir + "/schema.sql");
  EXPECT_NE(schema.find("CREATE TABLE auth.users"), std::string::npos);
  EXPECT_EQ(schema.find("COPY auth.users"), std::string::npos);  // schema only
  std::string roles = ReadFile(run_dir + "/roles.sql");
  EXPECT_NE(roles.find(std::string("CREATE ROLE ") + PgCluster::kPasswordUser + ";"), std::string::npos) << roles;
  EXPECT_EQ(roles.find("SCRAM-SHA-256"), std::string::npos) << "no password hash is stored";
  std::map<std::string, std::int64_t> structure;
  for (const auto& c : m.structure) structure[c.name] = c.count;
  EXPECT_EQ(structure["tables"], 4);
  EXPECT_EQ(structure["views"], 1);
  std::string toc = Capture(pgproc::BinDir() + "/pg_restore -l " + run_dir + "/data.dump");
  for (const char* entry : {"TABLE DATA auth users", "TABLE DATA auth sessions", "TABLE DATA public orders",
                            "TABLE DATA public audit_logs", "TABLE auth users"}) {
    EXPECT_NE(toc.find(entry), std::string::npos) << entry << "\n" << toc;
  }

  auto samples = SamplesByName(result->samples);
  EXPECT_EQ(samples["drwatch_backup_size_bytes{file=data.dump}"], static_cast<double>(m.File("data.dump")->size));
  EXPECT_EQ(samples["drwatch_backup_size_bytes{file=schema.sql}"], static_cast<double>(m.File("schema.sql")->size));
  EXPECT_GT(samples["drwatch_backup_last_success_timestamp_seconds"], 1.7e9);
  EXPECT_GT(samples["drwatch_backup_duration_seconds"], 0);
  double stored = 0;
  for (const auto& f : m.files) stored += static_cast<double>(f.size);
  EXPECT_DOUBLE_EQ(samples["drwatch_backup_throughput_bytes_per_second"],
                   stored / samples["drwatch_backup_duration_seconds"]);
  EXPECT_TRUE(samples.contains("drwatch_data_age_seconds"));
  ASSERT_TRUE(result->observed);
  EXPECT_LT(*result->observed, 120);
  EXPECT_NE(result->details.find(run_dir), std::string::npos) << result->details;
  EXPECT_NE(result->details.find("table auth.users: 20000 rows"), std::string::npos) << result->details;
  std::cout << "[ measured ] backup of 110000 rows: " << took.count() << " ms, data.dump "
            << m.File("data.dump")->size << " bytes, schema.sql " << m.File("schema.sql")->size
            << " bytes, loop worst lateness " << watch.worst_lateness().count() << " ms\n"
            << result->details;

  // backup list: verifies every complete run; a flipped byte is caught.
  storage::FileBackend store(pool_, store_dir_);
  std::ostringstream listed;
  auto status = RunWithDeadline(io_, backup::ListCommand(store, pool_, "nightly", listed), 30s);
  ASSERT_TRUE(status);
  EXPECT_EQ(*status, 0) << listed.str();
  EXPECT_NE(listed.str().find("complete   ok (3 files)"), std::string::npos) << listed.str();
  {
    std::fstream f(run_dir + "/data.dump", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(1000);
    f.put('\x5a' ^ ReadFile(run_dir + "/data.dump")[1000]);
  }
  std::ostringstream damaged;
  status = RunWithDeadline(io_, backup::ListCommand(store, pool_, "nightly", damaged), 30s);
  EXPECT_EQ(*status, 1);
  EXPECT_NE(damaged.str().find("FAILED data.dump: SHA-256 does not match the manifest"), std::string::npos)
      << damaged.str();
}

TEST_F(BackupTest, BackupFilesArchivesATree) {
  std::string tree = dir_ + "/functions";
  fs::create_directories(tree + "/hello");
  fs::create_directories(tree + "/shared/lib");
  std::ofstream(tree + "/hello/index.ts") << "Deno.serve(() => new Response('hi'))\n";
  std::ofstream(tree + "/shared/lib/db.ts") << "export const x = 1\n";
  Load(cluster().Dsn(),
       "  - name: functions\n    kind: backup.files\n    storage: backups\n    path: " + tree + "\n");
  auto result = Run("functions");
  ASSERT_TRUE(result);
  ASSERT_TRUE(result->success) << result->reason;
  auto runs = CompleteRuns("functions");
  ASSERT_EQ(runs.size(), 1u);
  std::string archive = store_dir_ + "/functions/" + runs[0].id + "/files.tar.gz";
  std::string listing = Capture("tar tzf " + archive);
  EXPECT_NE(listing.find("./hello/index.ts"), std::string::npos) << listing;
  EXPECT_NE(listing.find("./shared/lib/db.ts"), std::string::npos) << listing;
  backup::Manifest m = ManifestOf("functions", runs[0].id);
  EXPECT_EQ(m.kind, "backup.files");
  EXPECT_EQ(m.source_path, tree);
  ASSERT_EQ(m.files.size(), 1u);
  EXPECT_EQ(m.files[0].sha256, Sha256Hex(ReadFile(archive)));
  EXPECT_TRUE(m.tables.empty());

  // A directory that is not there: tar's own words, and no complete run.
  Load(cluster().Dsn(),
       "  - name: functions\n    kind: backup.files\n    storage: backups\n    path: " + dir_ + "/none\n");
  NextSecond();
  auto missing = Run("functions");
  ASSERT_TRUE(missing);
  EXPECT_FALSE(missing->success);
  EXPECT_TRUE(missing->reason.starts_with("tar failed (exit code 2): /usr/bin/tar: " + dir_ + "/none: Cannot open"))
      << missing->reason;
  EXPECT_EQ(CompleteRuns("functions").size(), 1u);
  // The older complete run still feeds the age while runs fail.
  EXPECT_TRUE(missing->observed);
}

// Backup performance: each run's duration over the median of the check's
// previous runs (kept in <storage.path>/history/<check>.json, so a restart
// keeps them), and a run more than 2x slower than that median is logged.
TEST_F(BackupTest, DurationRatioAgainstTheMedianOfPreviousRunsAndASlowRunWarns) {
  std::string state = dir_ + "/state";
  runner_.SetStoragePath(state);
  Load(cluster().Dsn(), PgDumpCheck());
  for (int i = 0; i < 3; ++i) {  // no ratio before three runs
    NextSecond();
    auto r = Run("nightly");
    ASSERT_TRUE(r);
    ASSERT_TRUE(r->success) << r->reason;
    EXPECT_FALSE(SamplesByName(r->samples).contains("drwatch_backup_duration_ratio"));
  }
  NextSecond();
  auto fourth = Run("nightly");
  ASSERT_TRUE(fourth);
  ASSERT_TRUE(fourth->success) << fourth->reason;
  double ratio = SamplesByName(fourth->samples)["drwatch_backup_duration_ratio"];
  EXPECT_GT(ratio, 0.1);  // the same backup again: about 1, with room for a loaded machine
  EXPECT_LT(ratio, 10);
  std::string error;
  probes::History kept = probes::LoadHistory(state, "nightly", error);
  EXPECT_EQ(error, "");
  EXPECT_EQ(kept.subjects["duration"].samples.size(), 4u);

  // Earlier runs that took a millisecond each: this one is far more than 2x slower.
  probes::History fast;
  fast.subjects["duration"].samples = {0.001, 0.001, 0.001};
  ASSERT_TRUE(probes::SaveHistory(state, "nightly", fast, error)) << error;
  LogCapture log;
  NextSecond();
  auto slow = Run("nightly");
  ASSERT_TRUE(slow);
  ASSERT_TRUE(slow->success) << slow->reason;
  EXPECT_GT(SamplesByName(slow->samples)["drwatch_backup_duration_ratio"], 2);
  std::string logged = log.Text();
  EXPECT_NE(logged.find("check nightly: backup run took "), std::string::npos) << logged;
  EXPECT_NE(logged.find("x the median 0.001s of its last 3 runs"), std::string::npos) << logged;
}

TEST_F(BackupTest, MissingPgDumpFailsClearly) {
  Load(cluster().PasswordDsn(), PgDumpCheck("    pg_dump_path: /nonexistent/bin/pg_dump\n"));
  auto result = Run("nightly");
  ASSERT_TRUE(result);
  EXPECT_FALSE(result->success);
  EXPECT_NE(result->reason.find("/nonexistent/bin/pg_dump"), std::string::npos) << result->reason;
  EXPECT_NE(result->reason.find("No such file or directory"), std::string::npos) << result->reason;
  EXPECT_TRUE(CompleteRuns("nightly").empty());
}

TEST_F(BackupTest, DatabaseDownFails) {
  Load("host=127.0.0.1 port=" + std::to_string(pgproc::FreeLoopbackPort()) + " user=postgres connect_timeout=5",
       PgDumpCheck());
  auto result = Run("nightly");
  ASSERT_TRUE(result);
  EXPECT_FALSE(result->success);
  EXPECT_TRUE(result->reason.starts_with("connect: ")) << result->reason;
  EXPECT_TRUE(AllFiles(store_dir_).empty());
}

TEST_F(BackupTest, AMissingTableIsNamed) {
  Load(cluster().PasswordDsn(),
       "  - name: nightly\n    kind: backup.pg_dump\n    target: db\n    storage: backups\n"
       "    tables: [auth.users, auth.no_such_table]\n");
  auto result = Run("nightly");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->reason, "table auth.no_such_table does not exist");
  EXPECT_TRUE(AllFiles(store_dir_).empty());
}

TEST_F(BackupTest, AFailingPgDumpGivesItsStderrWithoutThePassword) {
  std::string script = dir_ + "/fake_pg_dump";
  std::string args_file = dir_ + "/args";
  std::ofstream(script) << "#!/bin/sh\n"
                           "echo \"$@\" > " << args_file << "\n"
                           "echo 'some output'\n"
                           "echo \"pg_dump: error: connection failed: password $PGPASSWORD rejected\" >&2\n"
                           "echo 'second line' >&2\n"
                           "exit 1\n";
  fs::permissions(script, fs::perms::owner_all);
  Load(cluster().PasswordDsn(), PgDumpCheck("    pg_dump_path: " + script + "\n"));
  auto result = Run("nightly");
  ASSERT_TRUE(result);
  EXPECT_FALSE(result->success);
  EXPECT_EQ(result->reason, "pg_dump failed (exit code 1): pg_dump: error: connection failed: password <redacted> rejected");
  std::string args = ReadFile(args_file);
  EXPECT_NE(args.find("--snapshot="), std::string::npos) << args;
  EXPECT_EQ(args.find(PgCluster::kPassword), std::string::npos) << args;
  EXPECT_TRUE(CompleteRuns("nightly").empty());
  EXPECT_TRUE(PollUntil(io_, [&] { return AllFiles(store_dir_).empty(); }, 2s)) << "uncommitted schema.sql left behind";
}

// Issue 10 §6 / issue 12 "Secrets": pg_dump gets PATH, the locale, HOME and
// its own PG* variables, never the daemon's environment (here the ${env:}
// variable the DSN's password comes from, and an unrelated secret).
TEST_F(BackupTest, PgDumpSeesOnlyItsOwnEnvironment) {
  ::setenv("DRWATCH_TEST_PGPASSWORD", PgCluster::kPassword, 1);
  ::setenv("DRWATCH_TEST_SECRET", "daemon-only-secret-2718", 1);
  std::string script = dir_ + "/pg_dump_env";
  std::string env_file = dir_ + "/pg_dump.env";
  std::ofstream(script) << "#!/bin/sh\n"
                           "/usr/bin/env >> " << env_file << "\n"
                           "exec " << pg::PostgresBinDir(15) << "/pg_dump \"$@\"\n";
  fs::permissions(script, fs::perms::owner_all);
  Load(cluster().DsnFor(PgCluster::kPasswordUser, "${env:DRWATCH_TEST_PGPASSWORD}"),
       PgDumpCheck("    pg_dump_path: " + script + "\n"));
  auto result = Run("nightly");
  ::unsetenv("DRWATCH_TEST_PGPASSWORD");
  ::unsetenv("DRWATCH_TEST_SECRET");
  ASSERT_TRUE(result);
  EXPECT_TRUE(result->success) << result->reason;
  std::string env = ReadFile(env_file);
  EXPECT_EQ(env.find("daemon-only-secret-2718"), std::string::npos) << env;
  EXPECT_EQ(env.find("DRWATCH_"), std::string::npos) << env;
  EXPECT_NE(env.find("PGPASSWORD=" + std::string(PgCluster::kPassword) + "\n"), std::string::npos);
  EXPECT_NE(env.find("PGAPPNAME=drwatchd pg_dump\n"), std::string::npos) << env;
  std::istringstream lines(env);
  for (std::string line; std::getline(lines, line);) {
    std::string name = line.substr(0, line.find('='));
    EXPECT_TRUE(name.starts_with("PG") || name == "PATH" || name == "HOME" || name == "LANG" || name == "LC_ALL" ||
                name == "TZ" || name == "PWD")  // PWD: set by /bin/sh itself
        << "pg_dump got " << name;
  }
}

TEST_F(BackupTest, UnwritableStorageFailsWithoutACompleteLookingRun) {
  std::ofstream(store_dir_ + "/nightly") << "a regular file where the check's directory should be";
  Load(cluster().PasswordDsn(), PgDumpCheck());
  auto result = Run("nightly");
  ASSERT_TRUE(result);
  EXPECT_FALSE(result->success);
  EXPECT_TRUE(result->reason.starts_with("mkdir " + store_dir_ + "/nightly/")) << result->reason;
  EXPECT_TRUE(result->reason.ends_with(": Not a directory")) << result->reason;
  EXPECT_EQ(AllFiles(store_dir_), std::vector<std::string>{"nightly"});
}

TEST_F(BackupTest, FullStorageFailsMidStreamWithoutACompleteLookingRun) {
  ASSERT_EQ(::geteuid(), 0u) << "mounting a small tmpfs needs root (scripts/test runs the suite as root)";
  ASSERT_EQ(::mount("tmpfs", store_dir_.c_str(), "tmpfs", 0, "size=256k"), 0) << std::strerror(errno);
  mounted_ = true;
  Load(cluster().PasswordDsn(), PgDumpCheck());
  auto result = Run("nightly");
  ASSERT_TRUE(result);
  EXPECT_FALSE(result->success);
  EXPECT_TRUE(result->reason.starts_with("write " + store_dir_ + "/nightly/")) << result->reason;
  EXPECT_TRUE(result->reason.ends_with("/data.dump: No space left on device")) << result->reason;
  EXPECT_TRUE(CompleteRuns("nightly").empty());
  // schema.sql may be there (it was committed); nothing hidden stays behind.
  EXPECT_TRUE(PollUntil(io_, [&] {
    for (const auto& f : AllFiles(store_dir_)) {
      if (fs::path(f).filename().string().starts_with(".")) return false;
    }
    return true;
  }, 2s));
  EXPECT_TRUE(OwnChildrenWith("--snapshot=").empty());
}

TEST_F(BackupTest, TimeoutKillsPgDumpAndTheNextRunRemovesThePartialRun) {
  Load(cluster().PasswordDsn(),
       "  - name: nightly\n    kind: backup.pg_dump\n    target: db\n    storage: backups\n"
       "    tables: [auth.users]\n");
  // A session holding ACCESS EXCLUSIVE on a table makes pg_dump wait for its lock.
  PGconn* locker = PQconnectdb(cluster().Dsn().c_str());
  ASSERT_EQ(PQstatus(locker), CONNECTION_OK);
  PQclear(PQexec(locker, "BEGIN; LOCK TABLE public.orders IN ACCESS EXCLUSIVE MODE"));

  auto ctx = Context("nightly", 2s);
  bool done = false;
  std::optional<probes::ProbeResult> result;
  SpawnWithDeadline<probes::ProbeResult>(io_, Check("nightly").probe->Run(ctx), 2s,
                                         [&](std::optional<probes::ProbeResult> r, std::exception_ptr) {
                                           result = std::move(r);
                                           done = true;
                                         });
  TurnLoop(io_, 1500ms);
  std::vector<int> dumping = OwnChildrenWith("--snapshot=");
  EXPECT_EQ(dumping.size(), 1u) << "pg_dump should be waiting for its lock";
  ASSERT_TRUE(PollUntil(io_, [&] { return done; }, 5s));
  EXPECT_FALSE(result);  // the deadline won
  EXPECT_TRUE(PollUntil(io_, [&] { return OwnChildrenWith("--snapshot=").empty(); }, 2s))
      << "pg_dump's process group outlived the deadline";
  EXPECT_TRUE(CompleteRuns("nightly").empty());
  EXPECT_TRUE(PollUntil(io_, [&] { return AllFiles(store_dir_).empty(); }, 2s)) << AllFiles(store_dir_)[0];
  PQclear(PQexec(locker, "ROLLBACK"));
  PQfinish(locker);

  // An incomplete run as a crash long ago (past the timeout) would leave it:
  // the next good run removes it.
  fs::create_directories(store_dir_ + "/nightly/20200101T000000Z");
  std::ofstream(store_dir_ + "/nightly/20200101T000000Z/schema.sql") << "-- partial\n";
  for (const char* p : {"/nightly/20200101T000000Z/schema.sql", "/nightly/20200101T000000Z"}) {
    fs::last_write_time(store_dir_ + p, fs::file_time_type::clock::now() - std::chrono::hours(24));
  }
  NextSecond();
  auto good = Run("nightly");
  ASSERT_TRUE(good);
  ASSERT_TRUE(good->success) << good->reason;
  auto runs = Runs("nightly");
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_TRUE(runs[0].has_manifest);
  EXPECT_FALSE(fs::exists(store_dir_ + "/nightly/20200101T000000Z"));
}

TEST_F(BackupTest, RetentionKeepsExactlyTheLastRuns) {
  std::string tree = dir_ + "/tree";
  fs::create_directories(tree);
  std::ofstream(tree + "/a.txt") << "a\n";
  Load(cluster().Dsn(), "  - name: files\n    kind: backup.files\n    storage: backups\n    path: " + tree +
                            "\n    keep: {last: 2}\n");
  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i) {
    NextSecond();
    auto r = Run("files");
    ASSERT_TRUE(r && r->success) << (r ? r->reason : "timeout");
    ids.push_back(CompleteRuns("files").back().id);
  }
  auto runs = Runs("files");
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].id, ids[2]);
  EXPECT_EQ(runs[1].id, ids[3]);
}

}  // namespace
}  // namespace drwatch::test
