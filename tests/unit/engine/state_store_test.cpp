// The state files: round trip, atomic writes leaving no temporary file, a
// corrupt file set aside (never fatal), an unwritable directory counted, and
// coalesced writes where the last result wins, written in batches.

#include "engine/state_store.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <fstream>

#include "metrics/families.hpp"

#include "support/process.hpp"

namespace drwatch::engine {
namespace {

namespace fs = std::filesystem;

CheckState SampleState() {
  CheckState s;
  s.has_result = true;
  s.success = false;
  s.last_result = RunResult::kTimeout;
  s.last_duration_seconds = 1.25;
  s.last_run_timestamp = 1764037800.5;
  s.last_success_timestamp = 1764030000;
  s.runs = {3, 1, 2, 4};
  s.reason = "timed out after 5s";
  s.observed = 42.5;
  s.objective_observed = {{"rto.authentication", 61.5}, {"rto.core_business_logic", 300}};
  s.samples.push_back({"drwatch_backup_size_bytes", "Size.", metrics::MetricType::kGauge,
                       {{"check", "nightly"}, {"target", "primary"}, {"file", "data.dump"}}, 1234});
  s.samples.push_back({"drwatch_x_total", "A counter.", metrics::MetricType::kCounter, {}, 7});
  return s;
}

TEST(StateEncoding, RoundTripKeepsEveryResultFieldAndTheProbesOwnLabels) {
  std::string text = EncodeState("nightly", "backup.pg_dump", SampleState());
  std::string error;
  auto p = DecodeState(text, "nightly", error);
  ASSERT_TRUE(p.has_value()) << error;
  EXPECT_EQ(p->kind, "backup.pg_dump");
  const CheckState& s = p->state;
  EXPECT_TRUE(s.has_result);
  EXPECT_FALSE(s.success);
  EXPECT_EQ(s.last_result, RunResult::kTimeout);
  EXPECT_EQ(s.last_duration_seconds, 1.25);
  EXPECT_EQ(s.last_run_timestamp, 1764037800.5);
  EXPECT_EQ(s.last_success_timestamp, 1764030000);
  EXPECT_EQ(s.runs, (std::array<std::uint64_t, 4>{3, 1, 2, 4}));
  EXPECT_EQ(s.reason, "timed out after 5s");
  EXPECT_EQ(s.observed, 42.5);
  EXPECT_EQ(s.objective_observed,
            (std::map<std::string, double>{{"rto.authentication", 61.5}, {"rto.core_business_logic", 300}}));
  ASSERT_EQ(s.samples.size(), 2u);
  EXPECT_EQ(s.samples[0].name, "drwatch_backup_size_bytes");
  EXPECT_EQ(s.samples[0].labels, (metrics::Labels{{"file", "data.dump"}}));
  EXPECT_EQ(s.samples[0].value, 1234);
  EXPECT_EQ(s.samples[1].type, metrics::MetricType::kCounter);
}

// A file saved by an older version may carry another HELP text: a declared
// family's own wins (one HELP per family on /metrics), any other is kept.
TEST(StateEncoding, ASavedSampleOfADeclaredFamilyTakesItsHelp) {
  std::string error;
  auto p = DecodeState(EncodeState("nightly", "backup.pg_dump", SampleState()), "nightly", error);
  ASSERT_TRUE(p.has_value()) << error;
  ASSERT_EQ(p->state.samples.size(), 2u);
  EXPECT_EQ(p->state.samples[0].help, metrics::kBackupSizeBytes.help);
  EXPECT_EQ(p->state.samples[1].help, "A counter.");
}

TEST(StateEncoding, NeverSucceededHasNoLastSuccess) {
  CheckState s = SampleState();
  s.last_success_timestamp.reset();
  s.observed.reset();
  std::string error;
  auto p = DecodeState(EncodeState("c", "k", s), "c", error);
  ASSERT_TRUE(p.has_value()) << error;
  EXPECT_FALSE(p->state.last_success_timestamp.has_value());
  EXPECT_FALSE(p->state.observed.has_value());
}

TEST(StateEncoding, RejectsWhatIsNotAStateFile) {
  std::string error;
  EXPECT_FALSE(DecodeState("{\"format\":1", "c", error).has_value());
  EXPECT_EQ(error.rfind("invalid JSON: ", 0), 0u) << error;
  EXPECT_FALSE(DecodeState("[]", "c", error).has_value());
  EXPECT_EQ(error.rfind("not a drwatch state file: ", 0), 0u) << error;
  EXPECT_FALSE(DecodeState(EncodeState("other", "k", SampleState()), "c", error).has_value());
  EXPECT_EQ(error, "it is the state of check \"other\"");
  std::string future = EncodeState("c", "k", SampleState());
  future.replace(future.find("\"format\":1"), 10, "\"format\":9");
  EXPECT_FALSE(DecodeState(future, "c", error).has_value());
  EXPECT_EQ(error, "unsupported format 9");
}

TEST(StateStore, WriteThenLoadLeavesNoTemporaryFile) {
  StateStore store(test::MakeTempDir());
  std::string error;
  ASSERT_TRUE(store.Prepare(error)) << error;
  std::int64_t mtime = 0;
  ASSERT_TRUE(store.Write("nightly", EncodeState("nightly", "backup.pg_dump", SampleState()), mtime, error)) << error;
  EXPECT_GT(mtime, 0);
  EXPECT_EQ(store.MtimeOf("nightly"), mtime);
  ASSERT_TRUE(store.Write("nightly", EncodeState("nightly", "backup.pg_dump", SampleState()), mtime, error)) << error;
  EXPECT_EQ(test::AllFiles(store.ChecksDir()), std::vector<std::string>{"nightly.json"});
  EXPECT_EQ(store.PathOf("nightly"), store.root() + "/checks/nightly.json");
  auto loaded = store.Load("nightly", error);
  ASSERT_TRUE(loaded.has_value()) << error;
  EXPECT_EQ(error, "");
  EXPECT_EQ(loaded->state.reason, "timed out after 5s");
  EXPECT_EQ(loaded->mtime_ns, mtime);
}

TEST(StateStore, MissingFileIsNoStateAndNoError) {
  StateStore store(test::MakeTempDir());
  std::string error;
  EXPECT_FALSE(store.Load("nightly", error).has_value());
  EXPECT_EQ(error, "");
  EXPECT_EQ(store.MtimeOf("nightly"), 0);
}

TEST(StateStore, CorruptFileIsSetAsideWithTheReason) {
  StateStore store(test::MakeTempDir());
  std::string error;
  ASSERT_TRUE(store.Prepare(error));
  std::ofstream(store.PathOf("nightly")) << "{\"format\": 1, \"check\": \"nightly\"";
  EXPECT_FALSE(store.Load("nightly", error).has_value());
  EXPECT_EQ(error.rfind(store.PathOf("nightly") + ": invalid JSON: ", 0), 0u) << error;
  EXPECT_NE(error.find("; set aside as " + store.PathOf("nightly") + ".corrupt-"), std::string::npos) << error;
  auto files = test::AllFiles(store.ChecksDir());
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0].rfind("nightly.json.corrupt-", 0), 0u) << files[0];
  // The next write starts afresh.
  std::int64_t mtime = 0;
  EXPECT_TRUE(store.Write("nightly", EncodeState("nightly", "k", SampleState()), mtime, error)) << error;
  EXPECT_TRUE(store.Load("nightly", error).has_value()) << error;
}

