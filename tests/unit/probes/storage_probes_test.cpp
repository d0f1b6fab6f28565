// The storage kinds against real temporary directories: storage.reachable,
// storage.freshness and storage.replication, built from catalogue text as
// the daemon builds them and run on a loop with a deadline as the runner
// runs them.

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>

#include "catalogue/catalogue.hpp"
#include "support/pg_cluster.hpp"
#include "targets/storage_target.hpp"
#include "engine/run_once.hpp"

namespace drwatch::probes {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Errors = std::vector<std::string>;

std::string MakeTempDir() {
  std::string templ = (fs::temp_directory_path() / "drwatch-storage-XXXXXX").string();
  if (!::mkdtemp(templ.data())) throw std::runtime_error("mkdtemp failed");
  return templ;
}

// Creates `dir/rel` with `size` bytes, last modified `age` ago.
void MakeFile(const std::string& dir, const std::string& rel, std::size_t size, std::chrono::seconds age) {
  fs::path path = fs::path(dir) / rel;
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << std::string(size, 'x');
  auto when = std::chrono::system_clock::now() - age;
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(when.time_since_epoch()).count();
  struct timespec times[2];
  times[0].tv_sec = times[1].tv_sec = ns / 1000000000;
  times[0].tv_nsec = times[1].tv_nsec = ns % 1000000000;
  ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, 0), 0);
}

const metrics::Sample* FindSample(const ProbeResult& r, const std::string& name) {
  for (const auto& s : r.samples) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

double Value(const ProbeResult& r, const std::string& name) {
  const metrics::Sample* s = FindSample(r, name);
  return s ? s->value : -1;
}

class StorageProbeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir();
    replica_dir_ = MakeTempDir();
  }
  void TearDown() override {
    fs::remove_all(dir_);
    fs::remove_all(replica_dir_);
  }

  // A catalogue with targets `backups` (dir_) and `offsite` (replica_dir_)
  // and the one check given as a YAML flow mapping's inner keys.
  void Load(const std::string& check, const std::string& backups_url = "") {
    std::string text = "targets:\n"
                       "  backups: {type: storage, url: \"" +
                       (backups_url.empty() ? "file://" + dir_ : backups_url) +
                       "\"}\n"
                       "  offsite: {type: storage, url: \"file://" +
                       replica_dir_ +
                       "\"}\n"
                       "checks:\n"
                       "  - {name: c, target: backups, " +
                       check + "}\n";
    auto result = catalogue::LoadCatalogueText(text, "test.yml");
    ASSERT_EQ(result.errors, Errors{});
    catalogue_ = result.catalogue;
    for (const auto& [name, spec] : catalogue_->targets) runtimes_[name] = spec->MakeRuntime(io_.get_executor(), pool_);
  }

  // One run of the check, as the scheduler runs it.
  std::optional<ProbeResult> Run(std::chrono::milliseconds deadline = 10s) {
    const auto& check = catalogue_->checks.at(0);
    auto find = [this](std::string_view name) -> targets::TargetRuntime* {
      auto it = runtimes_.find(std::string(name));
      return it == runtimes_.end() ? nullptr : it->second.get();
    };
    auto ctx = engine::MakeRunContext(io_.get_executor(), pool_, check, *runtimes_.at(check.target), deadline,
                                      Clock::now() + deadline, find);
    return test::RunWithDeadline(io_, check.probe->Run(ctx), deadline);
  }

  std::string dir_;
  std::string replica_dir_;
  boost::asio::io_context io_;
  BlockingPool pool_{4};  // destroyed first: its last jobs may still post to io_
  std::shared_ptr<const catalogue::Catalogue> catalogue_;
  std::map<std::string, std::shared_ptr<targets::TargetRuntime>> runtimes_;
};

// --- storage.reachable ---------------------------------------------------

TEST_F(StorageProbeTest, ReachableWritesReadsAndDeletes) {
  Load("kind: storage.reachable");
  auto r = Run();
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->success) << r->reason;
  EXPECT_EQ(r->reason, "write test passed");
  EXPECT_GT(Value(*r, "drwatch_storage_free_bytes"), 0);
  EXPECT_GT(Value(*r, "drwatch_storage_free_inodes"), 0);
  EXPECT_TRUE(fs::is_directory(dir_ + "/.drwatch"));
  EXPECT_TRUE(fs::is_empty(dir_ + "/.drwatch"));  // the probe object is gone again
}

