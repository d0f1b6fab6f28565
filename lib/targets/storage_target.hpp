#pragma once
// type: storage. Keys: url (file:///absolute/path or s3://bucket/prefix);
// for s3 only: endpoint, region, access_key_id, secret_access_key (a secret),
// path_style (default true when an endpoint is given), ca_file (PEM CAs to
// trust instead of the system's, for an https endpoint).

#include <memory>
#include <string>

#include "storage/backend.hpp"
#include "storage/s3_backend.hpp"
#include "targets/target.hpp"

namespace drwatch::targets {

class StorageTargetSpec final : public TargetSpec {
 public:
  std::string url;   // as written (expanded)
  bool s3 = false;   // else file://
  std::string path;  // file: absolute, no trailing slash ("/" for the root)
  storage::S3Config s3_config;
  /// s3 over https: built while parsing (config load reads ca_file and the
  /// system CAs, never the loop); null for http:// endpoints.
  std::shared_ptr<const net::TlsClientConfig> tls;

  std::shared_ptr<TargetRuntime> MakeRuntime(boost::asio::any_io_executor executor,
                                             BlockingPool& pool) const override;
};

/// Reads a storage target's keys; nullptr after reporting errors on `node`.
std::shared_ptr<TargetSpec> ParseStorageTarget(config::NodeReader& node);

/// Run-time state of a storage target: its backend, shared by its checks.
class StorageTarget final : public TargetRuntime {
 public:
  explicit StorageTarget(std::shared_ptr<storage::Backend> backend) : backend_(std::move(backend)) {}
  storage::Backend& backend() { return *backend_; }

 private:
  std::shared_ptr<storage::Backend> backend_;
};

}  // namespace drwatch::targets
