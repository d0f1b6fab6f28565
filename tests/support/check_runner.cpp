#include "support/check_runner.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

#include "common/clock.hpp"
#include "support/pg_cluster.hpp"

namespace drwatch::test {

void CheckRunner::Load(const std::string& text, const std::string& file) {
  auto loaded = catalogue::LoadCatalogueText(text, file);
  ASSERT_EQ(loaded.errors, std::vector<std::string>{});
  catalogue_ = loaded.catalogue;
  runtimes_.clear();
  for (const auto& [name, spec] : catalogue_->targets) runtimes_[name] = spec->MakeRuntime(io_.get_executor(), pool_);
}

const catalogue::CheckSpec& CheckRunner::Check(const std::string& name) const {
  if (catalogue_) {
    for (const auto& c : catalogue_->checks) {
      if (c.name == name) return c;
    }
  }
  throw std::runtime_error("no check " + name);
}

probes::RunContext CheckRunner::Context(const std::string& name, std::chrono::milliseconds timeout) {
  const auto& check = Check(name);
  auto find = [this](std::string_view target) -> targets::TargetRuntime* {
    auto it = runtimes_.find(std::string(target));
    return it == runtimes_.end() ? nullptr : it->second.get();
  };
  probes::RunContext ctx{io_.get_executor(), pool_, *runtimes_.at(check.target), timeout,
                         Clock::now() + timeout, check.name, find};
  ctx.storage_path = storage_path_;
  return ctx;
}

std::optional<probes::ProbeResult> CheckRunner::Run(const std::string& name, std::chrono::milliseconds timeout) {
  auto ctx = Context(name, timeout);
  return RunWithDeadline(io_, Check(name).probe->Run(ctx), timeout);
}

}  // namespace drwatch::test