// Loop lag is the point here: the suite is labelled `timing` (CTest runs it
// alone) and compares with the same loop's idle baseline. The file-system
// calls of the write test run on the pool, never on the loop.
class StorageProbeTiming : public StorageProbeTest {};

TEST_F(StorageProbeTiming, TheWriteTestDoesNotLagTheLoop) {
  Load("kind: storage.reachable");
  auto lag = test::MeasureLoopLag(io_, [&] {
    auto r = Run();
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->success) << r->reason;
  });
  EXPECT_LT(lag.busy, lag.idle + test::kLagSlack) << "idle baseline " << lag.idle.count() << " ms";
}

TEST_F(StorageProbeTest, ReachableWithoutWriteTestWritesNothing) {
  Load("kind: storage.reachable, write_test: false");
  auto r = Run();
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->success) << r->reason;
  EXPECT_EQ(r->reason, "reachable");
  EXPECT_FALSE(fs::exists(dir_ + "/.drwatch"));
  EXPECT_GT(Value(*r, "drwatch_storage_free_bytes"), 0);
}

TEST_F(StorageProbeTest, ReachableFailsOnAMissingPath) {
  Load("kind: storage.reachable", "file://" + dir_ + "/missing");
  auto r = Run();
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->success);
  EXPECT_EQ(r->reason, "path " + dir_ + "/missing does not exist");
}

TEST_F(StorageProbeTest, ReachableFailsOnAFileWhereTheRootShouldBe) {
  MakeFile(dir_, "plain", 1, 0s);
  Load("kind: storage.reachable", "file://" + dir_ + "/plain");
  auto r = Run();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->reason, "path " + dir_ + "/plain is not a directory");
}

// Root ignores permission bits, so "cannot write" is made with a file where
// the .drwatch directory should be.
TEST_F(StorageProbeTest, ReachableReportsAFailedWrite) {
  MakeFile(dir_, ".drwatch", 1, 0s);
  Load("kind: storage.reachable");
  auto r = Run();
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->success);
  std::regex expected("write " + dir_ + "/\\.drwatch/probe-c-[0-9]+-[0-9]+: Not a directory");
  EXPECT_TRUE(std::regex_match(r->reason, expected)) << r->reason;
  EXPECT_GT(Value(*r, "drwatch_storage_free_bytes"), 0);  // exported all the same
}

TEST_F(StorageProbeTest, ReachableReportsAReadOnlyFileSystem) {
  // /proc is read-only for new files even for root.
  Load("kind: storage.reachable", "file:///proc/self");
  auto r = Run();
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->success);
  EXPECT_TRUE(r->reason.starts_with("mkdir /proc/self/.drwatch: ")) << r->reason;
}

// --- storage.freshness ---------------------------------------------------

TEST_F(StorageProbeTest, FreshnessReportsTheNewestObject) {
  MakeFile(dir_, "daily/a.dump", 1000, 50h);
  MakeFile(dir_, "daily/b.dump", 1100, 26h);
  MakeFile(dir_, "daily/c.dump", 1200, 2h);
  MakeFile(dir_, "daily/notes.txt", 5, 1h);     // not matching
  MakeFile(dir_, "daily/.d.dump.tmp", 5, 1h);   // hidden: an upload in progress
  MakeFile(dir_, "daily/.e.dump", 5, 1h);       // hidden
  MakeFile(dir_, "daily/old/x.dump", 5, 1h);    // one level too deep
  Load("kind: storage.freshness, pattern: \"daily/*.dump\", max_age: 1d, min_size: 1000, max_shrink: 0.5");
  auto r = Run();
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->success) << r->reason;
  EXPECT_EQ(r->reason, "newest daily/c.dump is 2h old, 1200 bytes");
  EXPECT_NEAR(Value(*r, "drwatch_data_age_seconds"), 7200, 5);
  EXPECT_NEAR(*r->observed, 7200, 5);
  EXPECT_EQ(Value(*r, "drwatch_backup_newest_size_bytes"), 1200);
  EXPECT_EQ(Value(*r, "drwatch_backup_objects"), 3);
  std::vector<metrics::Sample> fixed;
  catalogue_->checks[0].probe->StaticSamples(fixed);
  ASSERT_EQ(fixed.size(), 1u);
  EXPECT_EQ(fixed[0].name, "drwatch_data_max_age_seconds");
  EXPECT_EQ(fixed[0].value, 86400);
}

