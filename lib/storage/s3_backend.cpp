#include "storage/s3_backend.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <limits>
#include <utility>
#include <system_error>

#include "common/crypto.hpp"
#include "storage/pattern.hpp"
#include "storage/s3_xml.hpp"

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


// ---- sending requests --------------------------------------------------------

struct S3Client {
  S3Requests requests;
  std::shared_ptr<const net::TlsClientConfig> tls;
  asio::any_io_executor executor;
  std::size_t page_size = 0;
};

namespace {

using namespace boost::asio::experimental::awaitable_operators;

constexpr std::size_t kErrorBodyLimit = 64 * 1024;
// A page of 1000 keys of up to 1024 bytes each, with its XML around them.
constexpr std::size_t kListBodyLimit = 8 * 1024 * 1024;
// Download bytes gathered before each write to the local file.
constexpr std::size_t kFileChunk = 1024 * 1024;
constexpr int kMaxParts = 10000;  // S3's limit

// What the reason says a failed request was about.
enum class Scope { kBucket, kObject };

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

// "" for a 2xx answer; else "<what>: <why>", or kCancelled.
std::string Failure(const S3Client& client, std::string_view what, const net::HttpResult& r,
                    Scope scope = Scope::kObject) {
  if (r.error == "cancelled") return std::string(kCancelled);
  if (!r.ok()) return std::string(what) + ": " + r.error;
  if (r.status >= 200 && r.status < 300) return "";
  return std::string(what) + ": " + StatusReason(client.requests.config(), r, scope);
}

// Nobody waits for it; bounded so that a stalled endpoint does not keep a
// connection open for ever. It holds only copies: the backend may be gone.
asio::awaitable<void> SendDetached(std::shared_ptr<const S3Client> client, S3Request request) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  timer.expires_after(S3Backend::kDetachedTimeout);
  auto send = Send(*client, std::move(request), kErrorBodyLimit);
  auto wait = timer.async_wait(asio::use_awaitable);
  co_await (std::move(send) || std::move(wait));
}

void SpawnDetached(const std::shared_ptr<const S3Client>& client, S3Request request) {
  asio::co_spawn(client->executor, SendDetached(client, std::move(request)), asio::detached);
}

// The literal beginning of a glob: every key it matches starts with it, so a
// listing of that prefix reads no more than it must ("daily/prmcms-" of
// "daily/prmcms-*.dump").
std::string LiteralPrefix(std::string_view pattern) {
  return std::string(pattern.substr(0, pattern.find_first_of("*?[\\")));
}

}  // namespace

// ---- the backend -------------------------------------------------------------

S3Backend::S3Backend(S3Config config, std::shared_ptr<const net::TlsClientConfig> tls,
                     asio::any_io_executor executor, BlockingPool& pool)
    : client_(std::make_shared<S3Client>(S3Client{S3Requests(std::move(config)), std::move(tls),
                                                  std::move(executor)})),
      pool_(pool) {}

S3Backend::~S3Backend() = default;

void S3Backend::set_list_page_size(std::size_t keys) { client_->page_size = keys; }

const S3Requests& S3Backend::requests() const { return client_->requests; }

std::string S3Backend::Describe() const {
  const auto& c = client_->requests.config();
  return "s3://" + c.bucket + (c.prefix.empty() ? "" : "/" + c.prefix);
}

std::string S3Backend::Locate(std::string_view key) const {
  return "s3://" + client_->requests.config().bucket + "/" + client_->requests.FullKey(key);
}

asio::awaitable<Status> S3Backend::Check() {
  S3Request request = client_->requests.HeadBucket();
  net::HttpResult r = co_await Send(*client_, std::move(request), kErrorBodyLimit);
  co_return Status{Failure(*client_, "HEAD bucket " + client_->requests.config().bucket, r, Scope::kBucket)};
}

asio::awaitable<Status> S3Backend::Put(std::string key, std::string data) {
  S3Request request = client_->requests.PutObject(key, std::move(data));
  net::HttpResult r = co_await Send(*client_, std::move(request), kErrorBodyLimit);
  co_return Status{Failure(*client_, "PUT " + Locate(key), r)};
}

