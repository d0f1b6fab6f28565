#pragma once
// A catalogue loaded from text with every target built, so a test fixture
// that owns its own loop (PgClusterTest's) can run checks once as the runner
// does, including checks that use other targets (backup storage, a drill's
// backup check).

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "common/blocking.hpp"
#include "catalogue/catalogue.hpp"
#include "probes/probe.hpp"

namespace drwatch::test {

class CheckRunner {
 public:
  CheckRunner(boost::asio::io_context& io, BlockingPool& pool) : io_(io), pool_(pool) {}

  /// Loads `text` (named `file` in errors) and builds every target; fails the
  /// test when it does not load.
  void Load(const std::string& text, const std::string& file);
  /// The check `name` of the loaded catalogue (throws when there is none).
  const catalogue::CheckSpec& Check(const std::string& name) const;
  /// The run context the runner would give the check, deadline `timeout` from now.
  probes::RunContext Context(const std::string& name, std::chrono::milliseconds timeout);
  /// One run racing its deadline; nullopt when the deadline won.
  std::optional<probes::ProbeResult> Run(const std::string& name, std::chrono::milliseconds timeout);
  /// Runs get `path` as --storage.path (probes' history); empty (the default): none.
  void SetStoragePath(std::string path) { storage_path_ = std::move(path); }
  /// Drops the targets (their connections close off the loop).
  void Clear() { runtimes_.clear(); }

 private:
  boost::asio::io_context& io_;
  BlockingPool& pool_;
  std::shared_ptr<const catalogue::Catalogue> catalogue_;
  std::map<std::string, std::shared_ptr<targets::TargetRuntime>> runtimes_;
  std::string storage_path_;
};

}  // namespace drwatch::test
