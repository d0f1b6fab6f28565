// S3Requests: addressing style, key encoding and SigV4 signing of each request.
#include <algorithm>
#include <utility>

#include "common/crypto.hpp"
#include "storage/s3_backend.hpp"
#include "storage/s3_xml.hpp"

namespace drwatch::storage {
namespace {

struct Endpoint {
  bool tls = true;
  std::string host;  // with ":port" when given
};

Endpoint ParseEndpoint(const S3Config& config) {
  if (config.endpoint.empty()) return {true, "s3." + config.region + ".amazonaws.com"};
  std::string_view text = config.endpoint;
  Endpoint out;
  out.tls = text.starts_with("https://");
  text.remove_prefix(out.tls ? 8 : 7);  // validated: http:// or https://
  out.host = std::string(text.substr(0, text.find('/')));
  return out;
}

}  // namespace

std::string ValidateBucketName(std::string_view bucket) {
  auto ok_char = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-'; };
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  bool valid = bucket.size() >= 3 && bucket.size() <= 63 && alnum(bucket.front()) && alnum(bucket.back()) &&
               std::all_of(bucket.begin(), bucket.end(), ok_char) && bucket.find("..") == std::string_view::npos;
  if (valid) return "";
  return "invalid bucket name \"" + std::string(bucket) +
         "\" (3 to 63 of a-z, 0-9, '.', '-', starting and ending with a letter or digit)";
}

std::string S3Requests::FullKey(std::string_view key) const {
  if (config_.prefix.empty()) return std::string(key);
  return config_.prefix + "/" + std::string(key);
}

S3Request S3Requests::Make(std::string method, std::string_view key,
                           std::vector<std::pair<std::string, std::string>> query, std::string body,
                           std::string payload_hash, const aws::Headers& extra) const {
  Endpoint endpoint = ParseEndpoint(config_);
  aws::Request request;
  request.method = method;
  if (config_.path_style) {
    request.path = "/" + config_.bucket + (key.empty() ? "" : "/" + std::string(key));
  } else {
    endpoint.host = config_.bucket + "." + endpoint.host;
    request.path = "/" + std::string(key);
  }
  request.query = std::move(query);
  request.headers = {{"Host", endpoint.host}};
  request.headers.insert(request.headers.end(), extra.begin(), extra.end());
  // Given, or computed here rather than on a copy of an 8 MiB part.
  request.payload_hash = payload_hash.empty() ? Sha256Hex(body) : std::move(payload_hash);
  aws::SigningParams params;
  params.credentials = {config_.access_key_id, config_.secret_access_key, ""};
  params.region = config_.region;
  params.service = "s3";
  params.time = time;
  params.normalize_path = false;  // S3 keys are taken literally
  params.sign_body = true;        // x-amz-content-sha256 on every request
  aws::Signed sig = aws::SignHeaders(request, params);

  S3Request out;
  out.method = std::move(method);
  out.tls = endpoint.tls;
  out.host = endpoint.host;
  out.target = aws::EncodedPath(request, params);
  if (!request.query.empty()) out.target += "?" + aws::EncodedQuery(request.query);
  out.headers = request.headers;
  out.headers.insert(out.headers.end(), sig.add_headers.begin(), sig.add_headers.end());
  out.body = std::move(body);
  return out;
}

S3Request S3Requests::HeadBucket() const { return Make("HEAD", "", {}, ""); }

aws::Headers S3Requests::SseHeaders() const {
  aws::Headers out;
  if (config_.sse.empty()) return out;
  out.emplace_back("x-amz-server-side-encryption", config_.sse);
  if (!config_.sse_kms_key_id.empty()) {
    out.emplace_back("x-amz-server-side-encryption-aws-kms-key-id", config_.sse_kms_key_id);
  }
  return out;
}

S3Request S3Requests::PutObject(std::string_view key, std::string body, std::string payload_hash) const {
  return Make("PUT", FullKey(key), {}, std::move(body), std::move(payload_hash), SseHeaders());
}

S3Request S3Requests::GetObject(std::string_view key) const { return Make("GET", FullKey(key), {}, ""); }

S3Request S3Requests::DeleteObject(std::string_view key) const { return Make("DELETE", FullKey(key), {}, ""); }

S3Request S3Requests::ListObjects(std::string_view prefix, std::string_view continuation,
                                  std::size_t max_keys) const {
  std::vector<std::pair<std::string, std::string>> query{{"list-type", "2"}};
  std::string full = config_.prefix.empty() ? std::string(prefix) : config_.prefix + "/" + std::string(prefix);
  if (!full.empty()) query.emplace_back("prefix", full);
  if (!continuation.empty()) query.emplace_back("continuation-token", std::string(continuation));
  if (max_keys > 0) query.emplace_back("max-keys", std::to_string(max_keys));
  return Make("GET", "", std::move(query), "");
}

S3Request S3Requests::CreateMultipartUpload(std::string_view key) const {
  return Make("POST", FullKey(key), {{"uploads", ""}}, "", "", SseHeaders());
}

S3Request S3Requests::UploadPart(std::string_view key, std::string_view upload_id, int part_number,
                                 std::string body, std::string payload_hash) const {
  return Make("PUT", FullKey(key), {{"partNumber", std::to_string(part_number)}, {"uploadId", std::string(upload_id)}},
              std::move(body), std::move(payload_hash));
}

S3Request S3Requests::CompleteMultipartUpload(std::string_view key, std::string_view upload_id,
                                              const std::vector<std::string>& etags) const {
  return Make("POST", FullKey(key), {{"uploadId", std::string(upload_id)}}, CompleteMultipartUploadXml(etags));
}

S3Request S3Requests::AbortMultipartUpload(std::string_view key, std::string_view upload_id) const {
  return Make("DELETE", FullKey(key), {{"uploadId", std::string(upload_id)}}, "");
}

}  // namespace drwatch::storage
