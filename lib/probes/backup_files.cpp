// backup.files: one run = <check>/<run id>/{files.tar.gz, manifest.json}: the
// real tar archives `path` (tar czf - -C PATH .), streamed to storage. The
// check has no database: its target is its storage, named by `storage`
// (ProbeKind::target_key).

#include <unistd.h>

#include "config/node_reader.hpp"
#include "probes/backup_common.hpp"
#include "probes/backup_probes.hpp"
#include "targets/storage_target.hpp"

namespace drwatch::probes {
namespace {

namespace asio = boost::asio;

std::string FindTar() {
  for (const char* path : {"/usr/bin/tar", "/bin/tar"}) {
    if (::access(path, X_OK) == 0) return path;
  }
  return "";
}

class BackupFiles final : public BackupJob {
 public:
  BackupFiles(std::string storage, std::string path, backup::Keep keep)
      : storage_(std::move(storage)), path_(std::move(path)), keep_(keep) {}

  const std::string& storage() const override { return storage_; }

  asio::awaitable<ProbeResult> Run(RunContext& ctx) override {
    auto& store = static_cast<targets::StorageTarget&>(ctx.target).backend();
    ProbeResult out = co_await Backup(ctx, store);
    if (out.success) co_return out;
    ProbeResult failed = co_await FailBackup(ctx, store, out.reason);
    co_return failed;
  }

 private:
  asio::awaitable<ProbeResult> Backup(RunContext& ctx, storage::Backend& store) {
    backup::Manifest manifest;
    manifest.kind = "backup.files";
    manifest.check = std::string(ctx.check_name);
    manifest.source_path = path_;
    manifest.encryption = EncryptionOf(keys());
    co_await StartRun(store, manifest);
    std::string tar = FindTar();
    if (tar.empty()) co_return ProbeResult::Fail("no tar in /usr/bin or /bin: install the tar package");
    SpawnSpec spec;
    spec.argv = {tar, "czf", "-", "-C", path_, "."};
    spec.env = {{"LC_ALL", "C"}};  // stable messages in reasons
    std::string file = "files.tar.gz";
    StreamResult streamed = co_await StreamChildToObject(
        ctx.executor, spec, store, backup::RunKey(manifest.check, manifest.run, file), file, "tar", manifest.check, keys());
    if (!streamed.ok()) co_return ProbeResult::Fail(streamed.error);
    manifest.files.push_back(std::move(streamed.file));
    ProbeResult done = co_await FinishBackup(ctx, store, std::move(manifest), keep_);
    co_return done;
  }

  std::string storage_;
  std::string path_;
  backup::Keep keep_;
};

}  // namespace

std::unique_ptr<Probe> ParseBackupFiles(config::NodeReader& check) {
  // `storage` is the check's target, read and validated by the catalogue;
  // read raw here so an error in it is not reported twice.
  YAML::Node storage = check.node()["storage"];
  auto path = check.PublicString("path", true);
  auto keep = ParseKeep(check);
  auto keys = ParseEncryption(check);
  if (!path || !keep || !keys) return nullptr;
  if (!path->starts_with("/")) {
    check.Error("path", "expected an absolute path");
    return nullptr;
  }
  std::string name = storage && storage.IsScalar() ? storage.Scalar() : "";
  auto job = std::make_unique<BackupFiles>(name, *path, *keep);
  job->set_keys(std::move(*keys));
  return job;
}

}  // namespace drwatch::probes
