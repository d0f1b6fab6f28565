// FileBackend on real directories: deadlines cancel a call that blocks in the
// kernel (a FIFO nobody writes to) without blocking the loop, hanging calls
// are counted and cap further calls, listings are bounded; and a write test
// cancelled between write and delete leaves nothing behind.

#include "storage/file_backend.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <fstream>

#include "catalogue/catalogue.hpp"
#include "storage/pattern.hpp"
#include "support/pg_cluster.hpp"
#include "support/process.hpp"
#include "targets/storage_target.hpp"
#include "engine/run_once.hpp"

namespace drwatch::storage {
namespace {

namespace fs = std::filesystem;
namespace asio = boost::asio;
using namespace std::chrono_literals;
using test::AllFiles;

class FileBackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string templ = (fs::temp_directory_path() / "drwatch-fb-XXXXXX").string();
    ASSERT_NE(::mkdtemp(templ.data()), nullptr);
    dir_ = templ;
  }
  void TearDown() override {
    ReleaseFifos();
    test::TurnLoop(io_, 50ms);
    fs::remove_all(dir_);
  }

  // A FIFO: opening it for reading blocks until a writer comes.
  std::string MakeFifo(const std::string& name) {
    std::string path = dir_ + "/" + name;
    EXPECT_EQ(::mkfifo(path.c_str(), 0644), 0);
    fifos_.push_back(path);
    return path;
  }
  // Opens every FIFO for writing once, so the blocked readers return.
  void ReleaseFifos() {
    for (const auto& path : fifos_) {
      int fd = ::open(path.c_str(), O_WRONLY | O_NONBLOCK);
      if (fd >= 0) ::close(fd);
    }
    fifos_.clear();
  }

  std::string dir_;
  std::vector<std::string> fifos_;
  asio::io_context io_;
  BlockingPool pool_{4};
};

// The FIFO is released only after the result is in: a call that ignored its
// deadline, or blocked the loop, would never return.
TEST_F(FileBackendTest, DeadlineCancelsABlockedCallAndTheLoopRunsOn) {
  FileBackend backend(pool_, dir_);
  MakeFifo("stuck");
  auto start = std::chrono::steady_clock::now();
  auto result = test::RunWithDeadline(io_, backend.Get("stuck", 100), 200ms);
  auto took = test::Since(start);
  EXPECT_FALSE(result);  // the deadline won
  EXPECT_GE(took, 190ms);
  EXPECT_LT(took, test::WellWithin(200ms));
  // Still blocked in open(2) on a pool thread: the deadline's timer fired on
  // the loop while the call held on.
  EXPECT_EQ(backend.stuck(), 1);
  ReleaseFifos();
  EXPECT_TRUE(test::PollUntil(io_, [&] { return backend.stuck() == 0; }, 10s));
}

// Loop lag is the point here: the suite is labelled `timing` (CTest runs it
// alone) and compares with the same loop's idle baseline.
class FileBackendTiming : public FileBackendTest {};

TEST_F(FileBackendTiming, ABlockedCallDoesNotLagTheLoop) {
  FileBackend backend(pool_, dir_);
  MakeFifo("stuck");
  auto lag = test::MeasureLoopLag(io_, [&] { EXPECT_FALSE(test::RunWithDeadline(io_, backend.Get("stuck", 100), 1s)); });
  EXPECT_LT(lag.busy, lag.idle + test::kLagSlack) << "idle baseline " << lag.idle.count() << " ms";
}

TEST_F(FileBackendTest, HangingCallsCapFurtherCalls) {
  FileBackend backend(pool_, dir_);
  MakeFifo("a");
  MakeFifo("b");
  EXPECT_FALSE(test::RunWithDeadline(io_, backend.Get("a", 100), 50ms));
  EXPECT_FALSE(test::RunWithDeadline(io_, backend.Get("b", 100), 50ms));
  ASSERT_EQ(backend.stuck(), FileBackend::kMaxStuck);
  // Refused without touching the file system (the directory itself is fine,
  // so a Check that went ahead would pass), and with no timing assumption.
  auto refused = test::RunWithDeadline(io_, backend.Check(), 60s);
  ASSERT_TRUE(refused);
  EXPECT_EQ(backend.stuck(), FileBackend::kMaxStuck);
  EXPECT_EQ(refused->error, "2 earlier file-system calls on " + dir_ + " are still hanging (is the mount stuck?)");
  ReleaseFifos();
  ASSERT_TRUE(test::PollUntil(io_, [&] { return backend.stuck() == 0; }, 10s));
  auto ok = test::RunWithDeadline(io_, backend.Check(), 1s);
  ASSERT_TRUE(ok);
  EXPECT_TRUE(ok->ok()) << ok->error;
}

