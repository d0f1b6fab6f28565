#pragma once
// s3:// storage. The configuration is parsed and validated now; the requests
// need the asynchronous HTTP client (lib/net/http_client.hpp), which has not
// landed yet, so every operation fails with kS3Unavailable. What the backend
// will send is already fixed and tested: S3Requests builds each request
// (addressing style, encoding) and signs it with SigV4.

#include <string>
#include <string_view>
#include <vector>

#include "aws/sigv4.hpp"
#include "storage/backend.hpp"

namespace drwatch::storage {

inline constexpr std::string_view kS3Unavailable = "s3 backend not yet available";

struct S3Config {
  std::string bucket;
  std::string prefix;    // without leading or trailing '/'; may be empty
  std::string endpoint;  // "http://127.0.0.1:4569"; empty: https://s3.<region>.amazonaws.com
  std::string region = "us-east-1";
  std::string access_key_id;
  std::string secret_access_key;  // a secret
  bool path_style = false;        // true: endpoint/bucket/key; false: bucket.endpoint/key
  std::string ca_file;            // empty: the system's CAs
};

/// Why `bucket` is not a valid S3 bucket name, or "".
std::string ValidateBucketName(std::string_view bucket);

/// One S3 request, ready for the HTTP client.
struct S3Request {
  std::string method;
  bool tls = true;
  std::string host;  // "127.0.0.1:4569" (the Host header)
  std::string target;  // "/bucket/key?list-type=2" as it goes on the request line
  aws::Headers headers;  // Host, X-Amz-Date, x-amz-content-sha256, Authorization
  std::string body;
};

/// Builds and signs the requests of the S3 backend. Each call signs anew with
/// the current time (S3 refuses a date 15 minutes off), or `time` in tests.
class S3Requests {
 public:
  explicit S3Requests(S3Config config) : config_(std::move(config)) {}

  S3Request HeadBucket() const;
  S3Request PutObject(std::string_view key, std::string body) const;
  S3Request GetObject(std::string_view key) const;
  S3Request DeleteObject(std::string_view key) const;
  /// ListObjectsV2 of keys starting with `prefix` (relative to the
  /// configured prefix); `continuation` from the previous page's
  /// NextContinuationToken, empty for the first page.
  S3Request ListObjects(std::string_view prefix, std::string_view continuation) const;

  /// The full key of `key` under the configured prefix.
  std::string FullKey(std::string_view key) const;
  const S3Config& config() const { return config_; }
  std::optional<std::chrono::system_clock::time_point> time;  // tests only

 private:
  S3Request Make(std::string method, std::string_view key,
                 std::vector<std::pair<std::string, std::string>> query, std::string body) const;

  S3Config config_;
};

class S3Backend final : public Backend {
 public:
  explicit S3Backend(S3Config config) : requests_(std::move(config)) {}

  std::string Describe() const override;
  std::string Locate(std::string_view key) const override;
  boost::asio::awaitable<Status> Check() override;
  boost::asio::awaitable<Status> Put(std::string key, std::string data) override;
  boost::asio::awaitable<GetResult> Get(std::string key, std::size_t max_bytes) override;
  boost::asio::awaitable<Status> Delete(std::string key) override;
  void DeleteDetached(std::string key) override {}
  boost::asio::awaitable<ListResult> List(std::string pattern, std::size_t max_entries) override;
  boost::asio::awaitable<std::optional<SpaceResult>> FreeSpace() override;

 private:
  S3Requests requests_;
};

}  // namespace drwatch::storage
