// Runs of one backup check never destroy each other (issue 10 §5), with the
// real drwatchd command line, pg_dump and a file:// store: a second `backup
// run` next to one in flight is refused at once and nothing is lost; a run
// killed by SIGKILL leaves temp files that retention removes only once they
// are older than the check's timeout; a manifest whose files are not all
// there is not complete; the run just written survives a clock step back.

#include <libpq-fe.h>
#include <signal.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>

#include "backup/commands.hpp"
#include "backup/runs.hpp"
#include "storage/file_backend.hpp"
#include "support/pg_cluster.hpp"
#include "support/check_runner.hpp"
#include "support/process.hpp"

namespace drwatch::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

const char* kDaemon = DRWATCH_DAEMON_PATH;
// Short, so the test can outwait it; long enough for a dump of a few rows
// on a loaded 2-core machine.
constexpr auto kTimeout = 8s;

class BackupRunsTest : public PgClusterTest {
 protected:
  void SetUp() override {
    PgClusterTest::SetUp();
    std::string templ = (fs::temp_directory_path() / "drwatch-runs-XXXXXX").string();
    ASSERT_NE(::mkdtemp(templ.data()), nullptr);
    dir_ = templ;
    store_ = dir_ + "/store";
    state_ = dir_ + "/state";
    fs::create_directories(store_);
    cluster().Exec("CREATE TABLE IF NOT EXISTS public.runs_demo (id int PRIMARY KEY, note text);"
                   "INSERT INTO public.runs_demo SELECT g, 'row ' || g FROM generate_series(1, 1000) g "
                   "ON CONFLICT DO NOTHING;"
                   "GRANT SELECT ON public.runs_demo TO drwatch;"
                   "CREATE TABLE IF NOT EXISTS public.runs_blocker (id int);"
                   "GRANT SELECT ON public.runs_blocker TO drwatch;");
    WriteCatalogue("");
  }

  void TearDown() override {
    if (locker_) PQfinish(locker_);
    fs::remove_all(dir_);
    PgClusterTest::TearDown();
  }

  void WriteCatalogue(const std::string& extra) {
    catalogue_ = dir_ + "/drwatch.yml";
    std::ofstream(catalogue_) << "targets:\n  db: {type: postgres, dsn: \"" << cluster().PasswordDsn()
                              << "\"}\n  backups: {type: storage, url: \"file://" << store_
                              << "\"}\nchecks:\n  - name: nightly\n    kind: backup.pg_dump\n    target: db\n"
                                 "    storage: backups\n    tables: [public.runs_demo]\n    timeout: 8s\n"
                              << extra;
  }

  std::vector<std::string> Args(const std::string& command) const {
    return {kDaemon, "--config.file=" + catalogue_, "--storage.path=" + state_, "backup", command, "nightly"};
  }
  CommandResult Cli(const std::string& command) { return RunCommand(Args(command)); }

  // A session holding ACCESS EXCLUSIVE on a table outside `tables` (whose
  // rows the run counts first): pg_dump, which dumps every table, waits for it.
  void BlockDumps() {
    locker_ = PQconnectdb(cluster().Dsn().c_str());
    ASSERT_EQ(PQstatus(locker_), CONNECTION_OK);
    PQclear(PQexec(locker_, "BEGIN; LOCK TABLE public.runs_blocker IN ACCESS EXCLUSIVE MODE"));
  }
  void UnblockDumps() {
    PQclear(PQexec(locker_, "ROLLBACK"));
    PQfinish(locker_);
    locker_ = nullptr;
  }

  // Files of the store whose name says a write was in flight.
  std::vector<std::string> TempFiles() const {
    std::vector<std::string> out;
    for (const auto& f : AllFiles(store_)) {
      if (f.find(".partial-") != std::string::npos) out.push_back(f);
    }
    return out;
  }

  // Run directories of nightly, and how many hold a manifest.
  std::vector<std::string> RunDirs() const {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(store_ + "/nightly")) out.push_back(e.path().filename());
    std::sort(out.begin(), out.end());
    return out;
  }
  bool Complete(const std::string& id) const { return fs::exists(store_ + "/nightly/" + id + "/manifest.json"); }

  // A `backup run` stopped inside pg_dump: it holds the run lock and its first
  // file exists only as a hidden temp file.
  std::unique_ptr<ChildProcess> StartBlockedRun() {
    auto run = std::make_unique<ChildProcess>(Args("run"));
    std::string holder = std::to_string(run->pid()) + " ";
    bool locked = false;
    for (auto until = std::chrono::steady_clock::now() + 10s; std::chrono::steady_clock::now() < until && !locked;
         std::this_thread::sleep_for(20ms)) {
      std::ifstream in(state_ + "/locks/nightly.lock");
      std::string line;
      std::getline(in, line);
      locked = line.starts_with(holder) && !TempFiles().empty();
    }
    EXPECT_TRUE(locked) << "the run did not get to pg_dump:\n" << run->Output();
    return run;
  }

  std::string dir_, store_, state_, catalogue_;
  PGconn* locker_ = nullptr;
};

