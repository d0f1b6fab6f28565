#include "common/atomic_file.hpp"

#include <fcntl.h>  // sync_file_range (a GNU extension, _GNU_SOURCE under g++)
#include <sys/stat.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <set>
#include <sstream>
#include <utility>
#include <vector>

#include <boost/json.hpp>

#include "common/iso8601.hpp"

namespace drwatch {
namespace {

std::atomic<std::uint64_t> g_temp_counter{0};

std::string DirOf(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

bool WriteAll(int fd, const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

// fsync of the directory makes the rename itself durable.
bool SyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}


}  // namespace

bool WriteFileAtomically(const std::string& path, const std::string& text, std::string& error) {
  auto errors = WriteFilesAtomically({FileWrite{path, text}});
  error = std::move(errors[0]);
  return error.empty();
}

namespace {

// One chunk of WriteFilesAtomically: at most kChunk descriptors open at once.
void WriteChunk(const FileWrite* files, std::size_t count, std::string* errors) {
  struct Temp {
    std::string path;
    int fd = -1;
  };
  std::vector<Temp> temps(count);
  auto fail = [&](std::size_t i, const std::string& path, int err) {
    errors[i] = "cannot write " + path + ": " + std::strerror(err);
    if (temps[i].fd >= 0) ::close(temps[i].fd);
    temps[i].fd = -1;
    ::unlink(temps[i].path.c_str());
  };
  // 1. Every temporary file written, and its writeback started: the
  //    filesystem allocates them all in one journal transaction.
  for (std::size_t i = 0; i < count; ++i) {
    const std::string& path = files[i].path;
    temps[i].path = path + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(g_temp_counter++);
    int fd = ::open(temps[i].path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0 && errno == ENOENT) {
      ::mkdir(DirOf(path).c_str(), 0755);  // the directory went away (or was never made): once more
      fd = ::open(temps[i].path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    }
    if (fd < 0) {
      errors[i] = "cannot write " + temps[i].path + ": " + std::strerror(errno);
      continue;
    }
    temps[i].fd = fd;
    if (!WriteAll(fd, files[i].text)) {
      fail(i, path, errno);
      continue;
    }
    ::sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);  // only a hint: the fdatasync below is the promise
  }
  // 2. Each one made durable: the first fdatasync commits the transaction
  //    that holds the others, so the rest only wait for their own pages.
  for (std::size_t i = 0; i < count; ++i) {
    if (temps[i].fd < 0) continue;
    if (::fdatasync(temps[i].fd) != 0) {
      fail(i, files[i].path, errno);
      continue;
    }
    int fd = std::exchange(temps[i].fd, -1);
    if (::close(fd) != 0) fail(i, files[i].path, errno);
  }
  // 3. Renamed over the old files, 4. each directory synced once, which
  //    makes the renames durable.
  std::set<std::string> dirs;
  for (std::size_t i = 0; i < count; ++i) {
    if (!errors[i].empty()) continue;
    if (::rename(temps[i].path.c_str(), files[i].path.c_str()) != 0) {
      fail(i, files[i].path, errno);
      continue;
    }
    dirs.insert(DirOf(files[i].path));
  }
  for (const auto& dir : dirs) {
    if (!SyncDir(dir)) spdlog::debug("fsync of {} failed: {}", dir, std::strerror(errno));
  }
}

}  // namespace

std::vector<std::string> WriteFilesAtomically(const std::vector<FileWrite>& files) {
  constexpr std::size_t kChunk = 64;
  std::vector<std::string> errors(files.size());
  for (std::size_t at = 0; at < files.size(); at += kChunk) {
    WriteChunk(files.data() + at, std::min(kChunk, files.size() - at), errors.data() + at);
  }
  return errors;
}

std::string SetAside(const std::string& path) {
  std::string aside = path + ".corrupt-" + FormatCompactUtc(std::chrono::system_clock::now());
  if (::rename(path.c_str(), aside.c_str()) == 0) return "set aside as " + aside;
  return std::string("could not set it aside: ") + std::strerror(errno);
}

SmallFile ReadSmallFile(const std::string& path, std::size_t max_bytes, std::string& text, std::int64_t& mtime_ns,
                        std::string& error) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return SmallFile::kMissing;
    error = path + ": cannot read: " + std::strerror(errno);
    return SmallFile::kUnreadable;
  }
  mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = path + ": cannot read: " + std::strerror(errno);
    return SmallFile::kUnreadable;
  }
  if (static_cast<std::size_t>(st.st_size) > max_bytes) {
    error = "larger than " + std::to_string(max_bytes) + " bytes";
    return SmallFile::kTooLarge;
  }
  std::ostringstream out;
  out << in.rdbuf();
  text = out.str();
  return SmallFile::kRead;
}

std::optional<boost::json::object> ParseCheckFile(std::string_view text, const std::string& check, int format,
                                                  std::string_view what, std::string& error) {
  namespace json = boost::json;
  json::error_code ec;
  json::value root = json::parse(text, ec);
  if (ec) {
    error = "invalid JSON: " + ec.message();
    return std::nullopt;
  }
  try {
    auto& o = root.as_object();
    if (o.at("format").to_number<int>() != format) {
      error = "unsupported format " + json::serialize(o.at("format"));
      return std::nullopt;
    }
    if (o.at("check").as_string() != check) {
      error = "it is the " + std::string(what) + " of check " + json::serialize(o.at("check"));
      return std::nullopt;
    }
    return std::move(o);
  } catch (const std::exception& e) {
    error = "not a drwatch " + std::string(what) + " file: " + e.what();
    return std::nullopt;
  }
}

}  // namespace drwatch