asio::awaitable<GetResult> S3Backend::Get(std::string key, std::size_t max_bytes) {
  // One byte past the limit tells "too large" from "exactly the limit".
  std::size_t limit = std::max(kErrorBodyLimit, max_bytes == std::numeric_limits<std::size_t>::max() ? max_bytes
                                                                                                    : max_bytes + 1);
  S3Request request = client_->requests.GetObject(key);
  net::HttpResult r = co_await Send(*client_, std::move(request), limit);
  GetResult out;
  out.error = Failure(*client_, "GET " + Locate(key), r);
  if (out.error.empty() && (r.truncated || r.body.size() > max_bytes)) {
    out.error = "GET " + Locate(key) + ": larger than " + std::to_string(max_bytes) + " bytes";
  }
  if (out.error.empty()) out.data = std::move(r.body);
  co_return out;
}

asio::awaitable<Status> S3Backend::Delete(std::string key) {
  S3Request request = client_->requests.DeleteObject(key);
  net::HttpResult r = co_await Send(*client_, std::move(request), kErrorBodyLimit);
  co_return Status{Failure(*client_, "DELETE " + Locate(key), r)};
}

void S3Backend::DeleteDetached(std::string key) { SpawnDetached(client_, client_->requests.DeleteObject(key)); }

asio::awaitable<std::optional<SpaceResult>> S3Backend::FreeSpace() { co_return std::nullopt; }

// ---- listing -------------------------------------------------------------------

namespace {

// Adds the page's keys that match `pattern` to `out`; false once more than
// `max_entries` keys were seen in all (out.error says so).
bool TakePage(const S3Requests& requests, const std::string& pattern, std::size_t max_entries, ListPage& page,
              std::size_t& seen, ListResult& out, const std::string& where) {
  const std::string& prefix = requests.config().prefix;
  for (auto& entry : page.entries) {
    if (++seen > max_entries) {
      out.error = "more than " + std::to_string(max_entries) + " objects under " + where + " (narrow the pattern)";
      return false;
    }
    std::string_view key = entry.key;
    if (!prefix.empty()) {
      if (!key.starts_with(prefix + "/")) continue;
      key.remove_prefix(prefix.size() + 1);
    }
    if (!PatternMatches(pattern, key)) continue;
    out.objects.push_back({std::string(key), entry.size, entry.last_modified});
  }
  return true;
}

// Reads one listing answer into `page`; "" or why it cannot be used.
std::string ReadPage(const S3Client& client, const std::string& where, const net::HttpResult& r,
                     const std::string& token, ListPage& page) {
  std::string what = "list " + where;
  if (auto error = Failure(client, what, r, Scope::kBucket); !error.empty()) return error;
  if (r.truncated) return what + ": a page larger than " + std::to_string(kListBodyLimit) + " bytes";
  page = ParseListObjects(r.body);
  if (!page.ok()) return what + ": " + page.error;
  // A server repeating its token would keep the listing going until the deadline.
  if (page.truncated && page.next_token == token) return what + ": the server repeated the continuation token";
  return "";
}

}  // namespace

asio::awaitable<ListResult> S3Backend::List(std::string pattern, std::size_t max_entries) {
  std::string prefix = LiteralPrefix(pattern);
  std::string where = Locate(prefix);
  ListResult out;
  std::size_t seen = 0;
  std::string token;
  for (;;) {
    S3Request request = client_->requests.ListObjects(prefix, token, client_->page_size);
    net::HttpResult r = co_await Send(*client_, std::move(request), kListBodyLimit);
    ListPage page;
    out.error = ReadPage(*client_, where, r, token, page);
    if (!out.error.empty() || !TakePage(client_->requests, pattern, max_entries, page, seen, out, where)) {
      out.objects.clear();
      co_return out;
    }
    if (!page.truncated) co_return out;
    token = std::move(page.next_token);
  }
}

// ---- streaming writes ------------------------------------------------------------

