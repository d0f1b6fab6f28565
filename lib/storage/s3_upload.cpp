// S3Backend::OpenWriter: streaming writes, one PUT or a multipart upload.
#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

#include "common/crypto.hpp"
#include "storage/s3_backend.hpp"
#include "storage/s3_internal.hpp"
#include "storage/s3_xml.hpp"

namespace drwatch::storage {

using namespace s3_detail;

namespace {

namespace asio = boost::asio;

constexpr int kMaxParts = 10000;  // S3's limit

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

}  // namespace drwatch::storage
