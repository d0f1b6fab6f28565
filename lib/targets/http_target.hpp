#pragma once
// type: http. Keys: url (required, http:// or https://), headers (name →
// value, values expanded), ca_file, insecure_skip_verify (default false).
// Parse-only for now: no probe kind uses it yet.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "targets/target.hpp"

namespace drwatch::targets {

class HttpTargetSpec final : public TargetSpec {
 public:
  std::string url;                                           // expanded; its password is a secret
  std::vector<std::pair<std::string, std::string>> headers;  // in document order
  std::string ca_file;                                       // empty: the system's CAs
  bool insecure_skip_verify = false;

  /// A state-less runtime until the HTTP probes arrive.
  std::shared_ptr<TargetRuntime> MakeRuntime(boost::asio::any_io_executor executor,
                                             BlockingPool& pool) const override;
};

/// Reads an http target's keys; nullptr after reporting errors on `node`.
std::shared_ptr<TargetSpec> ParseHttpTarget(config::NodeReader& node);

}  // namespace drwatch::targets
