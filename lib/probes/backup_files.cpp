// backup.files: one run = <check>/<run id>/{files.tar.gz, manifest.json}: the
// real tar archives `path` (tar czf - -C PATH .), streamed to storage. The
// check has no database: its target is its storage, named by `storage`
// (ProbeKind::target_key).

#include <unistd.h>

#include "config/node_reader.hpp"
#include "probes/backup_common.hpp"
#include "probes/backup_probes.hpp"

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
      : BackupJob("backup.files", std::move(storage), keep), path_(std::move(path)) {}

 private:
  // The check's own target is its storage.
  targets::TargetRuntime* StorageOf(RunContext& ctx) const override { return &ctx.target; }

  asio::awaitable<std::string> WriteFiles(RunContext& ctx, storage::Backend& store,
                                          backup::Manifest& manifest) override {
    manifest.source_path = path_;
    std::string tar = FindTar();
    if (tar.empty()) co_return "no tar in /usr/bin or /bin: install the tar package";
    SpawnSpec spec;
    spec.argv = {tar, "czf", "-", "-C", path_, "."};
    spec.env = {{"LC_ALL", "C"}};  // stable messages in reasons
    std::string file = "files.tar.gz";
    StreamResult streamed = co_await StreamChildToObject(
        ctx.executor, spec, store, backup::RunKey(manifest.check, manifest.run, file), file, "tar", manifest.check, keys());
    if (!streamed.ok()) co_return streamed.error;
    manifest.files.push_back(std::move(streamed.file));
    co_return "";
  }

  std::string path_;
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
