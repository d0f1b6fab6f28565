#pragma once
// Reading values out of a /metrics scrape in tests.

#include <optional>
#include <string>
#include <vector>

namespace drwatch::test {

/// The value of the first series of `name` whose labels include all of
/// `labels` (each as `key="value"`), or nullopt.
std::optional<double> MetricValue(const std::string& text, const std::string& name,
                                  const std::vector<std::string>& labels = {});

}  // namespace drwatch::test
