#include "support/probe_harness.hpp"

#include <stdexcept>

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

std::shared_ptr<const catalogue::Catalogue> ProbeHarness::Load(const std::string& dsn, const std::string& checks) {
  std::string text = "targets:\n  db:\n    type: postgres\n    dsn: \"" + dsn + "\"\nchecks:\n" + checks;
  auto loaded = catalogue::LoadCatalogueText(text, "probe_harness.yml");
  std::string errors;
  for (const auto& e : loaded.errors) errors += e + "\n";
  EXPECT_TRUE(loaded.catalogue) << errors;
  catalogue_ = loaded.catalogue;
  if (catalogue_) target_ = catalogue_->targets.at("db")->MakeRuntime(io_.get_executor(), pool_);
  return catalogue_;
}

std::shared_ptr<const catalogue::Catalogue> ProbeHarness::LoadText(const std::string& text) {
  auto loaded = catalogue::LoadCatalogueText(text, "probe_harness.yml");
  std::string errors;
  for (const auto& e : loaded.errors) errors += e + "\n";
  EXPECT_TRUE(loaded.catalogue) << errors;
  catalogue_ = loaded.catalogue;
  targets_.clear();
  if (catalogue_) {
    for (const auto& [name, spec] : catalogue_->targets) targets_[name] = spec->MakeRuntime(io_.get_executor(), pool_);
  }
  return catalogue_;
}

const catalogue::CheckSpec& ProbeHarness::Check(const std::string& name) const {
  if (catalogue_) {
    for (const auto& check : catalogue_->checks) {
      if (check.name == name) return check;
    }
  }
  throw std::runtime_error("no check " + name);
}

std::optional<probes::ProbeResult> ProbeHarness::Run(const std::string& name, std::chrono::milliseconds timeout) {
  const catalogue::CheckSpec& check = Check(name);
  targets::TargetRuntime& target = targets_.empty() ? *target_ : *targets_.at(check.target);
  auto find = [this](std::string_view other) -> targets::TargetRuntime* {
    auto it = targets_.find(std::string(other));
    return it == targets_.end() ? nullptr : it->second.get();
  };
  probes::RunContext ctx{io_.get_executor(), pool_, target, timeout, Clock::now() + timeout, check.name, find};
  ctx.storage_path = storage_path_;
  return RunWithDeadline(io_, check.probe->Run(ctx), timeout);
}

long ProbeHarness::MicrosPerRun(const std::string& name, int runs) {
  if (!Run(name)) ADD_FAILURE() << name << " timed out";  // opens the connection
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < runs; ++i) {
    if (!Run(name)) ADD_FAILURE() << name << " timed out";
  }
  auto took = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
  return static_cast<long>(took.count() / runs);
}

std::vector<metrics::Sample> ProbeHarness::StaticSamples(const std::string& name) const {
  std::vector<metrics::Sample> out;
  Check(name).probe->StaticSamples(out);
  return out;
}

void ProbeHarness::TearDown() {
  target_.reset();
  targets_.clear();
  io_.restart();
  io_.run_for(std::chrono::milliseconds(50));
}

}  // namespace drwatch::test