TEST_F(BackupRunsTest, ASecondRunNextToOneInFlightIsRefusedAndNothingIsLost) {
  ASSERT_EQ(Cli("run").exit_code, 0);  // an older complete run the second must not touch
  BlockDumps();
  auto first = StartBlockedRun();

  auto start = std::chrono::steady_clock::now();
  CommandResult second = Cli("run");
  EXPECT_LT(Since(start), 5s) << "refused at once, not after waiting";
  EXPECT_EQ(second.exit_code, 1) << second.out << second.err;
  // The last line of stderr (the log line before it says the same).
  std::regex refusal("(^|\n)drwatchd: backup run nightly: already running \\(pid " + std::to_string(first->pid()) +
                     ", since \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z\\)\n$");
  EXPECT_TRUE(std::regex_search(second.err, refusal)) << second.err;
  EXPECT_EQ(second.out, "");

  UnblockDumps();
  EXPECT_EQ(first->WaitExit(30s), 0) << first->Output();
  CommandResult third = Cli("run");  // the lock was released
  EXPECT_EQ(third.exit_code, 0) << third.out << third.err;

  // Three complete runs, every file present with its size and SHA-256.
  CommandResult listed = Cli("list");
  EXPECT_EQ(listed.exit_code, 0) << listed.out << listed.err;
  std::vector<std::string> runs = RunDirs();
  ASSERT_EQ(runs.size(), 3u) << listed.out;
  for (const auto& id : runs) EXPECT_TRUE(Complete(id)) << id << "\n" << listed.out;
  EXPECT_TRUE(TempFiles().empty());
}

TEST_F(BackupRunsTest, ARunKilledMidDumpLeavesNothingAfterTheNextRunPastTheTimeout) {
  BlockDumps();
  auto killed = StartBlockedRun();
  std::vector<std::string> left = TempFiles();
  ASSERT_EQ(left.size(), 1u);
  std::string killed_run = fs::path(left[0]).parent_path().filename();
  killed->Signal(SIGKILL);
  EXPECT_EQ(killed->WaitExit(5s), 128 + SIGKILL);
  UnblockDumps();  // the orphaned pg_dump finishes into a closed pipe
  auto killed_at = std::chrono::steady_clock::now();

  // Within the timeout the killed run may as well be another host's run in
  // flight: the next run keeps it and says so.
  CommandResult next = Cli("run");
  ASSERT_EQ(next.exit_code, 0) << next.out << next.err;
  EXPECT_EQ(TempFiles(), left);
  EXPECT_NE(next.out.find("1 incomplete run(s) younger than the timeout"), std::string::npos) << next.out;

  std::this_thread::sleep_for(kTimeout + 1s - Since(killed_at));
  CommandResult after = Cli("run");
  ASSERT_EQ(after.exit_code, 0) << after.out << after.err;
  EXPECT_TRUE(TempFiles().empty()) << TempFiles()[0];
  EXPECT_FALSE(fs::exists(store_ + "/nightly/" + killed_run)) << "its empty directory stays";
  std::vector<std::string> runs = RunDirs();
  EXPECT_EQ(runs.size(), 2u);
  for (const auto& id : runs) EXPECT_TRUE(Complete(id)) << id;
  EXPECT_NE(after.out.find("retention removed 1 run(s) and 1 leftover temp file(s)"), std::string::npos) << after.out;
}

TEST_F(BackupRunsTest, AnEmptyRunDirectoryOlderThanTheTimeoutIsRemoved) {
  // What a run killed between mkdir and its first temp file leaves.
  fs::create_directories(store_ + "/nightly/20200101T000000Z");
  fs::last_write_time(store_ + "/nightly/20200101T000000Z", fs::file_time_type::clock::now() - 1h);
  fs::create_directories(store_ + "/nightly/20200102T000000Z");  // touched just now: maybe in flight
  fs::create_directories(store_ + "/nightly/not-a-run");  // not ours: left alone
  ASSERT_EQ(Cli("run").exit_code, 0);
  EXPECT_FALSE(fs::exists(store_ + "/nightly/20200101T000000Z"));
  EXPECT_TRUE(fs::exists(store_ + "/nightly/20200102T000000Z"));
  EXPECT_TRUE(fs::exists(store_ + "/nightly/not-a-run"));
}

