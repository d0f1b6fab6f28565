#pragma once
// The one test harness for running checks: a catalogue loaded from text with
// every target built, each run made as the scheduler makes it
// (engine::MakeRunContext, engine::RunOnce), including checks that use other
// targets (backup storage, a replica, a drill's backup check). CheckRunner
// works on a fixture's own loop (PgClusterTest's); ProbeHarness is a fixture
// that owns one.

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "catalogue/catalogue.hpp"
#include "common/blocking.hpp"
#include "metrics/sample.hpp"
#include "run/context.hpp"

namespace drwatch::test {

/// name{label=value,...} -> value, for compact assertions.
std::map<std::string, double> SamplesByName(const std::vector<metrics::Sample>& samples);

class CheckRunner {
 public:
  CheckRunner(boost::asio::io_context& io, BlockingPool& pool) : io_(io), pool_(pool) {}

  /// Loads `text` (named `file` in errors) and builds every target; fails the
  /// test (and returns null) when it does not load.
  std::shared_ptr<const catalogue::Catalogue> Load(const std::string& text, const std::string& file);
  /// The check `name` of the loaded catalogue (throws when there is none).
  const catalogue::CheckSpec& Check(const std::string& name) const;
  /// The run context the scheduler would give the check, deadline `timeout` from now.
  run::RunContext Context(const std::string& name, std::chrono::milliseconds timeout);
  /// One run as the scheduler makes it; nullopt when the deadline won.
  std::optional<run::ProbeResult> Run(const std::string& name, std::chrono::milliseconds timeout);
  /// Mean wall time of `runs` successive runs of the check `name` (its
  /// connection already open), in microseconds: the cost of one run.
  long MicrosPerRun(const std::string& name, int runs = 20);
  /// Static samples of the check `name`.
  std::vector<metrics::Sample> StaticSamples(const std::string& name) const;
  /// Runs get `path` as --storage.path (probes' history, state files); empty (the default): none.
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

/// A fixture with its own loop and pool and a CheckRunner on them, for
/// integration tests of probe kinds that need a cluster of their own
/// (archiving, standbys) rather than PgClusterTest's.
class ProbeHarness : public ::testing::Test {
 protected:
  /// Loads a catalogue with one postgres target `db` at `dsn` and the given
  /// checks (YAML list items); fails the test when it does not load.
  std::shared_ptr<const catalogue::Catalogue> Load(const std::string& dsn, const std::string& checks);
  /// Loads a whole catalogue (targets and checks); fails the test when it does not load.
  std::shared_ptr<const catalogue::Catalogue> LoadText(const std::string& text);
  const catalogue::CheckSpec& Check(const std::string& name) const { return runner_.Check(name); }
  /// One run as the scheduler makes it, with storage_path_ as --storage.path.
  std::optional<run::ProbeResult> Run(const std::string& check,
                                      std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    runner_.SetStoragePath(storage_path_);
    return runner_.Run(check, timeout);
  }
  long MicrosPerRun(const std::string& name, int runs = 20) {
    runner_.SetStoragePath(storage_path_);
    return runner_.MicrosPerRun(name, runs);
  }
  std::vector<metrics::Sample> StaticSamples(const std::string& name) const { return runner_.StaticSamples(name); }
  /// Drops the targets' connections and lets their off-loop close finish.
  void TearDown() override;

  boost::asio::io_context io_;
  BlockingPool pool_{4};  // destroyed first: its last jobs may still post to io_
  CheckRunner runner_{io_, pool_};
  /// Handed to every run as --storage.path (probes' history); empty: none.
  std::string storage_path_;
};

}  // namespace drwatch::test
