#include "engine/state_store.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <boost/asio/bind_executor.hpp>
#include <boost/json.hpp>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>

#include "common/atomic_file.hpp"
#include "metrics/families.hpp"

namespace drwatch::engine {
namespace json = boost::json;

namespace {

constexpr int kFormat = 1;
constexpr std::size_t kMaxFileBytes = 4 << 20;  // a state file is a few KiB

std::string Errno(int err) { return std::strerror(err); }

std::optional<RunResult> ParseRunResult(std::string_view s) {
  for (auto r : {RunResult::kSuccess, RunResult::kFailure, RunResult::kTimeout, RunResult::kSkipped}) {
    if (s == ToString(r)) return r;
  }
  return std::nullopt;
}

json::value OptionalNumber(const std::optional<double>& v) {
  return v ? json::value(*v) : json::value(nullptr);
}

json::array EncodeSamples(const std::vector<metrics::Sample>& samples) {
  json::array out;
  for (const auto& s : samples) {
    json::object labels;
    for (const auto& [k, v] : s.labels) {
      if (k == "check" || k == "target") continue;  // the runner's, re-added on load
      labels[k] = v;
    }
    out.push_back(json::object{{"name", s.name},
                               {"help", s.help},
                               {"type", s.type == metrics::MetricType::kCounter ? "counter" : "gauge"},
                               {"labels", std::move(labels)},
                               {"value", s.value}});
  }
  return out;
}

// Reads `key` as a number, null giving nullopt; throws on any other type.
std::optional<double> NumberOrNull(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (!v || v->is_null()) return std::nullopt;
  return v->to_number<double>();
}

std::vector<metrics::Sample> DecodeSamples(const json::array& in) {
  std::vector<metrics::Sample> out;
  for (const auto& item : in) {
    const auto& o = item.as_object();
    metrics::Sample s;
    s.name = json::value_to<std::string>(o.at("name"));
    s.help = json::value_to<std::string>(o.at("help"));
    s.type = o.at("type").as_string() == "counter" ? metrics::MetricType::kCounter : metrics::MetricType::kGauge;
    // A file saved by an older version may carry another HELP: the declared one wins.
    if (const metrics::Family* family = metrics::FindFamily(s.name)) {
      s.help = family->help;
      s.type = family->type;
    }
    for (const auto& [k, v] : o.at("labels").as_object()) s.labels.emplace_back(k, json::value_to<std::string>(v));
    s.value = o.at("value").to_number<double>();
    out.push_back(std::move(s));
  }
  return out;
}

void DecodeFields(const json::object& o, PersistedCheck& p) {
  CheckState& s = p.state;
  p.kind = json::value_to<std::string>(o.at("kind"));
  auto result = ParseRunResult(o.at("last_result").as_string());
  if (!result) throw std::runtime_error("unknown last_result");
  s.has_result = true;
  s.last_result = *result;
  s.success = o.at("success").as_bool();
  s.reason = json::value_to<std::string>(o.at("reason"));
  s.observed = NumberOrNull(o, "observed");
  s.last_duration_seconds = o.at("last_duration_seconds").to_number<double>();
  s.last_run_timestamp = o.at("last_run_timestamp").to_number<double>();
  s.last_success_timestamp = NumberOrNull(o, "last_success_timestamp");
  const auto& runs = o.at("runs").as_object();
  for (auto r : {RunResult::kSuccess, RunResult::kFailure, RunResult::kTimeout, RunResult::kSkipped}) {
    if (const auto* n = runs.if_contains(ToString(r))) s.runs[static_cast<int>(r)] = n->to_number<std::uint64_t>();
  }
  s.samples = DecodeSamples(o.at("samples").as_array());
  if (const auto* objectives = o.if_contains("objective_observed")) {
    for (const auto& [id, v] : objectives->as_object()) s.objective_observed[std::string(id)] = v.to_number<double>();
  }
}

std::int64_t MtimeNs(const struct stat& st) {
  return static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

}  // namespace

std::string EncodeState(const std::string& check, const std::string& kind, const CheckState& s) {
  json::object runs;
  for (auto r : {RunResult::kSuccess, RunResult::kFailure, RunResult::kTimeout, RunResult::kSkipped}) {
    runs[ToString(r)] = s.runs[static_cast<int>(r)];
  }
  json::object objectives;
  for (const auto& [id, v] : s.objective_observed) objectives[id] = v;
  json::object o{{"format", kFormat},
                 {"check", check},
                 {"kind", kind},
                 {"last_result", ToString(s.last_result)},
                 {"success", s.success},
                 {"reason", s.reason},
                 {"observed", OptionalNumber(s.observed)},
                 {"objective_observed", std::move(objectives)},
                 {"last_duration_seconds", s.last_duration_seconds},
                 {"last_run_timestamp", s.last_run_timestamp},
                 {"last_success_timestamp", OptionalNumber(s.last_success_timestamp)},
                 {"runs", std::move(runs)},
                 {"samples", EncodeSamples(s.samples)}};
  return json::serialize(o) + "\n";
}

std::optional<PersistedCheck> DecodeState(std::string_view text, const std::string& check, std::string& error) {
  auto o = ParseCheckFile(text, check, kFormat, "state", error);
  if (!o) return std::nullopt;
  try {
    PersistedCheck p;
    DecodeFields(*o, p);
    return p;
  } catch (const std::exception& e) {
    error = std::string("not a drwatch state file: ") + e.what();
    return std::nullopt;
  }
}

StateStore::StateStore(std::string root) : root_(std::move(root)) {
  while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
}

std::string StateStore::ChecksDir() const { return root_ + "/checks"; }

std::string StateStore::LocksDir() const { return root_ + "/locks"; }

std::string StateStore::PathOf(const std::string& check) const { return ChecksDir() + "/" + check + ".json"; }

bool StateStore::Prepare(std::string& error) const {
  for (const auto& dir : {root_, ChecksDir()}) {
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
      error = "cannot create " + dir + ": " + Errno(errno);
      return false;
    }
  }
  return true;
}

bool StateStore::Write(const std::string& check, const std::string& text, std::int64_t& mtime_ns,
                       std::string& error) const {
  std::string path = PathOf(check);
  if (!WriteFileAtomically(path, text, error)) {
    std::string ignored;
    if (!Prepare(ignored)) return false;  // the directory went away (or was never made): once more
    error.clear();
    if (!WriteFileAtomically(path, text, error)) return false;
  }
  mtime_ns = MtimeOf(check);
  return true;
}

std::int64_t StateStore::MtimeOf(const std::string& check) const {
  struct stat st {};
  if (::stat(PathOf(check).c_str(), &st) != 0) return 0;
  return MtimeNs(st);
}

std::optional<PersistedCheck> StateStore::Load(const std::string& check, std::string& error) const {
  std::string path = PathOf(check);
  std::string text, why;
  std::int64_t mtime = 0;
  switch (ReadSmallFile(path, kMaxFileBytes, text, mtime, why)) {
    case SmallFile::kMissing: return std::nullopt;
    // Permissions: setting it aside would not help and may not be possible.
    case SmallFile::kUnreadable: error = why; return std::nullopt;
    case SmallFile::kTooLarge: break;
    case SmallFile::kRead:
      if (auto loaded = DecodeState(text, check, why)) {
        loaded->mtime_ns = mtime;
        return loaded;
      }
      break;
  }
  error = path + ": " + why + "; " + SetAside(path);
  return std::nullopt;
}

std::optional<run::LastRun> ReadLastRun(const StateStore& store, const std::string& check) {
  std::ifstream in(store.PathOf(check), std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  std::string error;
  auto persisted = DecodeState(text.str(), check, error);
  if (!persisted) return std::nullopt;
  const CheckState& state = persisted->state;
  return run::LastRun{state.last_result == RunResult::kSuccess, state.last_duration_seconds, state.last_run_timestamp};
}

std::map<std::string, PersistedCheck> LoadStates(const StateStore& store, const catalogue::Catalogue& catalogue) {
  std::map<std::string, PersistedCheck> out;
  for (const auto& check : catalogue.checks) {
    std::string error;
    auto loaded = store.Load(check.name, error);
    if (!error.empty()) spdlog::warn("state of check {} not restored: {}", check.name, error);
    if (!loaded) continue;
    if (loaded->kind != check.kind) {
      spdlog::info("state of check {} not restored: it was a {} check, now {}", check.name, loaded->kind,
                   check.kind);
      continue;
    }
    out.emplace(check.name, std::move(*loaded));
  }
  return out;
}

StateWriter::StateWriter(boost::asio::any_io_executor executor, BlockingPool& pool,
                         std::shared_ptr<const StateStore> store, std::chrono::milliseconds delay,
                         std::chrono::milliseconds min_rewrite)
    : executor_(executor),
      pool_(pool),
      store_(std::move(store)),
      delay_(delay),
      min_rewrite_(min_rewrite),
      timer_(executor),
      alive_(std::make_shared<bool>(true)) {}

StateWriter::~StateWriter() { *alive_ = false; }

void StateWriter::Save(const std::string& check, std::string text) {
  Slot& slot = slots_[check];
  ++slot.generation;
  slot.pending = std::move(text);
  if (!slot.queued) {
    slot.queued = true;
    queue_.push_back(check);
  }
  Arm();
}

void StateWriter::FlushNow() {
  timer_.cancel();
  armed_ = false;
  flush_all_ = true;  // shutdown: what is in flight now and waits behind it goes out too
  Flush();
}

void StateWriter::Arm(std::optional<Clock::time_point> at) {
  if (batches_in_flight_ > 0 || queue_.empty()) return;
  auto when = at.value_or(Clock::now() + delay_);
  if (armed_ && armed_at_ <= when) return;
  armed_ = true;  // (re-arming earlier cancels the later wait, whose handler returns)
  armed_at_ = when;
  timer_.expires_at(when);
  timer_.async_wait([this, alive = alive_](boost::system::error_code ec) {
    if (ec || !*alive) return;
    armed_ = false;
    Flush();
  });
}

// Writes the waiting states whose check has no write in flight (only
// FlushNow finds one: otherwise no batch is in flight when this runs) and,
// (until FlushNow) whose file was not rewritten in the last min_rewrite.
void StateWriter::Flush() {
  std::vector<std::string> checks;
  std::vector<FileWrite> files;
  std::vector<std::string> later;
  auto now = Clock::now();
  auto next = Clock::time_point::max();  // when the first of those held back may go
  for (auto& check : queue_) {
    Slot& slot = slots_[check];
    bool recent = slot.last_write && now - *slot.last_write < min_rewrite_;
    if (slot.writing || (recent && !flush_all_)) {
      if (!slot.writing) next = std::min(next, *slot.last_write + min_rewrite_);
      later.push_back(std::move(check));
      continue;
    }
    slot.queued = false;
    slot.writing = true;
    slot.last_write = now;
    files.push_back({store_->PathOf(check), std::move(*slot.pending)});
    slot.pending.reset();
    checks.push_back(std::move(check));
  }
  queue_ = std::move(later);
  if (checks.empty()) {
    // Only what waits for its min_rewrite: wake when the first may go, not
    // every delay (a new Save re-arms earlier).
    if (next != Clock::time_point::max()) Arm(std::max(next, now + delay_));
    return;
  }
  ++batches_in_flight_;
  using Outcomes = std::vector<Outcome>;
  auto write = [store = store_, checks, files = std::move(files)] {
    Outcomes outcomes(files.size());
    auto errors = WriteFilesAtomically(files);
    std::string ignored;
    for (std::size_t i = 0; i < files.size(); ++i) {
      // The directory went away (or was never made): once more.
      if (!errors[i].empty() && store->Prepare(ignored)) errors[i] = WriteFilesAtomically({files[i]})[0];
      outcomes[i].ok = errors[i].empty();
      outcomes[i].error = std::move(errors[i]);
      if (outcomes[i].ok) outcomes[i].mtime = store->MtimeOf(checks[i]);
    }
    return outcomes;
  };
  auto drop = [](Outcomes) {};
  auto done = [this, alive = alive_, checks](std::optional<Outcomes> outcomes) {
    if (!*alive) return;
    --batches_in_flight_;
    for (std::size_t i = 0; i < checks.size(); ++i) {
      Done(checks[i], outcomes ? (*outcomes)[i] : Outcome{false, 0, "write cancelled"});
    }
    Arm();
  };
  RunBlocking(pool_, std::move(write), std::move(drop), boost::asio::bind_executor(executor_, std::move(done)));
}

void StateWriter::Done(const std::string& check, const Outcome& outcome) {
  Slot& slot = slots_[check];
  slot.writing = false;
  if (outcome.ok) {
    slot.known_mtime = outcome.mtime;
    if (failing_) spdlog::info("state directory {} is writable again", store_->root());
    failing_ = false;
  } else {
    ++write_errors_;
    if (!failing_) {
      spdlog::error("cannot save check state (results will not survive a restart; storage.path {}): {}",
                    store_->root(), outcome.error);
    }
    failing_ = true;
  }
}

std::int64_t StateWriter::KnownMtime(const std::string& check) const {
  auto it = slots_.find(check);
  return it == slots_.end() ? 0 : it->second.known_mtime;
}

void StateWriter::SetKnownMtime(const std::string& check, std::int64_t mtime_ns) {
  slots_[check].known_mtime = mtime_ns;
}

bool StateWriter::Busy(const std::string& check) const {
  auto it = slots_.find(check);
  return it != slots_.end() && (it->second.writing || it->second.pending);
}

std::uint64_t StateWriter::Generation(const std::string& check) const {
  auto it = slots_.find(check);
  return it == slots_.end() ? 0 : it->second.generation;
}

}  // namespace drwatch::engine