namespace {

// A body of up to one part with its SHA-256 (hex).
struct HashedBody {
  std::string body;
  std::string sha256;
};

// Hashes `body` on the pool: SHA-256 of an 8 MiB part takes 5 ms with SHA
// instructions and some 30 ms without, time the loop must not spend. The body travels to the pool and
// back (moved, not copied); cancelled, it is freed there. nullopt: cancelled.
asio::awaitable<std::optional<HashedBody>> HashOnPool(BlockingPool& pool, std::string body) {
  auto job = [body = std::move(body)]() mutable {
    std::string sha256 = Sha256Hex(body);
    return HashedBody{std::move(body), std::move(sha256)};
  };
  auto discard = [](HashedBody) {};
  std::optional<HashedBody> hashed = co_await RunBlocking(pool, std::move(job), discard);
  co_return hashed;
}

// The first kPartBytes of `buffer`, leaving the rest there: the part is moved
// out, only the (short) rest is copied.
std::string TakePart(std::string& buffer) {
  std::string rest = buffer.substr(kPartBytes);
  buffer.resize(kPartBytes);
  return std::exchange(buffer, std::move(rest));
}

// Buffers up to one part; the object appears only at Commit (one PUT when it
// never reached a part, else a completed multipart upload). Before each wait
// (a request, or hashing a body on the pool) the writer marks itself dead
// with kCancelled and clears that after: a write abandoned at a deadline
// leaves it dead, and its destructor aborts the upload.
class S3Writer final : public Writer {
 public:
  S3Writer(std::shared_ptr<const S3Client> client, BlockingPool& pool, std::string key, std::string where)
      : client_(std::move(client)), pool_(pool), key_(std::move(key)), where_(std::move(where)) {}

  ~S3Writer() override {
    if (!committed_ && !upload_id_.empty()) {
      SpawnDetached(client_, client_->requests.AbortMultipartUpload(key_, upload_id_));
    }
  }

  asio::awaitable<Status> Write(std::string data) override {
    if (!error_.empty()) co_return Status{error_};
    if (committed_) co_return Status{"write " + where_ + ": already committed"};
    written_ += data.size();
    if (buffer_.empty()) {
      buffer_ = std::move(data);
    } else {
      // Room for a whole part at once: growing by doubling would copy it again.
      if (buffer_.capacity() < buffer_.size() + data.size()) {
        buffer_.reserve(std::max(kPartBytes, buffer_.size()) + data.size());
      }
      buffer_ += data;
    }
    while (buffer_.size() >= kPartBytes) {
      std::string part = TakePart(buffer_);
      std::string error = co_await SendPart(std::move(part));
      if (!error.empty()) co_return Status{error};
    }
    co_return Status{};
  }

  asio::awaitable<Status> Commit() override {
    if (!error_.empty()) co_return Status{error_};
    if (committed_) co_return Status{"commit " + where_ + ": already committed"};
    if (upload_id_.empty()) {
      std::string error = co_await PutWhole();
      committed_ = error.empty();
      co_return Status{error};
    }
    if (!buffer_.empty()) {
      std::string error = co_await SendPart(std::move(buffer_));
      buffer_.clear();
      if (!error.empty()) co_return Status{error};
    }
    std::string error = co_await Complete();
    committed_ = error.empty();
    co_return Status{error};
  }

  std::uint64_t written() const override { return written_; }

 private:
  // Runs one request with the writer marked dead meanwhile; "" or why it
  // failed (the writer then stays dead).
  asio::awaitable<std::string> Exchange(S3Request request, std::string what, net::HttpResult& r) {
    error_ = std::string(kCancelled);
    net::HttpResult got = co_await Send(*client_, std::move(request), kErrorBodyLimit);
    r = std::move(got);
    error_ = Failure(*client_, what, r);
    co_return error_;
  }

  // Hashes `body` on the pool with the writer marked dead meanwhile.
  asio::awaitable<std::optional<HashedBody>> Hash(std::string body) {
    error_ = std::string(kCancelled);
    std::optional<HashedBody> hashed = co_await HashOnPool(pool_, std::move(body));
    if (hashed) error_.clear();
    co_return hashed;
  }

  asio::awaitable<std::string> PutWhole() {
    std::string body = std::exchange(buffer_, {});
    std::optional<HashedBody> hashed = co_await Hash(std::move(body));
    if (!hashed) co_return error_;
    net::HttpResult r;
    S3Request request = client_->requests.PutObject(key_, std::move(hashed->body), std::move(hashed->sha256));
    std::string error = co_await Exchange(std::move(request), "PUT " + where_, r);
    co_return error;
  }

