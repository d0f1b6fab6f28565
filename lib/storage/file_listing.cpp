// FileBackend::List and ListDirectories: a walk of the directories a pattern can match.
#include <dirent.h>
#include <sys/stat.h>

#include <cerrno>

#include "storage/file_internal.hpp"
#include "storage/pattern.hpp"

namespace drwatch::storage {

namespace asio = boost::asio;
using namespace file_detail;

namespace {

std::chrono::system_clock::time_point MTime(const struct stat& st) {
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::seconds(st.st_mtim.tv_sec) + std::chrono::nanoseconds(st.st_mtim.tv_nsec)));
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

}  // namespace drwatch::storage
