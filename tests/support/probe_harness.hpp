#pragma once
// Builds probes from catalogue text as the daemon does and runs them once
// against a live target, for integration tests of probe kinds that need a
// cluster of their own (archiving, standbys) rather than PgClusterTest's.

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/blocking.hpp"
#include "catalogue/catalogue.hpp"
#include "probes/probe.hpp"

namespace drwatch::test {

/// name{label=value,...} -> value, for compact assertions.
std::map<std::string, double> SamplesByName(const std::vector<metrics::Sample>& samples);

class ProbeHarness : public ::testing::Test {
 protected:
  /// Loads a catalogue with one postgres target `db` at `dsn` and the given
  /// checks (YAML list items); fails the test when it does not load.
  std::shared_ptr<const catalogue::Catalogue> Load(const std::string& dsn, const std::string& checks);
  /// Loads a whole catalogue (targets and checks) and builds every target,
  /// so a check may use other targets (storage.replication's replica); fails
  /// the test when it does not load.
  std::shared_ptr<const catalogue::Catalogue> LoadText(const std::string& text);
  /// The check `name` of the last loaded catalogue.
  const catalogue::CheckSpec& Check(const std::string& name) const;
  /// One run as the runner does it: the probe races its deadline.
  std::optional<probes::ProbeResult> Run(const std::string& check,
                                         std::chrono::milliseconds timeout = std::chrono::seconds(5));
  /// Mean wall time of `runs` successive runs of the check `name` (its
  /// connection already open), in microseconds: the cost of one run.
  long MicrosPerRun(const std::string& name, int runs = 20);
  /// Static samples of the check `name`.
  std::vector<metrics::Sample> StaticSamples(const std::string& name) const;
  /// Drops the target's connection and lets its off-loop close finish.
  void TearDown() override;

  boost::asio::io_context io_;
  BlockingPool pool_{4};  // destroyed first: its last jobs may still post to io_
  std::shared_ptr<const catalogue::Catalogue> catalogue_;
  std::shared_ptr<targets::TargetRuntime> target_;
  std::map<std::string, std::shared_ptr<targets::TargetRuntime>> targets_;  // LoadText's
  /// Handed to every run as --storage.path (probes' history); empty: none.
  std::string storage_path_;
};

}  // namespace drwatch::test