TEST_F(StorageProbeTest, FreshnessFailsWhenStale) {
  MakeFile(dir_, "daily/a.dump", 1000, 30h);
  Load("kind: storage.freshness, pattern: \"daily/*.dump\", max_age: 1d");
  auto r = Run();
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->success);
  EXPECT_EQ(r->reason, "newest daily/a.dump is 1d6h old, max_age 1d");
  EXPECT_NEAR(Value(*r, "drwatch_data_age_seconds"), 30 * 3600, 5);
}

TEST_F(StorageProbeTest, FreshnessFailsBelowMinSize) {
  MakeFile(dir_, "daily/a.dump", 999, 1h);
  Load("kind: storage.freshness, pattern: \"daily/*.dump\", max_age: 1d, min_size: 1000");
  auto r = Run();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->reason, "newest daily/a.dump is 999 bytes, min_size 1000");
}

TEST_F(StorageProbeTest, FreshnessFailsWhenTheNewestShrank) {
  MakeFile(dir_, "daily/a.dump", 1000, 25h);
  MakeFile(dir_, "daily/b.dump", 400, 1h);
  Load("kind: storage.freshness, pattern: \"daily/*.dump\", max_age: 1d, max_shrink: 0.5");
  auto r = Run();
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->success);
  EXPECT_EQ(r->reason, "newest daily/b.dump is 40% of the previous (max_shrink 0.5)");
  EXPECT_EQ(Value(*r, "drwatch_backup_newest_size_bytes"), 400);
}

TEST_F(StorageProbeTest, FreshnessAcceptsAShrinkWithinTheLimit) {
  MakeFile(dir_, "daily/a.dump", 1000, 25h);
  MakeFile(dir_, "daily/b.dump", 500, 1h);
  Load("kind: storage.freshness, pattern: \"daily/*.dump\", max_age: 1d, max_shrink: 0.5");
  auto r = Run();
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->success) << r->reason;
}

TEST_F(StorageProbeTest, FreshnessFailsWithNoObjects) {
  MakeFile(dir_, "daily/a.txt", 10, 1h);
  Load("kind: storage.freshness, pattern: \"daily/*.dump\", max_age: 1d");
  auto r = Run();
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->success);
  EXPECT_EQ(r->reason, "no objects");
  EXPECT_EQ(Value(*r, "drwatch_backup_objects"), 0);
  EXPECT_EQ(FindSample(*r, "drwatch_data_age_seconds"), nullptr);
}

TEST_F(StorageProbeTest, FreshnessFailsWithNoObjectsWhenTheDirectoryIsMissing) {
  Load("kind: storage.freshness, pattern: \"weekly/*.dump\", max_age: 1d");
  auto r = Run();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->reason, "no objects");
}

TEST_F(StorageProbeTest, FreshnessMatchesNestedPatterns) {
  MakeFile(dir_, "eu/daily/a.dump", 10, 3h);
  MakeFile(dir_, "us/daily/b.dump", 10, 2h);
  MakeFile(dir_, "us/weekly/c.dump", 10, 1h);  // directory does not match
  MakeFile(dir_, "d.dump", 10, 1h);            // too shallow
  // A symbolic link to an ancestor: never followed, so no loop.
  fs::create_directory_symlink(dir_, dir_ + "/us/daily/loop");
  Load("kind: storage.freshness, pattern: \"*/daily/[ab].dump\", max_age: 1d");
  auto r = Run();
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->success) << r->reason;
  EXPECT_EQ(r->reason, "newest us/daily/b.dump is 2h old, 10 bytes");
  EXPECT_EQ(Value(*r, "drwatch_backup_objects"), 2);
}

