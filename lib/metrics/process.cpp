#include "metrics/process.hpp"

#include "metrics/families.hpp"

#include <dirent.h>
#include <unistd.h>

#include <fstream>
#include <cstdlib>
#include <limits>
#include <optional>
#include <sstream>
#include <string>

namespace drwatch::metrics {
namespace {

struct ProcStat {
  double utime_ticks = 0;
  double stime_ticks = 0;
  double start_ticks = 0;  // since boot
  double vsize_bytes = 0;
  double rss_pages = 0;
};

std::optional<std::string> ReadFile(const char* path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The command name (field 2) may contain spaces and parentheses, so fields
// are counted from the last ')'; after it comes field 3 (state).
std::optional<ProcStat> ReadProcStat() {
  auto text = ReadFile("/proc/self/stat");
  if (!text) return std::nullopt;
  auto close = text->rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream fields(text->substr(close + 1));
  std::string field;
  ProcStat stat;
  for (int number = 3; fields >> field && number <= 24; ++number) {
    switch (number) {
      case 14: stat.utime_ticks = std::stod(field); break;
      case 15: stat.stime_ticks = std::stod(field); break;
      case 22: stat.start_ticks = std::stod(field); break;
      case 23: stat.vsize_bytes = std::stod(field); break;
      case 24: stat.rss_pages = std::stod(field); return stat;
      default: break;
    }
  }
  return std::nullopt;
}

// /proc/stat is long on big machines and btime never changes: read it once.
std::optional<double> BootTimeSeconds() {
  static const std::optional<double> kBootTime = []() -> std::optional<double> {
    std::ifstream in("/proc/stat");
    std::string key;
    double value = 0;
    while (in >> key) {
      if (key == "btime" && in >> value) return value;
      in.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
    }
    return std::nullopt;
  }();
  return kBootTime;
}

std::optional<double> CountOpenFds() {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return std::nullopt;
  int own_fd = dirfd(dir);
  double count = 0;
  while (const dirent* entry = readdir(dir)) {
    if (entry->d_name[0] == '.') continue;
    if (std::atoi(entry->d_name) == own_fd) continue;
    ++count;
  }
  closedir(dir);
  return count;
}

// "Max open files            1024                 524288               files"
std::optional<double> MaxFdsSoftLimit() {
  std::ifstream in("/proc/self/limits");
  static constexpr std::string_view kPrefix = "Max open files";
  for (std::string line; std::getline(in, line);) {
    if (line.compare(0, kPrefix.size(), kPrefix) != 0) continue;
    std::istringstream rest(line.substr(kPrefix.size()));
    double soft = 0;
    if (rest >> soft) return soft;  // "unlimited" fails to parse: left out
    return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace

void AppendProcessSamples(std::vector<Sample>& out) {
  static const double kTicksPerSecond = static_cast<double>(sysconf(_SC_CLK_TCK));
  static const double kPageSize = static_cast<double>(sysconf(_SC_PAGESIZE));
  std::optional<ProcStat> stat;
  try {
    stat = ReadProcStat();
  } catch (const std::exception&) {  // std::stod on a malformed field
  }
  if (stat) {
    out.push_back(kProcessCpuSecondsTotal.Make((stat->utime_ticks + stat->stime_ticks) / kTicksPerSecond));
    out.push_back(kProcessResidentMemoryBytes.Make(stat->rss_pages * kPageSize));
    out.push_back(kProcessVirtualMemoryBytes.Make(stat->vsize_bytes));
    if (auto boot = BootTimeSeconds()) {
      out.push_back(kProcessStartTimeSeconds.Make(*boot + stat->start_ticks / kTicksPerSecond));
    }
  }
  if (auto open = CountOpenFds()) {
    out.push_back(kProcessOpenFds.Make(*open));
  }
  if (auto max = MaxFdsSoftLimit()) {
    out.push_back(kProcessMaxFds.Make(*max));
  }
}

}  // namespace drwatch::metrics
