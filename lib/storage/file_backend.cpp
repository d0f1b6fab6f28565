// FileBackend: whole-object reads and writes, deletes and free space; the
// listing is in file_listing.cpp, streaming writes and downloads in file_writer.cpp.
#include "storage/file_backend.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>  // renameat2
#include <system_error>

#include "storage/file_internal.hpp"

namespace drwatch::storage {

namespace asio = boost::asio;

namespace file_detail {

namespace {
std::string ErrnoText(int error) { return std::generic_category().message(error); }
}  // namespace

std::string Fail(std::string_view what, const std::string& path, int error) {
  return std::string(what) + " " + path + ": " + ErrnoText(error);
}

std::string Join(const std::string& root, std::string_view key) {
  if (key.empty()) return root;
  return root == "/" ? "/" + std::string(key) : root + "/" + std::string(key);
}

std::string CheckRoot(const std::string& root) {
  struct stat st {};
  if (::stat(root.c_str(), &st) != 0) {
    if (errno == ENOENT) return "path " + root + " does not exist";
    return Fail("stat", root, errno);
  }
  if (!S_ISDIR(st.st_mode)) return "path " + root + " is not a directory";
  return "";
}

// mkdir -p of the directories of `path` below `root` (which exists).
std::string MakeParents(const std::string& root, const std::string& path) {
  for (auto slash = path.find('/', root.size() + 1); slash != std::string::npos;
       slash = path.find('/', slash + 1)) {
    std::string dir = path.substr(0, slash);
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) return Fail("mkdir", dir, errno);
  }
  return "";
}

// The hidden temp file of a write of `path`: ".NAME.partial-XXXXXX" next to
// it, left out of listings; retention removes one a crash left behind.
std::string TempTemplate(const std::string& path) {
  auto slash = path.rfind('/');
  return path.substr(0, slash + 1) + "." + path.substr(slash + 1) + ".partial-XXXXXX";
}

// A rename is durable only once its directory is.
std::string SyncDirectoryOf(const std::string& path) {
  std::string dir = path.substr(0, path.rfind('/'));
  if (dir.empty()) dir = "/";
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return Fail("open", dir, errno);
  std::string error;
  if (::fsync(dfd) != 0) error = Fail("fsync", dir, errno);
  ::close(dfd);
  return error;
}

}  // namespace file_detail

using namespace file_detail;

namespace {

// Moves `temp` to `path` unless `path` exists. RENAME_NOREPLACE is atomic;
// file systems without it (NFS) get link + unlink, which is too.
int RenameNoReplace(const std::string& temp, const std::string& path) {
  if (::renameat2(AT_FDCWD, temp.c_str(), AT_FDCWD, path.c_str(), RENAME_NOREPLACE) == 0) return 0;
  if (errno != EINVAL && errno != ENOSYS) return errno;
  if (::link(temp.c_str(), path.c_str()) != 0) return errno;
  ::unlink(temp.c_str());
  return 0;
}

// All of `data`, or the whole object left as it was: temp file, fsync,
// rename, fsync of the directory.
std::string WriteAll(const std::string& path, const std::string& data) {
  std::string temp = TempTemplate(path);
  int fd = ::mkostemp(temp.data(), O_CLOEXEC);
  if (fd < 0) return Fail("write", path, errno);
  ::fchmod(fd, 0644);
  std::size_t done = 0;
  std::string error;
  while (done < data.size() && error.empty()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno != EINTR) error = Fail("write", path, errno);
    if (n > 0) done += static_cast<std::size_t>(n);
  }
  if (error.empty() && ::fsync(fd) != 0) error = Fail("fsync", path, errno);
  if (::close(fd) != 0 && error.empty()) error = Fail("close", path, errno);
  if (int e = error.empty() ? RenameNoReplace(temp, path) : 0; e != 0) error = Fail("write", path, e);
  if (!error.empty()) {
    ::unlink(temp.c_str());
    return error;
  }
  return SyncDirectoryOf(path);
}

GetResult ReadAll(const std::string& path, std::size_t max_bytes) {
  GetResult out;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    out.error = Fail("read", path, errno);
    return out;
  }
  char buffer[8192];
  for (;;) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) out.error = Fail("read", path, errno);
    if (n <= 0) break;
    out.data.append(buffer, static_cast<std::size_t>(n));
    if (out.data.size() > max_bytes) {
      out.error = "read " + path + ": larger than " + std::to_string(max_bytes) + " bytes";
      break;
    }
  }
  ::close(fd);
  return out;
}

}  // namespace

FileBackend::FileBackend(BlockingPool& pool, std::string root) : pool_(pool), root_(std::move(root)) {}

std::string FileBackend::Describe() const { return "file://" + root_; }

std::string FileBackend::Locate(std::string_view key) const { return Join(root_, key); }

asio::awaitable<Status> FileBackend::Check() {
  return Blocking<Status>([root = root_](const Job&) { return Status{CheckRoot(root)}; },
                          Ignore<Status>);
}

asio::awaitable<Status> FileBackend::Put(std::string key, std::string data) {
  std::string path = Locate(key);
  // A write abandoned at the deadline removes its own file once it lands.
  return Blocking<Status>(
      [root = root_, path, data = std::move(data)](const Job&) {
        if (auto error = CheckRoot(root); !error.empty()) return Status{error};
        if (auto error = MakeParents(root, path); !error.empty()) return Status{error};
        return Status{WriteAll(path, data)};
      },
      [path](const Status& s) {
        if (s.ok()) ::unlink(path.c_str());
      });
}

asio::awaitable<GetResult> FileBackend::Get(std::string key, std::size_t max_bytes) {
  return Blocking<GetResult>([path = Locate(key), max_bytes](const Job&) { return ReadAll(path, max_bytes); },
                             Ignore<GetResult>);
}

asio::awaitable<Status> FileBackend::Delete(std::string key) {
  return Blocking<Status>(
      [path = Locate(key)](const Job&) {
        return Status{::unlink(path.c_str()) == 0 ? "" : Fail("delete", path, errno)};
      },
      Ignore<Status>);
}

void FileBackend::DeleteDetached(std::string key) {
  pool_.Post([path = Locate(key)] { ::unlink(path.c_str()); });
}

asio::awaitable<Status> FileBackend::RemoveDirectory(std::string key) {
  return Blocking<Status>(
      [path = Locate(key)](const Job&) {
        if (::rmdir(path.c_str()) == 0 || errno == ENOENT || errno == ENOTEMPTY || errno == EEXIST) return Status{};
        return Status{Fail("remove directory", path, errno)};
      },
      Ignore<Status>);
}

asio::awaitable<std::optional<SpaceResult>> FileBackend::FreeSpace() {
  auto call = [root = root_](const Job&) {
    SpaceResult out;
    struct statvfs vfs {};
    if (::statvfs(root.c_str(), &vfs) != 0) {
      out.error = Fail("statvfs", root, errno);
      return out;
    }
    out.free_bytes = static_cast<std::uint64_t>(vfs.f_bavail) * vfs.f_frsize;
    out.free_inodes = vfs.f_favail;
    return out;
  };
  auto ignore = Ignore<SpaceResult>;
  SpaceResult space = co_await Blocking<SpaceResult>(std::move(call), ignore);
  co_return space;
}

}  // namespace drwatch::storage
