// s3:// storage against a real S3-compatible server, s3rver (started per
// test on a free loopback port; a missing s3rver fails): the backend's
// operations, ListObjectsV2 paging past 1000 keys, multipart uploads and
// streaming downloads, the storage probe kinds on s3 targets, and a server
// that never answers.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>

#include "common/crypto.hpp"
#include "storage/s3_backend.hpp"
#include "storage/s3_xml.hpp"
#include "support/pg_cluster.hpp"
#include "support/check_runner.hpp"
#include "support/s3rver.hpp"
#include "support/test_http_server.hpp"
#include "support/process.hpp"

namespace drwatch::test {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using storage::S3Backend;
using storage::S3Config;
using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string RandomBytes(std::size_t n, unsigned seed) {
  std::mt19937_64 gen(seed);
  std::string out(n, '\0');
  for (std::size_t i = 0; i < n; i += 8) {
    std::uint64_t v = gen();
    std::memcpy(out.data() + i, &v, std::min<std::size_t>(8, n - i));
  }
  return out;
}

class StorageS3Test : public ProbeHarness {
 protected:
  S3Config Config(const std::string& prefix = "", const std::string& key = S3rver::kKey) const {
    S3Config c;
    c.bucket = s3_.bucket();
    c.prefix = prefix;
    c.endpoint = s3_.endpoint();
    c.access_key_id = key;
    c.secret_access_key = S3rver::kKey;
    c.path_style = true;
    return c;
  }
  std::unique_ptr<S3Backend> Backend(S3Config config) {
    return std::make_unique<S3Backend>(std::move(config), nullptr, io_.get_executor(), pool_);
  }
  template <typename T>
  T Await(asio::awaitable<T> task, std::chrono::milliseconds deadline = 30s) {
    auto result = RunWithDeadline(io_, std::move(task), deadline);
    EXPECT_TRUE(result) << "timed out";
    if (result) return std::move(*result);
    T out;
    out.error = "timed out";
    return out;
  }
  // Puts `count` small objects, 16 at a time.
  void PutMany(S3Backend& backend, const std::string& dir, int count) {
    int next = 0, done = 0;
    std::string failure;
    auto worker = [&]() -> asio::awaitable<void> {
      while (next < count) {
        std::string key = dir + "/" + std::to_string(next++) + ".dump";
        storage::Status s = co_await backend.Put(key, "x");
        if (!s.ok()) failure = s.error;
      }
      ++done;
    };
    for (int i = 0; i < 16; ++i) asio::co_spawn(io_, worker(), asio::detached);
    ASSERT_TRUE(PollUntil(io_, [&] { return done == 16; }, 120s));
    ASSERT_EQ(failure, "");
  }