TEST_F(FileBackendTest, ListingIsBounded) {
  for (int i = 0; i < 20; ++i) std::ofstream(dir_ + "/f" + std::to_string(i) + ".dump") << "x";
  FileBackend backend(pool_, dir_);
  auto bounded = test::RunWithDeadline(io_, backend.List("*.dump", 10), 5s);
  ASSERT_TRUE(bounded);
  EXPECT_EQ(bounded->error, "more than 10 entries under " + dir_ + " (narrow the pattern)");
  auto all = test::RunWithDeadline(io_, backend.List("*.dump", 20), 5s);
  ASSERT_TRUE(all);
  EXPECT_TRUE(all->ok()) << all->error;
  EXPECT_EQ(all->objects.size(), 20u);
}

TEST_F(FileBackendTest, ListsAndRemovesEmptyDirectories) {
  FileBackend backend(pool_, dir_);
  fs::create_directories(dir_ + "/nightly/20261125T023000Z");
  fs::create_directories(dir_ + "/nightly/.hidden");
  fs::create_directories(dir_ + "/nightly/full");
  std::ofstream(dir_ + "/nightly/full/x") << "x";
  std::ofstream(dir_ + "/nightly/file") << "a file is not a directory";
  auto dirs = test::RunWithDeadline(io_, backend.ListDirectories("nightly/*", 100), 5s);
  ASSERT_TRUE(dirs && dirs->ok()) << (dirs ? dirs->error : "timeout");
  std::vector<std::string> keys;
  for (const auto& d : dirs->objects) keys.push_back(d.key);
  std::sort(keys.begin(), keys.end());
  EXPECT_EQ(keys, (std::vector<std::string>{"nightly/20261125T023000Z", "nightly/full"}));
  EXPECT_TRUE(test::RunWithDeadline(io_, backend.RemoveDirectory("nightly/20261125T023000Z"), 5s)->ok());
  EXPECT_FALSE(fs::exists(dir_ + "/nightly/20261125T023000Z"));
  // Not empty, or gone: left alone, no error.
  EXPECT_TRUE(test::RunWithDeadline(io_, backend.RemoveDirectory("nightly/full"), 5s)->ok());
  EXPECT_TRUE(fs::exists(dir_ + "/nightly/full/x"));
  EXPECT_TRUE(test::RunWithDeadline(io_, backend.RemoveDirectory("nightly/none"), 5s)->ok());
  auto file = test::RunWithDeadline(io_, backend.RemoveDirectory("nightly/file"), 5s);
  EXPECT_EQ(file->error, "remove directory " + dir_ + "/nightly/file: Not a directory");
}

TEST_F(FileBackendTest, PutGetDeleteRoundTrip) {
  FileBackend backend(pool_, dir_);
  auto put = test::RunWithDeadline(io_, backend.Put("a/b/c.txt", "hello"), 5s);
  ASSERT_TRUE(put && put->ok()) << (put ? put->error : "timeout");
  auto got = test::RunWithDeadline(io_, backend.Get("a/b/c.txt", 100), 5s);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->data, "hello");
  auto small = test::RunWithDeadline(io_, backend.Get("a/b/c.txt", 2), 5s);
  EXPECT_EQ(small->error, "read " + dir_ + "/a/b/c.txt: larger than 2 bytes");
  auto again = test::RunWithDeadline(io_, backend.Put("a/b/c.txt", "x"), 5s);
  EXPECT_EQ(again->error, "write " + dir_ + "/a/b/c.txt: File exists");
  EXPECT_EQ(AllFiles(dir_), std::vector<std::string>{"a/b/c.txt"}) << "the refused Put's temp file stays";
  auto deleted = test::RunWithDeadline(io_, backend.Delete("a/b/c.txt"), 5s);
  EXPECT_TRUE(deleted->ok());
  auto gone = test::RunWithDeadline(io_, backend.Delete("a/b/c.txt"), 5s);
  EXPECT_EQ(gone->error, "delete " + dir_ + "/a/b/c.txt: No such file or directory");
  EXPECT_EQ(backend.Describe(), "file://" + dir_);
}

