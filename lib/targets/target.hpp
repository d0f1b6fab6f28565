#pragma once
// A target is something checks probe: a database, later an HTTP endpoint or a
// storage bucket. TargetSpec is its validated configuration; TargetRuntime is
// the state its checks share while the daemon runs (a persistent connection).

#include <boost/asio/any_io_executor.hpp>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/blocking.hpp"

namespace drwatch::config {
class NodeReader;
}

namespace drwatch::targets {

/// Shared run-time state of one target. Lives as long as any check uses it;
/// a reload that leaves the target unchanged keeps it.
class TargetRuntime {
 public:
  virtual ~TargetRuntime() = default;
};

/// A validated target from the catalogue.
class TargetSpec {
 public:
  virtual ~TargetSpec() = default;
  std::string name;         // the key under `targets:`
  std::string type;         // "postgres"
  std::string fingerprint;  // equal fingerprints configure the same target

  /// Builds the run-time state. Called on the loop; must not block.
  virtual std::shared_ptr<TargetRuntime> MakeRuntime(boost::asio::any_io_executor executor,
                                                     BlockingPool& pool) const = 0;
};

/// One target type: its name and the parser of its keys. The parser reads
/// every key it knows from `node` (the catalogue reports the rest as unknown)
/// and returns nullptr after reporting errors.
struct TargetType {
  std::string_view name;
  std::shared_ptr<TargetSpec> (*parse)(config::NodeReader& node);
};

/// The one list of target types.
const std::vector<TargetType>& TargetTypes();
const TargetType* FindTargetType(std::string_view name);

}  // namespace drwatch::targets