  S3rver s3_;
};

TEST_F(StorageS3Test, CheckReportsABucketThatIsThereMissingOrRefused) {
  EXPECT_EQ(Await(Backend(Config())->Check()).error, "");
  S3Config missing = Config();
  missing.bucket = "no-such-bucket";
  EXPECT_EQ(Await(Backend(missing)->Check()).error,
            "HEAD bucket no-such-bucket: bucket no-such-bucket does not exist (404)");
  // s3rver checks the key id: HEAD has no body, a listing says which.
  auto wrong_key = Backend(Config("", "WRONGKEY"));
  EXPECT_EQ(Await(wrong_key->Check()).error,
            "HEAD bucket " + s3_.bucket() +
                ": access denied (403): check access_key_id/secret_access_key and the bucket policy");
  EXPECT_THAT(Await(wrong_key->List("*", 10)).error,
              HasSubstr("access denied (403 InvalidAccessKeyId): check access_key_id/secret_access_key"));
}

TEST_F(StorageS3Test, PutGetDeleteRoundTrip) {
  auto backend = Backend(Config("eu/daily"));
  std::string key = "odd names/a b&c+d=é.dump";
  EXPECT_EQ(Await(backend->Put(key, "payload")).error, "");
  storage::GetResult got = Await(backend->Get(key, 100));
  EXPECT_EQ(got.error, "");
  EXPECT_EQ(got.data, "payload");
  storage::ListResult list = Await(backend->List("odd names/*.dump", 100));
  ASSERT_EQ(list.error, "");
  ASSERT_EQ(list.objects.size(), 1u);
  EXPECT_EQ(list.objects[0].key, key);
  EXPECT_EQ(list.objects[0].size, 7u);
  EXPECT_LT(std::chrono::abs(list.objects[0].mtime - std::chrono::system_clock::now()), 60s);
  EXPECT_EQ(Await(backend->Delete(key)).error, "");
  EXPECT_EQ(Await(backend->Get(key, 100)).error,
            "GET s3://" + s3_.bucket() + "/eu/daily/" + key + ": no such object (404 NoSuchKey)");
}

TEST_F(StorageS3Test, ListPagesPastAThousandKeys) {
  auto backend = Backend(Config("pfx"));
  PutMany(*backend, "many", 1100);
  Await(backend->Put("other/x.dump", "x"));
  // s3rver answers 1000 keys a page, as S3 does: the listing must follow the token.
  auto first = [&]() -> asio::awaitable<net::HttpResult> {
    storage::S3Request request = backend->requests().ListObjects("many/", "");
    net::HttpRequestSpec spec;
    std::string error;
    spec.url = *net::ParseUrl("http://" + request.host + request.target, error);
    spec.headers = request.headers;
    spec.body_limit = 8 << 20;
    net::HttpResult r = co_await net::Fetch(io_.get_executor(), std::move(spec));
    co_return r;
  };
  net::HttpResult page = Await(first());
  storage::ListPage parsed = storage::ParseListObjects(page.body);
  ASSERT_TRUE(parsed.ok()) << parsed.error << "\n" << page.body;
  EXPECT_EQ(parsed.entries.size(), 1000u);
  EXPECT_TRUE(parsed.truncated);

  storage::ListResult all = Await(backend->List("many/*.dump", storage::kMaxListEntries));
  ASSERT_EQ(all.error, "");
  EXPECT_EQ(all.objects.size(), 1100u);
  backend->set_list_page_size(300);
  EXPECT_EQ(Await(backend->List("many/*.dump", storage::kMaxListEntries)).objects.size(), 1100u);
  EXPECT_EQ(Await(backend->List("*/*.dump", 1050)).error,
            "more than 1050 objects under s3://" + s3_.bucket() + "/pfx/ (narrow the pattern)");
}

TEST_F(StorageS3Test, MultipartWriterRoundTripsThroughGetToFile) {
  auto backend = Backend(Config("big"));
  std::string data = RandomBytes(20 * 1024 * 1024 + 12345, 7);
  storage::WriterResult opened = Await(backend->OpenWriter("db.dump"));
  ASSERT_EQ(opened.error, "");
  for (std::size_t at = 0; at < data.size(); at += 1000000) {
    ASSERT_EQ(Await(opened.writer->Write(data.substr(at, 1000000))).error, "");
  }
  // Two parts went out while writing; the object is not there before Commit.
  EXPECT_EQ(Await(backend->List("*.dump", 10)).objects.size(), 0u);
  ASSERT_EQ(Await(opened.writer->Commit()).error, "");
  EXPECT_EQ(opened.writer->written(), data.size());
  storage::ListResult list = Await(backend->List("*.dump", 10));
  ASSERT_EQ(list.objects.size(), 1u);
  EXPECT_EQ(list.objects[0].size, data.size());

  std::string copy = WriteTempFile("copy.dump", "");
  EXPECT_EQ(Await(backend->GetToFile("db.dump", copy, data.size())).error, "");
  EXPECT_EQ(Sha256Hex(ReadFile(copy)), Sha256Hex(data));
  EXPECT_THAT(Await(backend->GetToFile("db.dump", copy, 1 << 20)).error, HasSubstr("larger than 1048576 bytes"));
  fs::remove_all(fs::path(copy).parent_path());
}

TEST_F(StorageS3Test, AnUncommittedWriterLeavesNoObject) {
  auto backend = Backend(Config("big"));
  {
    storage::WriterResult opened = Await(backend->OpenWriter("partial.dump"));
    ASSERT_EQ(Await(opened.writer->Write(RandomBytes(9 * 1024 * 1024, 3))).error, "");  // one part sent
  }
  TurnLoop(io_, 500ms);  // the detached abort
  EXPECT_EQ(Await(backend->List("*.dump", 10)).objects.size(), 0u);
  EXPECT_THAT(Await(backend->Get("partial.dump", 10)).error, HasSubstr("no such object (404 NoSuchKey)"));
  // A small writer never sent anything: nothing to abort, nothing written.
  {
    storage::WriterResult opened = Await(backend->OpenWriter("small.dump"));
    ASSERT_EQ(Await(opened.writer->Write("abc")).error, "");
  }
  EXPECT_EQ(Await(backend->List("*.dump", 10)).objects.size(), 0u);
}

TEST_F(StorageS3Test, AWriteCancelledWhileAPartIsHashedLeavesTheWriterDead) {
  auto backend = Backend(Config("big"));
  {
    storage::WriterResult opened = Await(backend->OpenWriter("cancelled.dump"));
    ASSERT_EQ(opened.error, "");
    // The part is hashed on the pool, then sent: a 1 ms deadline ends the
    // write in one of those waits, never with a part half accounted for.
    auto cancelled = RunWithDeadline(io_, opened.writer->Write(RandomBytes(9 * 1024 * 1024, 5)), 1ms);
    EXPECT_FALSE(cancelled) << "the write outran a 1 ms deadline";
    EXPECT_EQ(Await(opened.writer->Write("more")).error, storage::kCancelled);
    EXPECT_EQ(Await(opened.writer->Commit()).error, storage::kCancelled);
  }
  TurnLoop(io_, 500ms);  // the pool's job ends, the detached abort (if the upload had started)
  EXPECT_EQ(Await(backend->List("*.dump", 10)).objects.size(), 0u);
}

std::string Catalogue(const S3rver& s3, const std::string& checks) {
  return "targets:\n" + s3.TargetYaml("backups", "prod") + s3.TargetYaml("offsite", "copy") + "checks:\n" + checks;
}

TEST_F(StorageS3Test, StorageProbesOnS3Targets) {
  ASSERT_TRUE(LoadText(Catalogue(
      s3_, "  - {name: reach, kind: storage.reachable, target: backups}\n"
           "  - {name: fresh, kind: storage.freshness, target: backups, pattern: \"daily/*.dump\", max_age: 1h}\n"
           "  - {name: big, kind: storage.freshness, target: backups, pattern: \"daily/*.dump\", max_age: 1h, "
           "min_size: 100}\n"
           "  - {name: copy, kind: storage.replication, target: backups, replica: offsite, pattern: "
           "\"daily/*.dump\", max_lag: 1h}\n")));
  auto reach = Run("reach");
  ASSERT_TRUE(reach);
  EXPECT_TRUE(reach->success) << reach->reason;
  EXPECT_EQ(reach->reason, "write test passed");
  EXPECT_TRUE(reach->samples.empty());  // no free space on S3

  auto none = Run("fresh");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->reason, "no objects");
  auto primary = Backend(Config("prod"));
  auto replica = Backend(Config("copy"));
  Await(primary->Put("daily/a.dump", std::string(50, 'a')));
  Await(primary->Put("daily/b.dump", std::string(60, 'b')));
  auto fresh = Run("fresh");
  ASSERT_TRUE(fresh);
  EXPECT_TRUE(fresh->success) << fresh->reason;
  auto samples = SamplesByName(fresh->samples);
  EXPECT_EQ(samples["drwatch_backup_objects"], 2);
  EXPECT_LT(samples["drwatch_data_age_seconds"], 60);
  auto small = Run("big");
  ASSERT_TRUE(small);
  EXPECT_FALSE(small->success);
  EXPECT_THAT(small->reason, HasSubstr("bytes, min_size 100"));