  asio::awaitable<std::string> Create() {
    net::HttpResult r;
    S3Request request = client_->requests.CreateMultipartUpload(key_);
    std::string error = co_await Exchange(std::move(request), "create multipart upload " + where_, r);
    if (!error.empty()) co_return error;
    UploadIdResult id = ParseInitiateMultipartUpload(r.body);
    if (!id.error.empty()) error_ = "create multipart upload " + where_ + ": " + id.error;
    upload_id_ = id.upload_id;
    co_return error_;
  }

  // Sends one part, starting the upload with the first (after hashing it: a
  // deadline while hashing then leaves no upload to abort).
  asio::awaitable<std::string> SendPart(std::string part) {
    int number = static_cast<int>(etags_.size()) + 1;
    std::string what = "upload part " + std::to_string(number) + " of " + where_;
    if (number > kMaxParts) {
      error_ = what + ": more than " + std::to_string(kMaxParts) + " parts";
      co_return error_;
    }
    std::optional<HashedBody> hashed = co_await Hash(std::move(part));
    if (!hashed) co_return error_;
    if (upload_id_.empty()) {
      std::string error = co_await Create();
      if (!error.empty()) co_return error;
    }
    net::HttpResult r;
    S3Request request =
        client_->requests.UploadPart(key_, upload_id_, number, std::move(hashed->body), std::move(hashed->sha256));
    std::string error = co_await Exchange(std::move(request), what, r);
    if (!error.empty()) co_return error;
    if (r.Header("ETag").empty()) error_ = what + ": the answer has no ETag";
    etags_.emplace_back(r.Header("ETag"));
    co_return error_;
  }

  // S3 may answer 200 and still fail: the error is then in the body.
  asio::awaitable<std::string> Complete() {
    net::HttpResult r;
    S3Request request = client_->requests.CompleteMultipartUpload(key_, upload_id_, etags_);
    std::string what = "complete multipart upload " + where_;
    std::string error = co_await Exchange(std::move(request), what, r);
    if (!error.empty()) co_return error;
    XmlDocument doc = ParseXml(r.body);
    if (!doc.ok()) {
      error_ = what + ": " + doc.error;
    } else if (doc.root.name != "CompleteMultipartUploadResult") {
      r.status = 500;  // an <Error> in a 200: read it as the failure it is
      error_ = Failure(*client_, what, r);
    }
    co_return error_;
  }

  std::shared_ptr<const S3Client> client_;
  BlockingPool& pool_;  // outlives the backend and its writers (the daemon's)
  std::string key_;
  std::string where_;  // s3://bucket/prefix/key, for messages
  std::string buffer_;
  std::string upload_id_;
  std::vector<std::string> etags_;
  std::uint64_t written_ = 0;
  std::string error_;  // the writer is dead once set
  bool committed_ = false;
};

}  // namespace

asio::awaitable<WriterResult> S3Backend::OpenWriter(std::string key) {
  // Nothing is sent before the first part or the commit.
  co_return WriterResult{"", std::make_unique<S3Writer>(client_, pool_, key, Locate(key))};
}

// ---- streaming downloads ---------------------------------------------------------

namespace {

// A local file descriptor, closed by whoever holds it last: a pool job still
// writing after the loop gave up keeps it open until it returns.
struct LocalFile {
  int fd = -1;
  ~LocalFile() {
    if (fd >= 0) ::close(fd);
  }
};

std::string Fail(std::string_view what, const std::string& path, int error) {
  return std::string(what) + " " + path + ": " + std::generic_category().message(error);
}

std::string WriteFd(int fd, const std::string& data, const std::string& path) {
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Fail("write", path, errno);
    done += static_cast<std::size_t>(n);
  }
  return "";
}

