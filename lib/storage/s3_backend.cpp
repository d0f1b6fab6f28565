#include "storage/s3_backend.hpp"

#include <cctype>

namespace drwatch::storage {
namespace {

namespace asio = boost::asio;

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
                           std::vector<std::pair<std::string, std::string>> query, std::string body) const {
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
  request.body = body;
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

S3Request S3Requests::PutObject(std::string_view key, std::string body) const {
  return Make("PUT", FullKey(key), {}, std::move(body));
}

S3Request S3Requests::GetObject(std::string_view key) const { return Make("GET", FullKey(key), {}, ""); }

S3Request S3Requests::DeleteObject(std::string_view key) const { return Make("DELETE", FullKey(key), {}, ""); }

S3Request S3Requests::ListObjects(std::string_view prefix, std::string_view continuation) const {
  std::vector<std::pair<std::string, std::string>> query{{"list-type", "2"}};
  std::string full = config_.prefix.empty() ? std::string(prefix) : config_.prefix + "/" + std::string(prefix);
  if (!full.empty()) query.emplace_back("prefix", full);
  if (!continuation.empty()) query.emplace_back("continuation-token", std::string(continuation));
  return Make("GET", "", std::move(query), "");
}

std::string S3Backend::Describe() const {
  const auto& c = requests_.config();
  return "s3://" + c.bucket + (c.prefix.empty() ? "" : "/" + c.prefix);
}

std::string S3Backend::Locate(std::string_view key) const {
  return "s3://" + requests_.config().bucket + "/" + requests_.FullKey(key);
}

// Until lib/net/http_client.hpp lands: every operation fails, clearly.
asio::awaitable<Status> S3Backend::Check() { co_return Status{std::string(kS3Unavailable)}; }

asio::awaitable<Status> S3Backend::Put(std::string, std::string) { co_return Status{std::string(kS3Unavailable)}; }

asio::awaitable<GetResult> S3Backend::Get(std::string, std::size_t) {
  co_return GetResult{std::string(kS3Unavailable), {}};
}

asio::awaitable<Status> S3Backend::Delete(std::string) { co_return Status{std::string(kS3Unavailable)}; }

asio::awaitable<ListResult> S3Backend::List(std::string, std::size_t) {
  co_return ListResult{std::string(kS3Unavailable), {}};
}

asio::awaitable<std::optional<SpaceResult>> S3Backend::FreeSpace() { co_return std::nullopt; }

}  // namespace drwatch::storage