TEST(StateStore, UnwritableDirectoryFailsWithTheReasonAndLeavesNothing) {
  std::string dir = test::MakeTempDir();
  std::ofstream(dir + "/file") << "not a directory";
  StateStore store(dir + "/file");
  std::string error;
  EXPECT_FALSE(store.Prepare(error));
  EXPECT_EQ(error, "cannot create " + dir + "/file/checks: Not a directory");
  std::int64_t mtime = 0;
  EXPECT_FALSE(store.Write("c", "{}", mtime, error));
  EXPECT_EQ(error.rfind("cannot write " + dir + "/file/checks/c.json.tmp-", 0), 0u) << error;
  EXPECT_EQ(test::AllFiles(dir), std::vector<std::string>{"file"});
}

TEST(LoadStates, OnlyChecksOfTheSameKind) {
  StateStore store(test::MakeTempDir());
  std::string error;
  ASSERT_TRUE(store.Prepare(error));
  std::int64_t mtime = 0;
  ASSERT_TRUE(store.Write("a", EncodeState("a", "postgres.ping", SampleState()), mtime, error));
  ASSERT_TRUE(store.Write("b", EncodeState("b", "postgres.ping", SampleState()), mtime, error));
  catalogue::Catalogue cat;
  catalogue::CheckSpec a, b, c;
  a.name = "a", a.kind = "postgres.ping";
  b.name = "b", b.kind = "postgres.recency";  // the check changed kind: its old state does not apply
  c.name = "c", c.kind = "postgres.ping";     // no file
  cat.checks = {a, b, c};
  auto states = LoadStates(store, cat);
  EXPECT_EQ(states.size(), 1u);
  EXPECT_TRUE(states.contains("a"));
}

TEST(StateWriter, CoalescesWritesAndTheLastWins) {
  StateStore store_value(test::MakeTempDir());
  auto store = std::make_shared<StateStore>(store_value.root());
  std::string error;
  ASSERT_TRUE(store->Prepare(error));
  boost::asio::io_context io;
  BlockingPool pool(1);
  StateWriter writer(io.get_executor(), pool, store);
  CheckState s = SampleState();
  for (int i = 0; i < 5; ++i) {
    s.reason = "run " + std::to_string(i);
    writer.Save("c", EncodeState("c", "k", s));
  }
  EXPECT_TRUE(writer.Busy("c"));
  io.run_for(std::chrono::seconds(2));
  EXPECT_FALSE(writer.Busy("c"));
  EXPECT_EQ(writer.write_errors(), 0u);
  auto loaded = store->Load("c", error);
  ASSERT_TRUE(loaded.has_value()) << error;
  EXPECT_EQ(loaded->state.reason, "run 4");
  EXPECT_EQ(writer.KnownMtime("c"), loaded->mtime_ns);
  EXPECT_EQ(test::AllFiles(store->ChecksDir()), std::vector<std::string>{"c.json"});
  pool.Join();
}

