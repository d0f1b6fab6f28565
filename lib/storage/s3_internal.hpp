#pragma once
// What the pieces of the S3 backend share: the client every request of one
// target uses and sending a request. Only for lib/storage/s3_*.cpp.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "net/http_client.hpp"
#include "storage/s3_backend.hpp"

namespace drwatch::storage {

struct S3Client {
  S3Requests requests;
  std::shared_ptr<const net::TlsClientConfig> tls;
  boost::asio::any_io_executor executor;
  std::size_t page_size = 0;
};

namespace s3_detail {

constexpr std::size_t kErrorBodyLimit = 64 * 1024;

// What the reason says a failed request was about.
enum class Scope { kBucket, kObject };

net::HttpRequestSpec ToHttp(const S3Client& client, S3Request request, std::size_t body_limit);

boost::asio::awaitable<net::HttpResult> Send(const S3Client& client, S3Request request, std::size_t body_limit);

// "" for a 2xx answer; else "<what>: <why>", or kCancelled.
std::string Failure(const S3Client& client, std::string_view what, const net::HttpResult& r,
                    Scope scope = Scope::kObject);

// Sends `request` with nobody waiting for it, bounded by S3Backend::kDetachedTimeout.
void SpawnDetached(const std::shared_ptr<const S3Client>& client, S3Request request);

}  // namespace s3_detail
}  // namespace drwatch::storage
