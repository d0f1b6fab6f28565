#pragma once
// s3:// storage. S3Requests builds each request (addressing style, key
// encoding) and signs it anew with SigV4; S3Backend sends it with the
// asynchronous HTTP client (lib/net/http_client.hpp) on the loop, so a
// request ends with the awaiting coroutine (a probe's deadline). Responses
// are size-limited and read by the strict XML reader of s3_xml.hpp. Failures
// become reasons that say what to fix; none carries the secret, the
// Authorization header or a signature.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "aws/sigv4.hpp"
#include "common/blocking.hpp"
#include "net/http_client.hpp"
#include "storage/backend.hpp"

namespace drwatch::storage {

struct S3Config {
  std::string bucket;
  std::string prefix;    // without leading or trailing '/'; may be empty
  std::string endpoint;  // "http://127.0.0.1:4569"; empty: https://s3.<region>.amazonaws.com
  std::string region = "us-east-1";
  std::string access_key_id;
  std::string secret_access_key;  // a secret
  bool path_style = false;        // true: endpoint/bucket/key; false: bucket.endpoint/key
  std::string ca_file;            // empty: the system's CAs
  std::string sse;                // server-side encryption: "", "AES256" or "aws:kms"
  std::string sse_kms_key_id;     // with aws:kms: the KMS key; empty: the bucket's default
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
  /// `payload_hash` (here and in UploadPart): the body's SHA-256 in hex when
  /// the caller computed it already (off the loop: hashing an 8 MiB part
  /// takes milliseconds); empty: hashed here.
  S3Request PutObject(std::string_view key, std::string body, std::string payload_hash = "") const;
  S3Request GetObject(std::string_view key) const;
  S3Request DeleteObject(std::string_view key) const;
  /// ListObjectsV2 of keys starting with `prefix` (relative to the
  /// configured prefix); `continuation` from the previous page's
  /// NextContinuationToken, empty for the first page; `max_keys` 0 leaves
  /// the page size to the server (1000).
  S3Request ListObjects(std::string_view prefix, std::string_view continuation, std::size_t max_keys = 0) const;
  /// Multipart upload: POST ?uploads, PUT ?partNumber=N&uploadId=…, POST
  /// ?uploadId=… with the part list (`etags` of parts 1..N), DELETE ?uploadId=….
  S3Request CreateMultipartUpload(std::string_view key) const;
  S3Request UploadPart(std::string_view key, std::string_view upload_id, int part_number, std::string body,
                       std::string payload_hash = "") const;
  S3Request CompleteMultipartUpload(std::string_view key, std::string_view upload_id,
                                    const std::vector<std::string>& etags) const;
  S3Request AbortMultipartUpload(std::string_view key, std::string_view upload_id) const;

  /// The full key of `key` under the configured prefix.
  std::string FullKey(std::string_view key) const;
  const S3Config& config() const { return config_; }
  std::optional<std::chrono::system_clock::time_point> time;  // tests only

 private:
  S3Request Make(std::string method, std::string_view key,
                 std::vector<std::pair<std::string, std::string>> query, std::string body,
                 std::string payload_hash = "", const aws::Headers& extra = {}) const;
  /// x-amz-server-side-encryption (and the KMS key id) when `sse` is set:
  /// sent and signed on PutObject and CreateMultipartUpload (S3 refuses them
  /// on UploadPart; the parts inherit the upload's setting).
  aws::Headers SseHeaders() const;

  S3Config config_;
};

/// What every request of one target shares; writers and detached requests
/// hold it, so they may outlive the backend.
struct S3Client;

class S3Backend final : public Backend {
 public:
  /// `tls`: built at load time (it reads ca_file); null for http:// or the
  /// system's CAs. `pool`: for GetToFile's file writes and for hashing the
  /// parts of streaming writes.
  S3Backend(S3Config config, std::shared_ptr<const net::TlsClientConfig> tls,
            boost::asio::any_io_executor executor, BlockingPool& pool);
  ~S3Backend() override;

  std::string Describe() const override;
  std::string Locate(std::string_view key) const override;
  boost::asio::awaitable<Status> Check() override;
  boost::asio::awaitable<Status> Put(std::string key, std::string data) override;
  boost::asio::awaitable<GetResult> Get(std::string key, std::size_t max_bytes) override;
  boost::asio::awaitable<Status> Delete(std::string key) override;
  /// Sends the DELETE from a coroutine of its own on the loop, bounded by
  /// kDetachedTimeout; it holds only copies, so it may outlive the backend.
  void DeleteDetached(std::string key) override;
  boost::asio::awaitable<ListResult> List(std::string pattern, std::size_t max_entries) override;
  boost::asio::awaitable<WriterResult> OpenWriter(std::string key) override;
  boost::asio::awaitable<Status> GetToFile(std::string key, std::string path, std::uint64_t max_bytes) override;
  boost::asio::awaitable<std::optional<SpaceResult>> FreeSpace() override;

  /// ListObjectsV2 page size; 0 (the default) leaves it to the server. Tests.
  void set_list_page_size(std::size_t keys);
  const S3Requests& requests() const;

  static constexpr std::chrono::seconds kDetachedTimeout{30};

 private:
  std::shared_ptr<S3Client> client_;
  BlockingPool& pool_;
};

}  // namespace drwatch::storage
