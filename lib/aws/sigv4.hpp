#pragma once
// AWS Signature Version 4 (AWS4-HMAC-SHA256), written for drwatch's S3
// backend and tested against the published AWS SigV4 test-suite vectors.
// Pure code: no I/O, no clock unless the caller leaves the time unset.
// Hashing (common/crypto), percent-encoding (common/percent) and the
// x-amz-date form (common/iso8601) are the shared ones.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace drwatch::aws {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;  // a secret
  std::string session_token;      // optional (STS); sent as X-Amz-Security-Token
};

/// The request to sign. `path` and `query` are decoded (raw) text: the signer
/// encodes them, and EncodedPath()/EncodedQuery() give the same encoding for
/// the request line, so what is sent is what was signed.
struct Request {
  std::string method = "GET";
  std::string path = "/";
  std::vector<std::pair<std::string, std::string>> query;  // name, value (decoded), any order
  Headers headers;  // must include Host; repeated names are joined with ','
  /// Hex SHA-256 of the body, or "UNSIGNED-PAYLOAD"; empty: computed from `body`.
  std::string payload_hash;
  std::string body;
};

struct SigningParams {
  Credentials credentials;
  std::string region = "us-east-1";
  std::string service = "s3";
  /// The signing time. Unset: now (system clock). Sign each request anew:
  /// S3 refuses an x-amz-date more than 15 minutes off its clock.
  std::optional<std::chrono::system_clock::time_point> time;
  /// Remove "." and ".." segments and repeated slashes from the path before
  /// encoding. S3 must not normalise (object keys may contain "//" or "..").
  bool normalize_path = false;
  /// Add and sign x-amz-content-sha256 (S3 requires it on every request).
  bool sign_body = true;
  /// Add X-Amz-Security-Token after signing instead of signing it (a few
  /// services want that); normally false.
  bool omit_session_token = false;
  /// Lifetime of a presigned URL.
  std::chrono::seconds expires{3600};
};

/// The outcome of signing: the intermediate texts (for tests and debugging;
/// they hold no secret) and what to add to the request.
struct Signed {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signature;      // hex
  std::string authorization;  // header signing: the Authorization value
  std::string amz_date;       // "20150830T123600Z"
  /// Header signing: headers to add (X-Amz-Date, x-amz-content-sha256,
  /// X-Amz-Security-Token, Authorization), in that order.
  Headers add_headers;
  /// Presigning: query parameters to append after the request's own
  /// (X-Amz-Algorithm … X-Amz-Signature), names and values decoded.
  std::vector<std::pair<std::string, std::string>> add_query;
};

/// Signs with an Authorization header.
Signed SignHeaders(const Request& request, const SigningParams& params);
/// Signs as a presigned URL (signature in the query string).
Signed Presign(const Request& request, const SigningParams& params);

/// The path as it must appear in the request line (normalised if asked).
std::string EncodedPath(const Request& request, const SigningParams& params);
/// "a=1&b=2" in the request's own order, encoded as signed.
std::string EncodedQuery(const std::vector<std::pair<std::string, std::string>>& query);
/// Removes "." and ".." segments and repeated slashes; keeps a trailing slash.
std::string NormalizePath(std::string_view path);

/// True when `amz_date` ("20150830T123600Z", common/iso8601's compact form)
/// is within `tolerance` of `now` (S3 allows 15 minutes).
bool WithinSkew(std::string_view amz_date, std::chrono::system_clock::time_point now,
                std::chrono::seconds tolerance = std::chrono::minutes(15));

/// kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request").
std::string SigningKey(std::string_view secret, std::string_view date, std::string_view region,
                       std::string_view service);

inline constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";

}  // namespace drwatch::aws
