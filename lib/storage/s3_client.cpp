// Sending S3 requests and reading failed answers into reasons.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cctype>
#include <utility>

#include "storage/s3_internal.hpp"
#include "storage/s3_xml.hpp"

namespace drwatch::storage::s3_detail {

namespace asio = boost::asio;
using namespace boost::asio::experimental::awaitable_operators;

net::HttpRequestSpec ToHttp(const S3Client& client, S3Request request, std::size_t body_limit) {
  net::HttpRequestSpec spec;
  std::string error;
  // The endpoint was parsed at load time; the target is percent-encoded.
  auto url = net::ParseUrl((request.tls ? "https://" : "http://") + request.host + request.target, error);
  if (url) spec.url = std::move(*url);
  spec.method = std::move(request.method);
  spec.headers = std::move(request.headers);  // Host included: what is sent is what was signed
  spec.body = std::move(request.body);
  spec.tls = client.tls;
  spec.body_limit = body_limit;
  return spec;
}

asio::awaitable<net::HttpResult> Send(const S3Client& client, S3Request request, std::size_t body_limit) {
  auto executor = co_await asio::this_coro::executor;
  net::HttpRequestSpec spec = ToHttp(client, std::move(request), body_limit);
  net::HttpResult result = co_await net::Fetch(executor, std::move(spec));
  co_return result;
}

namespace {

// S3's own words, shortened and on one line: they end up in a log line.
std::string Tidy(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, 200)) out += std::iscntrl(static_cast<unsigned char>(c)) ? ' ' : c;
  return out;
}

std::string StatusText(const net::HttpResult& r, const std::optional<S3ErrorBody>& body, bool with_message) {
  std::string out = std::to_string(r.status);
  if (body && !body->code.empty()) out += " " + Tidy(body->code);
  if (with_message && body && !body->message.empty()) out += ": " + Tidy(body->message);
  return out;
}

std::string RedirectReason(const S3Config& config, const net::HttpResult& r, const std::string& status) {
  std::string region = Tidy(r.Header("x-amz-bucket-region"));
  if (!region.empty() && region != config.region) {
    return "wrong region (" + status + "): the bucket is in " + region + ", set region: " + region;
  }
  return "wrong region or endpoint (" + status + "): check the target's region and endpoint";
}

// Why a non-2xx answer failed, in words an operator can act on.
std::string StatusReason(const S3Config& config, const net::HttpResult& r, Scope scope) {
  auto body = ParseS3Error(r.body);
  std::string code = body ? body->code : "";
  std::string status = StatusText(r, body, false);
  if (code == "RequestTimeTooSkewed") {
    return "clock skew: S3 refused this host's time (" + status + "); synchronise the clock (NTP)";
  }
  if (r.status == 301 || r.status == 307 || code == "PermanentRedirect" || code == "AuthorizationHeaderMalformed") {
    return RedirectReason(config, r, StatusText(r, body, code == "AuthorizationHeaderMalformed"));
  }
  if (r.status == 403 && code == "SignatureDoesNotMatch") {
    return "access denied (" + status + "): check secret_access_key";
  }
  if (r.status == 403) {
    return "access denied (" + status + "): check access_key_id/secret_access_key and the bucket policy";
  }
  if (code == "NoSuchBucket" || (r.status == 404 && scope == Scope::kBucket && code.empty())) {
    return "bucket " + config.bucket + " does not exist (" + (code.empty() ? "404" : status) + ")";
  }
  if (r.status == 404) return "no such object (" + status + ")";
  if (r.status >= 500) return "S3 server error (" + StatusText(r, body, true) + ")";
  return "unexpected answer (" + StatusText(r, body, true) + ")";
}

}  // namespace

std::string Failure(const S3Client& client, std::string_view what, const net::HttpResult& r, Scope scope) {
  if (r.error == "cancelled") return std::string(kCancelled);
  if (!r.ok()) return std::string(what) + ": " + r.error;
  if (r.status >= 200 && r.status < 300) return "";
  return std::string(what) + ": " + StatusReason(client.requests.config(), r, scope);
}

namespace {

// Nobody waits for it; bounded so that a stalled endpoint does not keep a
// connection open for ever. It holds only copies: the backend may be gone.
asio::awaitable<void> SendDetached(std::shared_ptr<const S3Client> client, S3Request request) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  timer.expires_after(S3Backend::kDetachedTimeout);
  auto send = Send(*client, std::move(request), kErrorBodyLimit);
  auto wait = timer.async_wait(asio::use_awaitable);
  co_await (std::move(send) || std::move(wait));
}

}  // namespace

void SpawnDetached(const std::shared_ptr<const S3Client>& client, S3Request request) {
  asio::co_spawn(client->executor, SendDetached(client, std::move(request)), asio::detached);
}

}  // namespace drwatch::storage::s3_detail
