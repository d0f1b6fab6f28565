#include "storage/file_backend.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>  // renameat2
#include <cstring>
#include <mutex>
#include <system_error>

#include "storage/pattern.hpp"

namespace drwatch::storage {

// The first of "finished" (pool thread) and "abandoned" (loop, at the
// deadline) decides who accounts for the call: an abandoned call counts as
// stuck until it finishes.
struct FileBackend::Job {
  std::mutex mu;
  bool finished = false;
  std::atomic<bool> abandoned{false};  // also read by long walks, to stop early

  // Returns true when the loop gave up on the call.
  bool Finish(std::atomic<int>& stuck) {
    std::lock_guard lock(mu);
    finished = true;
    if (abandoned) --stuck;
    return abandoned;
  }
  void Abandon(std::atomic<int>& stuck) {
    std::lock_guard lock(mu);
    if (finished) return;
    abandoned = true;
    ++stuck;
  }
};

namespace {

namespace asio = boost::asio;

std::string ErrnoText(int error) { return std::generic_category().message(error); }

std::string Fail(std::string_view what, const std::string& path, int error) {
  return std::string(what) + " " + path + ": " + ErrnoText(error);
}

std::chrono::system_clock::time_point MTime(const struct stat& st) {
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::seconds(st.st_mtim.tv_sec) + std::chrono::nanoseconds(st.st_mtim.tv_nsec)));
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

// Walks the directories a pattern can match, at most `depth` levels deep,
// never following a symbolic link to a directory (so no loops).
class Walker {
 public:
  // `directories`: list the directories that match instead of the files.
  Walker(const std::string& root, const std::string& pattern, std::size_t max_entries,
         const std::atomic<bool>& abandoned, bool directories = false)
      : root_(root), pattern_(pattern), depth_(PatternDepth(pattern)), max_entries_(max_entries),
        abandoned_(abandoned), directories_(directories) {}

  ListResult Run() {
    std::string start = LiteralDirectory(pattern_);
    if (!start.empty()) start.pop_back();  // "daily/" → "daily"
    Walk(start, start.empty() ? 0 : PatternDepth(start));
    return std::move(out_);
  }

 private:
  // `key_dir`: the directory relative to the root ("" for the root);
  // `level`: its depth (0 for the root).
  void Walk(const std::string& key_dir, std::size_t level) {
    std::string dir_path = Join(root_, key_dir);
    DIR* dir = ::opendir(dir_path.c_str());
    if (!dir) {
      // A literal directory of the pattern that does not exist: no objects.
      if (errno != ENOENT || key_dir.empty()) out_.error = Fail("list", dir_path, errno);
      return;
    }
    while (out_.error.empty()) {
      errno = 0;
      struct dirent* entry = ::readdir(dir);
      if (!entry) {
        if (errno != 0) out_.error = Fail("list", dir_path, errno);
        break;
      }
      std::string_view name = entry->d_name;
      if (name == "." || name == "..") continue;
      if (++visited_ > max_entries_) {
        out_.error = "more than " + std::to_string(max_entries_) + " entries under " +
                     Join(root_, LiteralDirectory(pattern_)) + " (narrow the pattern)";
        break;
      }
      if (abandoned_) {
        out_.error = std::string(kCancelled);
        break;
      }
      Visit(key_dir.empty() ? std::string(name) : key_dir + "/" + std::string(name), level + 1);
    }
    ::closedir(dir);
  }

  void Visit(const std::string& key, std::size_t level) {
    std::string path = Join(root_, key);
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) return;  // removed meanwhile
    if (S_ISDIR(st.st_mode)) {
      if (level < depth_ && PatternMatches(PatternPrefix(pattern_, level), key)) Walk(key, level);
      if (directories_ && level == depth_ && PatternMatches(pattern_, key)) {
        out_.objects.push_back({key, 0, MTime(st)});
      }
      return;
    }
    if (directories_ || level != depth_ || !PatternMatches(pattern_, key)) return;
    if (S_ISLNK(st.st_mode) && ::stat(path.c_str(), &st) != 0) return;  // dangling
    if (!S_ISREG(st.st_mode)) return;
    out_.objects.push_back({key, static_cast<std::uint64_t>(st.st_size), MTime(st)});
  }

  const std::string& root_;
  const std::string& pattern_;
  std::size_t depth_;
  std::size_t max_entries_;
  const std::atomic<bool>& abandoned_;
  bool directories_;
  std::size_t visited_ = 0;
  ListResult out_;
};

}  // namespace