TEST_F(BackupRunsTest, AManifestNamingAMissingOrShortFileIsNotComplete) {
  ASSERT_EQ(Cli("run").exit_code, 0);
  ASSERT_EQ(Cli("run").exit_code, 0);
  std::vector<std::string> runs = RunDirs();
  ASSERT_EQ(runs.size(), 2u);
  std::string older = store_ + "/nightly/" + runs[0], newer = store_ + "/nightly/" + runs[1];
  fs::remove(newer + "/data.dump");
  storage::FileBackend store(pool_, store_);
  auto latest = RunWithDeadline(io_, backup::LatestComplete(store, "nightly"), 10s);
  ASSERT_TRUE(latest && latest->ok()) << (latest ? latest->error : "timeout");
  EXPECT_EQ(latest->run.id, runs[0]) << "the older, intact run";
  EXPECT_EQ(latest->skipped, std::vector<std::string>{"run " + runs[1] + ": data.dump is missing"});

  std::uintmax_t size = fs::file_size(older + "/schema.sql");
  fs::resize_file(older + "/schema.sql", 10);
  latest = RunWithDeadline(io_, backup::LatestComplete(store, "nightly"), 10s);
  ASSERT_TRUE(latest);
  EXPECT_EQ(latest->error, "no complete backup of nightly in file://" + store_ + " (skipped run " + runs[1] +
                               ": data.dump is missing; run " + runs[0] + ": schema.sql has 10 bytes, the manifest lists " +
                               std::to_string(size) + ")");

  // More than three: the newest three are named, the rest counted.
  for (const char* id : {"20200101T000000Z", "20200102T000000Z"}) {
    fs::copy(older, store_ + "/nightly/" + id, fs::copy_options::recursive);
  }
  latest = RunWithDeadline(io_, backup::LatestComplete(store, "nightly"), 10s);
  ASSERT_TRUE(latest);
  EXPECT_EQ(latest->skipped.size(), 4u);
  EXPECT_TRUE(latest->error.ends_with("; run 20200102T000000Z: schema.sql has 10 bytes, the manifest lists " +
                                      std::to_string(size) + "; and 1 more)"))
      << latest->error;

  CommandResult listed = Cli("list");
  EXPECT_EQ(listed.exit_code, 1) << listed.out;
  EXPECT_NE(listed.out.find("incomplete manifest.json present, but data.dump is missing"), std::string::npos)
      << listed.out;
  EXPECT_NE(listed.out.find("incomplete manifest.json present, but schema.sql has 10 bytes"), std::string::npos)
      << listed.out;
}

TEST_F(BackupRunsTest, TheRunJustWrittenSurvivesAClockThatSteppedBack) {
  WriteCatalogue("    keep: {last: 1}\n");
  ASSERT_EQ(Cli("run").exit_code, 0);
  std::string first = RunDirs()[0];
  // A run from a clock that was ahead (or ours before it stepped back): its id
  // sorts after every run this clock will write.
  fs::copy(store_ + "/nightly/" + first, store_ + "/nightly/20991231T000000Z", fs::copy_options::recursive);
  CommandResult r = Cli("run");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  std::vector<std::string> runs = RunDirs();
  ASSERT_EQ(runs.size(), 2u) << "the new run and the newest by id; the first goes";
  EXPECT_NE(runs[0], first);
  EXPECT_EQ(runs[1], "20991231T000000Z");
  EXPECT_TRUE(Complete(runs[0]));
}

TEST_F(BackupRunsTest, AnUnusableLockDirectoryIsReportedAndTheRunGoesAhead) {
  std::ofstream(dir_ + "/not-a-dir") << "x";
  CommandResult r = RunCommand({kDaemon, "--config.file=" + catalogue_, "--storage.path=" + dir_ + "/not-a-dir",
                                "backup", "run", "nightly"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE((r.out + r.err).find("check nightly: running without its run lock: mkdir " + dir_ +
                                 "/not-a-dir/locks: Not a directory"),
            std::string::npos)
      << r.out << r.err;
}

}  // namespace
}  // namespace drwatch::test
