#include "backup/digest.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <system_error>

namespace drwatch::backup {

DigestResult HashFileBlocking(const std::string& path) {
  DigestResult out;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    out.error = "read " + path + ": " + std::generic_category().message(errno);
    return out;
  }
  Sha256 sha;
  std::string buffer(64 * 1024, '\0');
  for (;;) {
    ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) out.error = "read " + path + ": " + std::generic_category().message(errno);
    if (n <= 0) break;
    sha.Update(std::string_view(buffer.data(), static_cast<std::size_t>(n)));
    out.size += static_cast<std::uint64_t>(n);
  }
  ::close(fd);
  if (out.error.empty()) out.sha256 = sha.HexDigest();
  return out;
}

namespace {

std::string TempDir() {
  const char* dir = std::getenv("TMPDIR");
  return dir && *dir ? dir : "/tmp";
}

// The temp file goes away however the coroutine ends (a cancelled download
// may still be writing it on the pool: unlinking the name is safe then).
struct TempFile {
  BlockingPool& pool;
  std::string path;
  ~TempFile() {
    if (!path.empty()) pool.Post([path = path] { ::unlink(path.c_str()); });
  }
};

}  // namespace

boost::asio::awaitable<DigestResult> HashStoredObject(storage::Backend& store, BlockingPool& pool, std::string key,
                                                      std::uint64_t max_bytes) {
  DigestResult out;
  struct Made {
    std::string path, error;
  };
  auto make = [dir = TempDir()]() -> Made {
    std::string templ = dir + "/drwatch-verify-XXXXXX";
    int fd = ::mkstemp(templ.data());
    if (fd < 0) return {"", "cannot create a temp file in " + dir + ": " + std::generic_category().message(errno)};
    ::close(fd);
    return {templ, ""};
  };
  auto drop = [](Made made) {
    if (!made.path.empty()) ::unlink(made.path.c_str());
  };
  std::optional<Made> made = co_await RunBlocking(pool, std::move(make), drop);
  if (!made || !made->error.empty()) {
    out.error = made ? made->error : std::string(storage::kCancelled);
    co_return out;
  }
  TempFile temp{pool, made->path};
  storage::Status copied = co_await store.GetToFile(key, temp.path, max_bytes);
  if (!copied.ok()) {
    out.error = copied.error;
    co_return out;
  }
  auto hash = [path = temp.path] { return HashFileBlocking(path); };
  auto ignore = [](DigestResult) {};
  std::optional<DigestResult> hashed = co_await RunBlocking(pool, std::move(hash), ignore);
  if (!hashed) {
    out.error = std::string(storage::kCancelled);
    co_return out;
  }
  co_return std::move(*hashed);
}

}  // namespace drwatch::backup