// A backend whose reads never finish (until cancelled), recording what the
// probe asks of it.
class SlowReadBackend final : public Backend {
 public:
  explicit SlowReadBackend(std::shared_ptr<Backend> real) : real_(std::move(real)) {}
  std::string Describe() const override { return real_->Describe(); }
  std::string Locate(std::string_view key) const override { return real_->Locate(key); }
  asio::awaitable<Status> Check() override { return real_->Check(); }
  asio::awaitable<Status> Put(std::string key, std::string data) override {
    put_keys.push_back(key);
    return real_->Put(std::move(key), std::move(data));
  }
  asio::awaitable<GetResult> Get(std::string, std::size_t) override {
    Timer forever(co_await asio::this_coro::executor);
    forever.expires_after(1h);
    co_await forever.async_wait(asio::as_tuple(asio::use_awaitable));
    co_return GetResult{std::string(kCancelled), {}};
  }
  asio::awaitable<Status> Delete(std::string key) override { return real_->Delete(std::move(key)); }
  void DeleteDetached(std::string key) override {
    detached_keys.push_back(key);
    real_->DeleteDetached(std::move(key));
  }
  asio::awaitable<ListResult> List(std::string pattern, std::size_t max) override {
    return real_->List(std::move(pattern), max);
  }
  asio::awaitable<WriterResult> OpenWriter(std::string key) override { return real_->OpenWriter(std::move(key)); }
  asio::awaitable<Status> GetToFile(std::string key, std::string path, std::uint64_t max) override {
    return real_->GetToFile(std::move(key), std::move(path), max);
  }
  asio::awaitable<std::optional<SpaceResult>> FreeSpace() override { return real_->FreeSpace(); }

  std::vector<std::string> put_keys;
  std::vector<std::string> detached_keys;

 private:
  std::shared_ptr<Backend> real_;
};

TEST_F(FileBackendTest, ACancelledWriteTestLeavesNothingBehind) {
  auto result = catalogue::LoadCatalogueText("targets:\n  t: {type: storage, url: \"file://" + dir_ +
                                              "\"}\nchecks:\n  - {name: w, kind: storage.reachable, target: t}\n",
                                          "f.yml");
  ASSERT_EQ(result.errors, std::vector<std::string>{});
  auto slow = std::make_shared<SlowReadBackend>(std::make_shared<FileBackend>(pool_, dir_));
  targets::StorageTarget target(slow);
  const auto& check = result.catalogue->checks[0];
  auto ctx = engine::MakeRunContext(io_.get_executor(), pool_, check, target, 300ms, Clock::now() + 300ms);
  // The read would wait an hour: only the deadline ends the run.
  auto start = std::chrono::steady_clock::now();
  auto r = test::RunWithDeadline(io_, check.probe->Run(ctx), 300ms);
  EXPECT_FALSE(r);
  EXPECT_LT(test::Since(start), test::WellWithin(300ms));
  ASSERT_EQ(slow->put_keys.size(), 1u);
  EXPECT_EQ(slow->detached_keys, slow->put_keys);
  EXPECT_TRUE(test::PollUntil(io_, [&] { return fs::is_empty(dir_ + "/.drwatch"); }, 10s));
}

// --- Streaming writes and downloads (issue 5) -----------------------------

// Every file under `dir`, hidden ones included, relative to it.
TEST_F(FileBackendTest, AWriterAppearsOnlyWhenCommitted) {
  FileBackend backend(pool_, dir_);
  auto opened = test::RunWithDeadline(io_, backend.OpenWriter("run/1/data.dump"), 5s);
  ASSERT_TRUE(opened && opened->ok()) << (opened ? opened->error : "timeout");
  auto& writer = *opened->writer;
  for (const char* part : {"hello ", "streaming ", "world"}) {
    auto w = test::RunWithDeadline(io_, writer.Write(part), 5s);
    ASSERT_TRUE(w && w->ok()) << (w ? w->error : "timeout");
  }
  EXPECT_EQ(writer.written(), 21u);
  // Before the commit only the hidden temp file exists, and listings skip it.
  auto files = AllFiles(dir_);
  ASSERT_EQ(files.size(), 1u);
  EXPECT_TRUE(files[0].starts_with("run/1/.data.dump.partial-")) << files[0];
  auto listed = test::RunWithDeadline(io_, backend.List("run/*/*", 100), 5s);
  EXPECT_TRUE(listed->objects.empty());
  auto committed = test::RunWithDeadline(io_, writer.Commit(), 5s);
  ASSERT_TRUE(committed && committed->ok()) << (committed ? committed->error : "timeout");
  EXPECT_EQ(AllFiles(dir_), std::vector<std::string>{"run/1/data.dump"});
  auto got = test::RunWithDeadline(io_, backend.Get("run/1/data.dump", 100), 5s);
  EXPECT_EQ(got->data, "hello streaming world");
}

TEST_F(FileBackendTest, ADestroyedWriterLeavesNothing) {
  FileBackend backend(pool_, dir_);
  {
    auto opened = test::RunWithDeadline(io_, backend.OpenWriter("run/1/data.dump"), 5s);
    ASSERT_TRUE(opened && opened->ok());
    auto w = test::RunWithDeadline(io_, opened->writer->Write(std::string(100000, 'x')), 5s);
    ASSERT_TRUE(w && w->ok());
  }  // destroyed uncommitted: the temp file goes, off the loop
  EXPECT_TRUE(test::PollUntil(io_, [&] { return AllFiles(dir_).empty(); }, 2s)) << AllFiles(dir_).size();
}

