// storage.reachable: the target's root exists (stat / HEAD bucket) and, with
// write_test (the default), a small probe object under .drwatch/ can be
// written durably, read back intact and deleted. Exports the free space of
// file:// targets.

#include <unistd.h>

#include <atomic>

#include "config/node_reader.hpp"
#include "metrics/families.hpp"
#include "probes/storage_probes.hpp"
#include "targets/storage_target.hpp"

namespace drwatch::probes {
namespace {

namespace asio = boost::asio;

// A unique key per run: concurrent daemons (a reload, a second host on the
// same share) never collide, and O_EXCL never meets a leftover.
std::string ProbeKey(std::string_view check_name) {
  static std::atomic<std::uint64_t> counter{0};
  return ".drwatch/probe-" + std::string(check_name) + "-" + std::to_string(::getpid()) + "-" +
         std::to_string(++counter);
}

// Removes the probe object unless disarmed: a run cancelled between the write
// and the delete leaves nothing behind.
struct Cleanup {
  storage::Backend& backend;
  std::string key;
  bool armed = true;
  ~Cleanup() {
    if (armed) backend.DeleteDetached(key);
  }
};

// Write, read back, compare, delete: "" or why it failed.
asio::awaitable<std::string> WriteTest(storage::Backend& backend, std::string key) {
  std::string data = "drwatch write test " + key + "\n";
  storage::Status put = co_await backend.Put(key, data);
  if (!put.ok()) co_return put.error;
  Cleanup cleanup{backend, key};
  storage::GetResult got = co_await backend.Get(key, data.size() + 1024);
  if (!got.ok()) co_return got.error;
  if (got.data != data) co_return "read " + backend.Locate(key) + ": not what was written";
  storage::Status deleted = co_await backend.Delete(key);
  cleanup.armed = false;  // deleted, or deleting it again would fail the same way
  co_return deleted.error;
}

class StorageReachable final : public Probe {
 public:
  explicit StorageReachable(bool write_test) : write_test_(write_test) {}

  asio::awaitable<ProbeResult> Run(RunContext& ctx) override {
    auto& backend = static_cast<targets::StorageTarget&>(ctx.target).backend();
    storage::Status root = co_await backend.Check();
    if (!root.ok()) co_return ProbeResult::Fail(root.error);
    std::vector<metrics::Sample> samples;
    auto space = co_await backend.FreeSpace();
    if (space && !space->ok()) co_return ProbeResult::Fail(space->error);
    if (space) AddSpace(*space, samples);
    ProbeResult out = ProbeResult::Ok();
    out.reason = "reachable";
    if (write_test_) {
      std::string error = co_await WriteTest(backend, ProbeKey(ctx.check_name));
      out = error.empty() ? ProbeResult::Ok() : ProbeResult::Fail(error);
      if (error.empty()) out.reason = "write test passed";
    }
    out.samples = std::move(samples);
    co_return out;
  }

 private:
  static void AddSpace(const storage::SpaceResult& space, std::vector<metrics::Sample>& out) {
    out.push_back(metrics::kStorageFreeBytes.Make(static_cast<double>(space.free_bytes)));
    out.push_back(metrics::kStorageFreeInodes.Make(static_cast<double>(space.free_inodes)));
  }

  bool write_test_;
};

}  // namespace

std::unique_ptr<Probe> ParseStorageReachable(config::NodeReader& check) {
  bool write_test = true;
  if (check.Has("write_test")) {
    auto value = check.Bool("write_test");
    if (!value) return nullptr;
    write_test = *value;
  }
  return std::make_unique<StorageReachable>(write_test);
}

}  // namespace drwatch::probes