FileBackend::FileBackend(BlockingPool& pool, std::string root) : pool_(pool), root_(std::move(root)) {}

std::string FileBackend::Describe() const { return "file://" + root_; }

std::string FileBackend::Locate(std::string_view key) const { return Join(root_, key); }

// The public operations are plain functions returning Blocking's awaitable,
// and Blocking names its lambdas: GCC 12 destroys a lambda temporary in a
// co_await expression twice.
template <typename T, typename F, typename D>
asio::awaitable<T> FileBackend::Blocking(F fn, D on_abandoned) {
  if (int stuck = stuck_->load(); stuck >= kMaxStuck) {
    T out;
    out.error = std::to_string(stuck) + " earlier file-system calls on " + root_ +
                " are still hanging (is the mount stuck?)";
    co_return out;
  }
  auto job = std::make_shared<Job>();
  auto stuck = stuck_;
  auto call = [fn = std::move(fn), on_abandoned = std::move(on_abandoned), job, stuck]() mutable {
    T value = fn(*job);
    if (job->Finish(*stuck)) on_abandoned(value);
    return value;
  };
  auto discard = [](T) {};
  auto result = co_await RunBlocking(pool_, std::move(call), discard);
  if (!result) {
    job->Abandon(*stuck_);
    T out;
    out.error = std::string(kCancelled);
    co_return out;
  }
  co_return std::move(*result);
}

namespace {
void Ignore(const auto&) {}
}  // namespace

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

asio::awaitable<ListResult> FileBackend::Walk(std::string pattern, std::size_t max_entries, bool directories) {
  return Blocking<ListResult>(
      [root = root_, pattern = std::move(pattern), max_entries, directories](const Job& job) {
        if (auto error = CheckRoot(root); !error.empty()) return ListResult{error, {}};
        return Walker(root, pattern, max_entries, job.abandoned, directories).Run();
      },
      Ignore<ListResult>);
}

asio::awaitable<ListResult> FileBackend::List(std::string pattern, std::size_t max_entries) {
  return Walk(std::move(pattern), max_entries, false);
}

