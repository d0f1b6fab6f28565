#pragma once
// s3rver, the S3-compatible server of the storage integration tests (npm
// package s3rver 3.x, installed by scripts/bootstrap into tests/s3rver/).
// It accepts the key S3RVER/S3RVER and checks the access key id; it does not
// check x-amz-content-sha256 or the request date (unit tests cover those).

#include <memory>
#include <string>

#include "support/process.hpp"

namespace drwatch::test {

class S3rver {
 public:
  static constexpr char kKey[] = "S3RVER";  // access key id and secret

  /// Starts s3rver on a free loopback port with a fresh directory holding
  /// the bucket `bucket`, and waits until it listens. A missing s3rver, or
  /// one that does not start, fails the test (throws): run scripts/bootstrap.
  explicit S3rver(std::string bucket = "drwatch-test");
  /// Stops it and removes its directory.
  ~S3rver();
  S3rver(const S3rver&) = delete;
  S3rver& operator=(const S3rver&) = delete;

  int port() const { return port_; }
  /// "http://127.0.0.1:PORT"
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  const std::string& bucket() const { return bucket_; }
  /// Catalogue text of a storage target named `name` on this server, with
  /// `prefix` (may be empty) and the given key.
  std::string TargetYaml(const std::string& name, const std::string& prefix = "",
                         const std::string& access_key_id = kKey) const;

 private:
  std::string bucket_;
  std::string dir_;
  int port_ = 0;
  std::unique_ptr<ChildProcess> child_;
};

/// Where scripts/bootstrap installs s3rver.
std::string S3rverBinary();

}  // namespace drwatch::test