// What a download shares with its body sink (both live in GetToFile's frame).
struct Download {
  BlockingPool& pool;
  std::shared_ptr<LocalFile> file;
  std::string path;
  std::string where;  // "GET s3://…"
  std::uint64_t max_bytes = 0;
  std::uint64_t received = 0;
  std::string pending;     // received, not yet written
  std::string error_body;  // the body of an error status, for its reason
  std::string error;       // why the sink stopped the transfer
};

// Hands `file` to the pool on the way out, so its close never runs on the loop.
struct ReleaseOnPool {
  BlockingPool& pool;
  std::shared_ptr<LocalFile> file;
  ~ReleaseOnPool() {
    pool.Post([file = std::move(file)]() mutable { file.reset(); });
  }
};

asio::awaitable<std::string> FileJob(Download& d, std::string data, bool finish) {
  auto job = [file = d.file, data = std::move(data), path = d.path, finish] {
    std::string error = WriteFd(file->fd, data, path);
    if (error.empty() && finish && ::fsync(file->fd) != 0) error = Fail("fsync", path, errno);
    if (finish && ::close(std::exchange(file->fd, -1)) != 0 && error.empty()) error = Fail("close", path, errno);
    return error;
  };
  auto discard = [](std::string) {};
  std::optional<std::string> done = co_await RunBlocking(d.pool, std::move(job), discard);
  co_return done ? std::move(*done) : std::string(kCancelled);
}

asio::awaitable<std::string> SinkChunk(Download& d, const net::HttpResult& head, std::string_view data) {
  if (head.status < 200 || head.status >= 300) {
    d.error_body.append(data.substr(0, kErrorBodyLimit - std::min(kErrorBodyLimit, d.error_body.size())));
    co_return "";
  }
  // Content-Length, when sent, refuses an object too large before any write.
  std::uint64_t announced = 0;
  std::string_view length = head.Header("Content-Length");
  std::from_chars(length.data(), length.data() + length.size(), announced);
  d.received += data.size();
  if (d.received > d.max_bytes || announced > d.max_bytes) {
    d.error = d.where + ": larger than " + std::to_string(d.max_bytes) + " bytes";
    co_return d.error;
  }
  d.pending.append(data);
  if (d.pending.size() < kFileChunk) co_return "";
  std::string chunk = std::exchange(d.pending, {});
  std::string error = co_await FileJob(d, std::move(chunk), false);
  if (!error.empty()) d.error = error;
  co_return error;
}

asio::awaitable<std::optional<std::shared_ptr<LocalFile>>> OpenLocal(BlockingPool& pool, std::string path,
                                                                     std::string& error) {
  auto open = [path] {
    auto file = std::make_shared<LocalFile>();
    file->fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    return std::pair{file, file->fd < 0 ? Fail("open", path, errno) : std::string()};
  };
  auto discard = [](auto) {};
  auto opened = co_await RunBlocking(pool, std::move(open), discard);
  if (!opened) {
    error = std::string(kCancelled);
    co_return std::nullopt;
  }
  error = opened->second;
  if (!error.empty()) co_return std::nullopt;
  co_return opened->first;
}

}  // namespace

asio::awaitable<Status> S3Backend::GetToFile(std::string key, std::string path, std::uint64_t max_bytes) {
  std::string open_error;
  auto file = co_await OpenLocal(pool_, path, open_error);
  if (!file) co_return Status{open_error};
  Download d{pool_, *file, path, "GET " + Locate(key), max_bytes, 0, {}, {}, {}};
  ReleaseOnPool release{pool_, *file};
  S3Request request = client_->requests.GetObject(key);
  net::HttpRequestSpec spec = ToHttp(*client_, std::move(request), kErrorBodyLimit);
  spec.body_sink = [&d](const net::HttpResult& head, std::string_view data) { return SinkChunk(d, head, data); };
  auto executor = co_await asio::this_coro::executor;
  net::HttpResult r = co_await net::Fetch(executor, std::move(spec));
  if (!d.error.empty()) co_return Status{d.error};
  r.body = std::move(d.error_body);
  std::string error = Failure(*client_, d.where, r);
  if (!error.empty()) co_return Status{error};
  std::string rest = std::exchange(d.pending, {});
  std::string finished = co_await FileJob(d, std::move(rest), true);
  co_return Status{finished};
}

}  // namespace drwatch::storage