asio::awaitable<ListResult> FileBackend::ListDirectories(std::string pattern, std::size_t max_entries) {
  return Walk(std::move(pattern), max_entries, true);
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

// A streaming write: a hidden temp file next to the target (".NAME.partial-XXXXXX",
// left out of every listing), renamed into place by Commit. The descriptor
// lives in State, behind a mutex, because a write abandoned at a deadline may
// still be running on the pool when the writer is destroyed.
class FileWriter final : public Writer {
 public:
  struct State {
    std::mutex mu;
    int fd = -1;
    std::string temp;  // removed unless committed
    std::string path;  // the object's final path, for messages
  };

  FileWriter(FileBackend& backend, std::shared_ptr<State> state) : backend_(backend), state_(std::move(state)) {}

  ~FileWriter() override {
    if (committed_) return;
    backend_.pool_.Post([state = state_] {
      std::lock_guard lock(state->mu);
      if (state->fd >= 0) ::close(state->fd);
      state->fd = -1;
      ::unlink(state->temp.c_str());
    });
  }

  asio::awaitable<Status> Write(std::string data) override {
    if (!dead_.empty()) co_return Status{dead_};
    std::size_t size = data.size();
    auto call = [state = state_, data = std::move(data)](const FileBackend::Job&) {
      std::lock_guard lock(state->mu);
      std::size_t done = 0;
      while (done < data.size()) {
        ssize_t n = ::write(state->fd, data.data() + done, data.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return Status{Fail("write", state->path, errno)};
        done += static_cast<std::size_t>(n);
      }
      return Status{};
    };
    Status status = co_await backend_.Blocking<Status>(std::move(call), Ignore<Status>);
    if (!status.ok()) dead_ = status.error;
    if (status.ok()) written_ += size;
    co_return status;
  }

  asio::awaitable<Status> Commit() override {
    if (!dead_.empty()) co_return Status{dead_};
    auto call = [state = state_](const FileBackend::Job&) {
      std::lock_guard lock(state->mu);
      return Status{CommitBlocking(*state)};
    };
    // A commit that lands after its deadline takes the object back: the run was given up.
    auto undo = [path = state_->path](const Status& s) {
      if (s.ok()) ::unlink(path.c_str());
    };
    Status status = co_await backend_.Blocking<Status>(std::move(call), undo);
    if (status.ok()) committed_ = true;
    else dead_ = status.error;
    co_return status;
  }

  std::uint64_t written() const override { return written_; }

 private:
  static std::string CommitBlocking(State& state) {
    std::string error;
    if (::fsync(state.fd) != 0) error = Fail("fsync", state.path, errno);
    if (::close(state.fd) != 0 && error.empty()) error = Fail("close", state.path, errno);
    state.fd = -1;
    if (error.empty() && ::rename(state.temp.c_str(), state.path.c_str()) != 0) {
      error = Fail("rename", state.path, errno);
    }
    if (!error.empty()) {
      ::unlink(state.temp.c_str());
      return error;
    }
    return SyncDirectoryOf(state.path);
  }

  FileBackend& backend_;
  std::shared_ptr<State> state_;
  std::string dead_;
  bool committed_ = false;
  std::uint64_t written_ = 0;
};

namespace {

// Creates the temp file of a writer of `path` (directories included).
std::string OpenTemp(const std::string& root, FileWriter::State& state) {
  if (auto error = CheckRoot(root); !error.empty()) return error;
  if (auto error = MakeParents(root, state.path); !error.empty()) return error;
  std::string temp = TempTemplate(state.path);
  int fd = ::mkostemp(temp.data(), O_CLOEXEC);
  if (fd < 0) return Fail("write", state.path, errno);
  ::fchmod(fd, 0640);
  state.fd = fd;
  state.temp = temp;
  return "";
}

// Copies `from` into `to`, at most `max_bytes`, stopping early when abandoned.
std::string CopyFile(const std::string& from, const std::string& to, std::uint64_t max_bytes,
                     const std::atomic<bool>& abandoned) {
  int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return Fail("read", from, errno);
  struct stat st {};
  if (::fstat(in, &st) == 0 && static_cast<std::uint64_t>(st.st_size) > max_bytes) {
    ::close(in);
    return "read " + from + ": larger than " + std::to_string(max_bytes) + " bytes";
  }
  int out = ::open(to.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (out < 0) {
    ::close(in);
    return Fail("write", to, errno);
  }
  std::string error;
  std::string buffer(64 * 1024, '\0');
  std::uint64_t total = 0;
  while (error.empty()) {
    if (abandoned) error = std::string(kCancelled);
    ssize_t n = error.empty() ? ::read(in, buffer.data(), buffer.size()) : 0;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) error = Fail("read", from, errno);
    if (n <= 0) break;
    total += static_cast<std::uint64_t>(n);
    if (total > max_bytes) {
      error = "read " + from + ": larger than " + std::to_string(max_bytes) + " bytes";
      break;
    }
    for (ssize_t done = 0; done < n && error.empty();) {
      ssize_t w = ::write(out, buffer.data() + done, static_cast<std::size_t>(n - done));
      if (w < 0 && errno != EINTR) error = Fail("write", to, errno);
      if (w > 0) done += w;
    }
  }
  ::close(in);
  if (error.empty() && ::fsync(out) != 0) error = Fail("fsync", to, errno);
  if (::close(out) != 0 && error.empty()) error = Fail("close", to, errno);
  return error;
}

}  // namespace

asio::awaitable<WriterResult> FileBackend::OpenWriter(std::string key) {
  auto state = std::make_shared<FileWriter::State>();
  state->path = Locate(key);
  auto call = [root = root_, state](const Job&) { return Status{OpenTemp(root, *state)}; };
  // Opened after the deadline: nobody will write it, so it goes at once.
  auto discard = [state](const Status& s) {
    if (!s.ok()) return;
    ::close(state->fd);
    state->fd = -1;
    ::unlink(state->temp.c_str());
  };
  Status opened = co_await Blocking<Status>(std::move(call), discard);
  if (!opened.ok()) co_return WriterResult{opened.error, nullptr};
  co_return WriterResult{"", std::make_unique<FileWriter>(*this, std::move(state))};
}

asio::awaitable<Status> FileBackend::GetToFile(std::string key, std::string path, std::uint64_t max_bytes) {
  auto call = [from = Locate(key), to = std::move(path), max_bytes](const Job& job) {
    return Status{CopyFile(from, to, max_bytes, job.abandoned)};
  };
  Status copied = co_await Blocking<Status>(std::move(call), Ignore<Status>);
  co_return copied;
}

}  // namespace drwatch::storage
