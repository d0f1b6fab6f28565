// S3Backend::GetToFile: a download streamed to a local file, written on the pool.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/this_coro.hpp>
#include <cerrno>
#include <charconv>
#include <optional>
#include <system_error>
#include <utility>

#include "storage/s3_backend.hpp"
#include "storage/s3_internal.hpp"

namespace drwatch::storage {

using namespace s3_detail;

namespace {

namespace asio = boost::asio;

// Download bytes gathered before each write to the local file.
constexpr std::size_t kFileChunk = 1024 * 1024;

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