TEST(StateWriter, WritesWhatWaitsAsOneBatchAfterTheDelay) {
  std::string root = test::MakeTempDir();
  auto store = std::make_shared<StateStore>(root);
  std::string error;
  ASSERT_TRUE(store->Prepare(error));
  boost::asio::io_context io;
  BlockingPool pool(1);
  StateWriter writer(io.get_executor(), pool, store, std::chrono::milliseconds(300));
  CheckState s = SampleState();
  std::vector<std::string> expected;
  for (int i = 0; i < 150; ++i) {  // more than one chunk of descriptors (64)
    std::string name = "c" + std::to_string(1000 + i);
    writer.Save(name, EncodeState(name, "k", s));
    expected.push_back(name + ".json");
  }
  EXPECT_TRUE(writer.Busy("c1000")) << "waiting counts as busy: the file is about to change";
  io.run_for(std::chrono::milliseconds(100));
  EXPECT_TRUE(test::AllFiles(store->ChecksDir()).empty()) << "written before the delay";
  io.restart();
  io.run_for(std::chrono::seconds(2));
  EXPECT_EQ(test::AllFiles(store->ChecksDir()), expected) << "every file, no temporary file left";
  EXPECT_FALSE(writer.Busy("c1000"));
  EXPECT_EQ(writer.write_errors(), 0u);
  for (const auto& name : {"c1000", "c1149"}) {
    auto loaded = store->Load(name, error);
    ASSERT_TRUE(loaded.has_value()) << error;
    EXPECT_EQ(writer.KnownMtime(name), loaded->mtime_ns);
  }
  pool.Join();
}

TEST(StateWriter, FlushNowWritesWithoutTheDelay) {
  auto store = std::make_shared<StateStore>(test::MakeTempDir());
  std::string error;
  ASSERT_TRUE(store->Prepare(error));
  boost::asio::io_context io;
  {
    BlockingPool pool(1);
    StateWriter writer(io.get_executor(), pool, store, std::chrono::hours(1));
    writer.Save("a", EncodeState("a", "k", SampleState()));
    writer.FlushNow();
    pool.Join();  // what shutdown does: the pool finishes the batch
  }
  EXPECT_TRUE(store->Load("a", error).has_value()) << error;
}

std::string ReasonOf(const StateStore& store, const std::string& check) {
  std::string error;
  auto loaded = store.Load(check, error);
  return loaded ? loaded->state.reason : "(no state: " + error + ")";
}

TEST(StateWriter, RewritesAFileAtMostOnceAMinRewriteAndTheLastStateWins) {
  auto store = std::make_shared<StateStore>(test::MakeTempDir());
  std::string error;
  ASSERT_TRUE(store->Prepare(error));
  boost::asio::io_context io;
  BlockingPool pool(1);
  StateWriter writer(io.get_executor(), pool, store, std::chrono::milliseconds(10), std::chrono::hours(1));
  CheckState s = SampleState();
  s.reason = "first";
  writer.Save("a", EncodeState("a", "k", s));
  io.run_for(std::chrono::milliseconds(500));
  ASSERT_EQ(ReasonOf(*store, "a"), "first");
  for (const char* reason : {"second", "third"}) {
    s.reason = reason;
    writer.Save("a", EncodeState("a", "k", s));
  }
  writer.Save("b", EncodeState("b", "k", s));  // another check is not held back
  io.restart();
  io.run_for(std::chrono::milliseconds(500));
  EXPECT_EQ(ReasonOf(*store, "a"), "first") << "rewritten within min_rewrite";
  EXPECT_TRUE(store->Load("b", error).has_value()) << error;
  EXPECT_TRUE(writer.Busy("a")) << "a newer state waits";
  writer.FlushNow();
  io.restart();
  io.run_for(std::chrono::milliseconds(500));
  EXPECT_EQ(ReasonOf(*store, "a"), "third") << "the last state, at stop";
  EXPECT_FALSE(writer.Busy("a"));
  pool.Join();
}

TEST(StateWriter, CountsFailedWrites) {
  std::string dir = test::MakeTempDir();
  std::ofstream(dir + "/file") << "x";
  auto store = std::make_shared<StateStore>(dir + "/file");
  boost::asio::io_context io;
  BlockingPool pool(1);
  StateWriter writer(io.get_executor(), pool, store, std::chrono::milliseconds(10), std::chrono::milliseconds(0));
  writer.Save("c", "{}");
  io.run_for(std::chrono::seconds(1));
  writer.Save("c", "{}");
  io.restart();
  io.run_for(std::chrono::seconds(1));
  EXPECT_EQ(writer.write_errors(), 2u);
  pool.Join();
}

}  // namespace
}  // namespace drwatch::engine