  auto copy = Run("copy");
  ASSERT_TRUE(copy);
  EXPECT_EQ(copy->reason, "no objects on the replica offsite");
  Await(replica->Put("daily/a.dump", std::string(50, 'a')));
  copy = Run("copy");
  ASSERT_TRUE(copy);
  EXPECT_TRUE(copy->success) << copy->reason;
  EXPECT_LT(SamplesByName(copy->samples)["drwatch_storage_replication_lag_seconds{replica=offsite}"], 60);

  // The write test left nothing behind.
  EXPECT_EQ(Await(primary->List(".drwatch/*", 10)).objects.size(), 0u);

  long reach_us = MicrosPerRun("reach", 20);
  long fresh_us = MicrosPerRun("fresh", 20);
  std::cout << "[ measure  ] s3rver: storage.reachable " << reach_us << " us/run (HEAD+PUT+GET+DELETE), "
            << "storage.freshness " << fresh_us << " us/run (1 list page)\n";
  RecordProperty("storage_reachable_s3_us_per_run", static_cast<int>(reach_us));
  RecordProperty("storage_freshness_s3_us_per_run", static_cast<int>(fresh_us));
}

TEST_F(StorageS3Test, AStalledEndpointEndsAsATimeoutAtTheDeadline) {
  TestHttpServer stall({.stall = true});
  std::string text = "targets:\n  dead:\n    type: storage\n    url: \"s3://drwatch-test\"\n    endpoint: \"" +
                     stall.Url("") + "\"\n    access_key_id: x\n    secret_access_key: y\n"
                                     "checks:\n  - {name: reach, kind: storage.reachable, target: dead}\n";
  ASSERT_TRUE(LoadText(text));
  LoopWatch watch(io_, 10ms);
  auto start = std::chrono::steady_clock::now();
  auto r = Run("reach", 300ms);
  auto elapsed = Since(start);
  EXPECT_FALSE(r);
  EXPECT_GE(elapsed, 290ms);
  EXPECT_LT(elapsed, 600ms);
  TurnLoop(io_, 50ms);
  EXPECT_GT(watch.ticks(), 20);
  EXPECT_LT(watch.worst_lateness(), 50ms);
}

}  // namespace
}  // namespace drwatch::test
