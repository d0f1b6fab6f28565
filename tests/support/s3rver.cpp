#include "support/s3rver.hpp"

#include <unistd.h>

#include <filesystem>
#include <stdexcept>

#include "support/pg_cluster.hpp"

namespace drwatch::test {
namespace fs = std::filesystem;

namespace {
constexpr auto kStartTimeout = std::chrono::seconds(20);
}  // namespace

std::string S3rverBinary() { return std::string(DRWATCH_SOURCE_DIR) + "/tests/s3rver/node_modules/.bin/s3rver"; }

S3rver::S3rver(std::string bucket) : bucket_(std::move(bucket)) {
  std::string binary = S3rverBinary();
  if (::access(binary.c_str(), X_OK) != 0) {
    pgproc::Fail("s3rver is not installed: " + binary + " is missing (run scripts/bootstrap)");
  }
  dir_ = pgproc::MakeOwnedTempDir("drwatch-s3rver-");
  // A port free a moment ago may be taken before s3rver binds it: retry.
  for (int attempt = 0; attempt < 3 && !child_; ++attempt) {
    port_ = pgproc::FreeLoopbackPort();
    auto child = std::make_unique<ChildProcess>(
        std::vector<std::string>{binary, "--directory", dir_, "--address", "127.0.0.1", "--port",
                                 std::to_string(port_), "--silent", "--configure-bucket", bucket_},
        // Its continuation tokens use DES, which OpenSSL 3 keeps in the legacy provider.
        std::vector<std::string>{"NODE_OPTIONS=--openssl-legacy-provider"});
    if (child->WaitForOutput("S3rver listening on", kStartTimeout)) {
      child_ = std::move(child);
    } else if (child->Output().find("EADDRINUSE") == std::string::npos) {
      std::string output = child->Output();
      std::error_code ec;
      fs::remove_all(dir_, ec);
      pgproc::Fail("s3rver did not start (run scripts/bootstrap); its output:\n" + output);
    }
  }
  if (!child_) pgproc::Fail("s3rver did not start: every port tried was taken");
}

S3rver::~S3rver() {
  child_.reset();  // SIGTERM, then SIGKILL after 5 s
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

std::string S3rver::TargetYaml(const std::string& name, const std::string& prefix,
                               const std::string& access_key_id) const {
  return "  " + name + ":\n    type: storage\n    url: \"s3://" + bucket_ + (prefix.empty() ? "" : "/" + prefix) +
         "\"\n    endpoint: \"" + endpoint() + "\"\n    access_key_id: \"" + access_key_id +
         "\"\n    secret_access_key: \"" + kKey + "\"\n";
}

}  // namespace drwatch::test