TEST_F(StorageProbeTest, FreshnessCountsSymlinkedFilesAsObjects) {
  MakeFile(dir_, "store/a.dump", 10, 1h);
  fs::create_symlink(dir_ + "/store/a.dump", dir_ + "/latest.dump");
  Load("kind: storage.freshness, pattern: \"*.dump\", max_age: 1d");
  auto r = Run();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->reason, "newest latest.dump is 1h old, 10 bytes");
}

// --- storage.replication -------------------------------------------------

TEST_F(StorageProbeTest, ReplicationWithinMaxLag) {
  MakeFile(dir_, "daily/a.dump", 10, 3h);
  MakeFile(replica_dir_, "daily/a.dump", 10, 2h);  // copied an hour later: lag 0
  Load("kind: storage.replication, replica: offsite, pattern: \"daily/*.dump\", max_lag: 6h");
  auto r = Run();
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->success) << r->reason;
  EXPECT_EQ(r->reason, "replica offsite is 0s behind (newest daily/a.dump, replica's daily/a.dump)");
  const metrics::Sample* lag = FindSample(*r, "drwatch_storage_replication_lag_seconds");
  ASSERT_NE(lag, nullptr);
  EXPECT_EQ(lag->value, 0);
  EXPECT_EQ(lag->labels, (metrics::Labels{{"replica", "offsite"}}));
}

TEST_F(StorageProbeTest, ReplicationExportsItsMaxLag) {
  Load("kind: storage.replication, replica: offsite, pattern: \"daily/*.dump\", max_lag: 6h");
  std::vector<metrics::Sample> fixed;
  catalogue_->checks[0].probe->StaticSamples(fixed);
  ASSERT_EQ(fixed.size(), 1u);
  EXPECT_EQ(fixed[0].name, "drwatch_storage_replication_max_lag_seconds");
  EXPECT_EQ(fixed[0].type, metrics::MetricType::kGauge);
  EXPECT_EQ(fixed[0].labels, (metrics::Labels{{"replica", "offsite"}}));  // joins the lag series
  EXPECT_EQ(fixed[0].value, 6 * 3600);
}

TEST_F(StorageProbeTest, ReplicationFailsPastMaxLag) {
  MakeFile(dir_, "daily/a.dump", 10, 50h);
  MakeFile(dir_, "daily/b.dump", 10, 2h);
  MakeFile(replica_dir_, "daily/a.dump", 10, 49h);
  Load("kind: storage.replication, replica: offsite, pattern: \"daily/*.dump\", max_lag: 6h");
  auto r = Run();
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->success);
  EXPECT_EQ(r->reason, "replica offsite is 1d23h behind (newest daily/b.dump, replica's daily/a.dump), max_lag 6h");
  EXPECT_NEAR(Value(*r, "drwatch_storage_replication_lag_seconds"), 47 * 3600, 2);
  EXPECT_NEAR(*r->observed, 47 * 3600, 2);
}

TEST_F(StorageProbeTest, ReplicationFailsWhenTheReplicaIsEmpty) {
  MakeFile(dir_, "daily/a.dump", 10, 1h);
  Load("kind: storage.replication, replica: offsite, pattern: \"daily/*.dump\", max_lag: 6h");
  auto r = Run();
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->success);
  EXPECT_EQ(r->reason, "no objects on the replica offsite");
}

TEST_F(StorageProbeTest, ReplicationFailsWhenTheReplicaIsUnreachable) {
  MakeFile(dir_, "daily/a.dump", 10, 1h);
  Load("kind: storage.replication, replica: offsite, pattern: \"daily/*.dump\", max_lag: 6h");
  fs::remove_all(replica_dir_);
  auto r = Run();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->reason, "replica offsite: path " + replica_dir_ + " does not exist");
}

TEST_F(StorageProbeTest, ReplicationFailsWhenThePrimaryIsEmpty) {
  MakeFile(replica_dir_, "daily/a.dump", 10, 1h);
  Load("kind: storage.replication, replica: offsite, pattern: \"daily/*.dump\", max_lag: 6h");
  auto r = Run();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->reason, "no objects on the primary");
}

}  // namespace
}  // namespace drwatch::probes
