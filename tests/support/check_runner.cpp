#include "support/check_runner.hpp"

#include <stdexcept>

#include "common/clock.hpp"
#include "engine/run_once.hpp"
#include "support/pg_cluster.hpp"

namespace drwatch::test {

std::map<std::string, double> SamplesByName(const std::vector<metrics::Sample>& samples) {
  std::map<std::string, double> out;
  for (const auto& s : samples) {
    std::string key = s.name;
    if (!s.labels.empty()) {
      key += "{";
      for (std::size_t i = 0; i < s.labels.size(); ++i) {
        key += (i ? "," : "") + s.labels[i].first + "=" + s.labels[i].second;
      }
      key += "}";
    }
    out[key] = s.value;
  }
  return out;
}

std::shared_ptr<const catalogue::Catalogue> CheckRunner::Load(const std::string& text, const std::string& file) {
  auto loaded = catalogue::LoadCatalogueText(text, file);
  EXPECT_EQ(loaded.errors, std::vector<std::string>{});
  catalogue_ = loaded.catalogue;
  runtimes_.clear();
  if (catalogue_) {
    for (const auto& [name, spec] : catalogue_->targets) runtimes_[name] = spec->MakeRuntime(io_.get_executor(), pool_);
  }
  return catalogue_;
}

const catalogue::CheckSpec& CheckRunner::Check(const std::string& name) const {
  if (catalogue_) {
    for (const auto& c : catalogue_->checks) {
      if (c.name == name) return c;
    }
  }
  throw std::runtime_error("no check " + name);
}

run::RunContext CheckRunner::Context(const std::string& name, std::chrono::milliseconds timeout) {
  const auto& check = Check(name);
  auto find = [this](std::string_view target) -> targets::TargetRuntime* {
    auto it = runtimes_.find(std::string(target));
    return it == runtimes_.end() ? nullptr : it->second.get();
  };
  return engine::MakeRunContext(io_.get_executor(), pool_, check, *runtimes_.at(check.target), timeout,
                                Clock::now() + timeout, find, storage_path_);
}

std::optional<run::ProbeResult> CheckRunner::Run(const std::string& name, std::chrono::milliseconds timeout) {
  auto ctx = Context(name, timeout);
  // RunOnce's own timer ends the run at the deadline; this one only guards the test.
  auto outcome = RunWithDeadline(io_, engine::RunOnce(Check(name), ctx), timeout + std::chrono::seconds(5));
  if (!outcome || outcome->result == engine::RunResult::kTimeout) return std::nullopt;
  return std::move(outcome->probe);
}

long CheckRunner::MicrosPerRun(const std::string& name, int runs) {
  constexpr auto kTimeout = std::chrono::seconds(5);
  if (!Run(name, kTimeout)) ADD_FAILURE() << name << " timed out";  // opens the connection
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < runs; ++i) {
    if (!Run(name, kTimeout)) ADD_FAILURE() << name << " timed out";
  }
  auto took = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
  return static_cast<long>(took.count() / runs);
}

std::vector<metrics::Sample> CheckRunner::StaticSamples(const std::string& name) const {
  std::vector<metrics::Sample> out;
  Check(name).probe->StaticSamples(out);
  return out;
}

std::shared_ptr<const catalogue::Catalogue> ProbeHarness::Load(const std::string& dsn, const std::string& checks) {
  return LoadText("targets:\n  db:\n    type: postgres\n    dsn: \"" + dsn + "\"\nchecks:\n" + checks);
}

std::shared_ptr<const catalogue::Catalogue> ProbeHarness::LoadText(const std::string& text) {
  return runner_.Load(text, "probe_harness.yml");
}

void ProbeHarness::TearDown() {
  runner_.Clear();
  io_.restart();
  io_.run_for(std::chrono::milliseconds(50));
}

}  // namespace drwatch::test
