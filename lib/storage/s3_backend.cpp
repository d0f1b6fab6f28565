// S3Backend: the plain requests (check, put, get, delete) and listing;
// streaming writes are in s3_upload.cpp, downloads to a file in s3_download.cpp.
#include "storage/s3_backend.hpp"

#include <algorithm>
#include <limits>
#include <utility>

#include "common/crypto.hpp"
#include "storage/pattern.hpp"
#include "storage/s3_internal.hpp"
#include "storage/s3_xml.hpp"

namespace drwatch::storage {

using namespace s3_detail;

namespace {

namespace asio = boost::asio;

// A page of 1000 keys of up to 1024 bytes each, with its XML around them.
constexpr std::size_t kListBodyLimit = 8 * 1024 * 1024;

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

}  // namespace drwatch::storage