TEST_F(FileBackendTest, AWriterIntoAnUnwritablePlaceFailsWithThePath) {
  // Root ignores directory permissions; a "directory" that is a regular
  // file refuses everyone.
  std::ofstream(dir_ + "/run") << "not a directory";
  FileBackend backend(pool_, dir_);
  auto opened = test::RunWithDeadline(io_, backend.OpenWriter("run/1/data.dump"), 5s);
  ASSERT_TRUE(opened);
  EXPECT_EQ(opened->error, "mkdir " + dir_ + "/run/1: Not a directory");
  EXPECT_EQ(opened->writer, nullptr);
  if (::geteuid() != 0) {
    fs::create_directory(dir_ + "/ro");
    fs::permissions(dir_ + "/ro", fs::perms::owner_read | fs::perms::owner_exec);
    auto refused = test::RunWithDeadline(io_, backend.OpenWriter("ro/data.dump"), 5s);
    EXPECT_EQ(refused->error, "write " + dir_ + "/ro/data.dump: Permission denied");
    fs::permissions(dir_ + "/ro", fs::perms::owner_all);
  }
}

TEST_F(FileBackendTest, AWriterIsDeadAfterAnError) {
  FileBackend backend(pool_, dir_);
  auto opened = test::RunWithDeadline(io_, backend.OpenWriter("a.dump"), 5s);
  ASSERT_TRUE(opened && opened->ok());
  // The target directory vanishes: the rename fails and the writer stays dead.
  fs::remove_all(dir_);
  auto committed = test::RunWithDeadline(io_, opened->writer->Commit(), 5s);
  ASSERT_TRUE(committed);
  EXPECT_EQ(committed->error, "rename " + dir_ + "/a.dump: No such file or directory");
  auto again = test::RunWithDeadline(io_, opened->writer->Write("x"), 5s);
  EXPECT_EQ(again->error, committed->error);
  fs::create_directory(dir_);
}

TEST_F(FileBackendTest, GetToFileCopiesAndHonoursMaxBytes) {
  FileBackend backend(pool_, dir_);
  std::string big(200000, 'y');
  ASSERT_TRUE(test::RunWithDeadline(io_, backend.Put("x/big.dump", big), 5s)->ok());
  std::string copy = dir_ + "/copy";
  auto got = test::RunWithDeadline(io_, backend.GetToFile("x/big.dump", copy, 200000), 5s);
  ASSERT_TRUE(got && got->ok()) << (got ? got->error : "timeout");
  std::ifstream in(copy);
  std::string read((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(read, big);
  auto refused = test::RunWithDeadline(io_, backend.GetToFile("x/big.dump", copy, 199999), 5s);
  EXPECT_EQ(refused->error, "read " + dir_ + "/x/big.dump: larger than 199999 bytes");
  auto missing = test::RunWithDeadline(io_, backend.GetToFile("x/none.dump", copy, 10), 5s);
  EXPECT_EQ(missing->error, "read " + dir_ + "/x/none.dump: No such file or directory");
}

TEST(Pattern, ValidatesAndMatches) {
  EXPECT_EQ(ValidatePattern("daily/*.dump"), std::nullopt);
  EXPECT_EQ(ValidatePattern(""), "empty pattern");
  EXPECT_EQ(ValidatePattern("daily/"), "the pattern must name objects, not end with '/'");
  EXPECT_EQ(ValidatePattern("a//b"), "empty segment (\"//\") in the pattern");
  EXPECT_EQ(ValidatePattern("../b"), "\".\" and \"..\" are not allowed in a pattern");
  EXPECT_TRUE(PatternMatches("daily/*.dump", "daily/a.dump"));
  EXPECT_FALSE(PatternMatches("daily/*.dump", "daily/x/a.dump"));
  EXPECT_FALSE(PatternMatches("daily/*.dump", "daily/.a.dump"));
  EXPECT_TRUE(PatternMatches("daily/?.dump", "daily/a.dump"));
  EXPECT_EQ(LiteralDirectory("daily/x/*.dump"), "daily/x/");
  EXPECT_EQ(LiteralDirectory("*/daily/*.dump"), "");
  EXPECT_EQ(LiteralDirectory("a.dump"), "");
  EXPECT_EQ(PatternDepth("a/b/c"), 3u);
  EXPECT_EQ(PatternPrefix("a/*/c", 2), "a/*");
  EXPECT_EQ(PatternPrefix("a/*/c", 1), "a");
}

}  // namespace
}  // namespace drwatch::storage
