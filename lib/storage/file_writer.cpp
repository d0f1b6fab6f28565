// FileBackend::OpenWriter (a streaming write through a hidden temp file) and GetToFile.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <mutex>

#include "storage/file_internal.hpp"

namespace drwatch::storage {

namespace asio = boost::asio;
using namespace file_detail;

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
