#include "probes/history.hpp"

#include <sys/stat.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/atomic_file.hpp"
#include "metrics/families.hpp"

namespace drwatch::probes {
namespace json = boost::json;

namespace {

constexpr int kFormat = 1;
constexpr std::size_t kMaxFileBytes = 1 << 20;  // a history file is a few KiB
constexpr char kDurationSubject[] = "duration";

std::vector<double> Numbers(const json::value& v) {
  std::vector<double> out;
  for (const auto& item : v.as_array()) out.push_back(item.to_number<double>());
  return out;
}

}  // namespace

double Median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  std::size_t n = values.size();
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

Judgement Observe(SubjectHistory& history, double value, double floor, const BaselinePolicy& policy) {
  Judgement out;
  auto keep = [&] {
    history.samples.push_back(value);
    auto excess = static_cast<std::ptrdiff_t>(history.samples.size()) - std::max(1, policy.window);
    if (excess > 0) history.samples.erase(history.samples.begin(), history.samples.begin() + excess);
  };
  if (static_cast<int>(history.samples.size()) < policy.warmup) {
    history.above = 0;
    keep();
    return out;
  }
  out.baseline = Median(history.samples);
  out.ratio = value / std::max(*out.baseline, floor);
  out.above = *out.ratio > policy.factor;
  if (out.above) {
    ++history.above;
  } else {
    history.above = 0;
    keep();
  }
  out.failing = history.above >= policy.for_runs;
  return out;
}

std::optional<double> DurationRatio(SubjectHistory& history, double seconds) {
  std::optional<double> ratio;
  if (history.samples.size() >= kDurationWarmup) {
    double median = Median(history.samples);
    if (median > 0) ratio = seconds / median;
  }
  history.samples.push_back(seconds);
  if (history.samples.size() > kDurationRuns) {
    history.samples.erase(history.samples.begin(), history.samples.end() - kDurationRuns);
  }
  return ratio;
}

std::string EncodeHistory(const std::string& check, const History& history) {
  json::object subjects;
  for (const auto& [name, s] : history.subjects) {
    json::array samples(s.samples.begin(), s.samples.end());
    subjects[name] = json::object{{"samples", std::move(samples)}, {"above", s.above}};
  }
  json::object counters;
  for (const auto& [name, v] : history.counters) counters[name] = v;
  json::object o{{"format", kFormat},
                 {"check", check},
                 {"subjects", std::move(subjects)},
                 {"counters", std::move(counters)}};
  return json::serialize(o) + "\n";
}

std::optional<History> DecodeHistory(std::string_view text, const std::string& check, std::string& error) {
  auto o = ParseCheckFile(text, check, kFormat, "history", error);
  if (!o) return std::nullopt;
  try {
    History h;
    for (const auto& [name, v] : o->at("subjects").as_object()) {
      const auto& s = v.as_object();
      SubjectHistory& subject = h.subjects[std::string(name)];
      subject.samples = Numbers(s.at("samples"));
      subject.above = s.at("above").to_number<int>();
    }
    for (const auto& [name, v] : o->at("counters").as_object()) h.counters[std::string(name)] = v.to_number<double>();
    return h;
  } catch (const std::exception& e) {
    error = std::string("not a drwatch history file: ") + e.what();
    return std::nullopt;
  }
}

std::string HistoryPath(const std::string& storage_path, const std::string& check) {
  std::string root = storage_path;
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  return root + "/history/" + check + ".json";
}

History LoadHistory(const std::string& storage_path, const std::string& check, std::string& error) {
  std::string path = HistoryPath(storage_path, check);
  std::string text, why;
  std::int64_t mtime = 0;
  switch (ReadSmallFile(path, kMaxFileBytes, text, mtime, why)) {
    case SmallFile::kMissing: return {};
    case SmallFile::kUnreadable: error = why; return {};
    case SmallFile::kTooLarge: break;
    case SmallFile::kRead:
      if (auto loaded = DecodeHistory(text, check, why)) return std::move(*loaded);
      break;
  }
  error = path + ": " + why + "; " + SetAside(path) + "; the history starts afresh";
  return {};
}

bool SaveHistory(const std::string& storage_path, const std::string& check, const History& history,
                 std::string& error) {
  std::string path = HistoryPath(storage_path, check);
  std::string dir = path.substr(0, path.rfind('/'));
  for (const auto& d : {dir.substr(0, dir.rfind('/')), dir}) {
    if (::mkdir(d.c_str(), 0755) != 0 && errno != EEXIST) {
      error = "cannot create " + d + ": " + std::strerror(errno);
      return false;
    }
  }
  return WriteFileAtomically(path, EncodeHistory(check, history), error);
}

boost::asio::awaitable<History> LoadHistoryOffLoop(RunContext& ctx) {
  if (ctx.storage_path.empty()) co_return History{};
  struct Loaded {
    History history;
    std::string error;
  };
  auto load = [root = ctx.storage_path, check = std::string(ctx.check_name)] {
    Loaded l;
    l.history = LoadHistory(root, check, l.error);
    return l;
  };
  std::optional<Loaded> loaded =
      co_await RunBlocking(ctx.pool, std::move(load), [](Loaded) {}, boost::asio::use_awaitable);
  if (!loaded) co_return History{};
  if (!loaded->error.empty()) spdlog::warn("check {}: history not restored: {}", ctx.check_name, loaded->error);
  co_return std::move(loaded->history);
}

boost::asio::awaitable<void> SaveHistoryOffLoop(RunContext& ctx, History history) {
  if (ctx.storage_path.empty()) co_return;
  auto save = [root = ctx.storage_path, check = std::string(ctx.check_name), history = std::move(history)] {
    std::string error;
    SaveHistory(root, check, history, error);
    return error;
  };
  std::optional<std::string> error =
      co_await RunBlocking(ctx.pool, std::move(save), [](std::string) {}, boost::asio::use_awaitable);
  if (error && !error->empty()) {
    spdlog::warn("check {}: history not saved (it will not survive a restart): {}", ctx.check_name, *error);
  }
}

boost::asio::awaitable<void> AddDurationRatio(RunContext& ctx, double seconds, std::string_view what,
                                              ProbeResult& out) {
  if (ctx.storage_path.empty()) co_return;
  History history = co_await LoadHistoryOffLoop(ctx);
  SubjectHistory& durations = history.subjects[kDurationSubject];
  double median = Median(durations.samples);
  std::size_t prior = durations.samples.size();
  std::optional<double> ratio = DurationRatio(durations, seconds);
  co_await SaveHistoryOffLoop(ctx, std::move(history));
  if (!ratio) co_return;
  out.samples.push_back(metrics::kBackupDurationRatio.Make(*ratio));
  if (*ratio > kSlowRunFactor) {
    spdlog::warn("check {}: {} took {:.3f}s, {:.1f}x the median {:.3f}s of its last {} runs", ctx.check_name, what,
                 seconds, *ratio, median, prior);
  }
}

}  // namespace drwatch::probes
