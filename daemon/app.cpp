#include "app.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include <cstdio>
#include <iostream>

#include "common/log.hpp"
#include "common/redact.hpp"
#include "engine/shard.hpp"
#include "config/web_config.hpp"
#include "drwatch/version.hpp"
#include "common/text.hpp"
#include "metrics/families.hpp"
#include "metrics/process.hpp"

namespace drwatch::daemon {
namespace {

std::string JoinErrors(const std::vector<std::string>& errors) {
  std::string out;
  for (const auto& e : errors) out += Redactor::Global().Apply(e) + "\n";
  return out;
}

std::string FormatValue(const std::optional<double>& v) {
  if (!v) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", *v);
  return buf;
}

}  // namespace

int CheckConfig(const Options& options) {
  auto loaded = catalogue::LoadCatalogueFile(options.config_file);
  std::vector<std::string> errors = loaded.errors;
  if (!options.web_config_file.empty()) {
    auto web = config::LoadWebConfigFile(options.web_config_file);
    errors.insert(errors.end(), web.errors.begin(), web.errors.end());
  }
  if (!errors.empty()) {
    std::fputs(JoinErrors(errors).c_str(), stderr);
    return 1;
  }
  if (options.shard.count > 1) {
    auto mine = engine::ShardCatalogue(loaded.catalogue, options.shard);
    std::printf("OK (shard %u/%u: %zu of %zu checks, %zu of %zu objectives)\n", options.shard.index,
                options.shard.count, mine->checks.size(), loaded.catalogue->checks.size(),
                mine->objectives.size(), loaded.catalogue->objectives.size());
    return 0;
  }
  std::puts("OK");
  return 0;
}

namespace {

// JUnit XML for CI systems: one test suite, one test case a check; a failed
// or timed-out check is a <failure> with its reason.
std::string JUnitReport(const std::vector<engine::RunReport>& reports, const std::string& checklist) {
  int failures = 0;
  double total = 0;
  std::string cases;
  std::string suite = "drwatch" + (checklist.empty() ? std::string() : "." + checklist);
  for (const auto& r : reports) {
    total += r.duration_seconds;
    char time[32];
    std::snprintf(time, sizeof time, "%.3f", r.duration_seconds);
    cases += "  <testcase classname=\"" + EscapeMarkup(suite) + "\" name=\"" + EscapeMarkup(r.check) +
             "\" time=\"" + time + "\">";
    if (r.result != engine::RunResult::kSuccess) {
      ++failures;
      std::string reason = Redactor::Global().Apply(r.reason);
      cases += "\n    <failure type=\"" + std::string(engine::ToString(r.result)) + "\" message=\"" +
               EscapeMarkup(reason) + "\">" + EscapeMarkup(Redactor::Global().Apply(r.details)) + "</failure>\n  ";
    } else if (!r.reason.empty()) {
      cases += "<system-out>" + EscapeMarkup(Redactor::Global().Apply(r.reason)) + "</system-out>";
    }
    cases += "</testcase>\n";
  }
  char time[32];
  std::snprintf(time, sizeof time, "%.3f", total);
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n<testsuite name=\"" + EscapeMarkup(suite) +
         "\" tests=\"" + std::to_string(reports.size()) + "\" failures=\"" + std::to_string(failures) +
         "\" errors=\"0\" time=\"" + time + "\">\n" + cases + "</testsuite>\n</testsuites>\n";
}

}  // namespace

int RunOnce(const Options& options) {
  auto loaded = catalogue::LoadCatalogueFile(options.config_file);
  if (!loaded.errors.empty()) {
    std::fputs(JoinErrors(loaded.errors).c_str(), stderr);
    return 1;
  }
  auto catalogue = engine::ShardCatalogue(loaded.catalogue, options.shard);
  if (!options.checklist.empty()) {
    auto only = std::make_shared<catalogue::Catalogue>(*catalogue);
    std::erase_if(only->checks, [&](const catalogue::CheckSpec& c) { return c.checklist != options.checklist; });
    catalogue = only;
  }
  BlockingPool pool;
  boost::asio::io_context io;
  engine::Scheduler scheduler(io.get_executor(), pool);
  scheduler.Apply(catalogue);
  std::vector<engine::RunReport> reports;
  scheduler.RunAllOnce([&](std::vector<engine::RunReport> r) {
    reports = std::move(r);
    io.stop();
  });
  if (!catalogue->checks.empty()) io.run();
  pool.Join();  // before the loop and the connections go away
  int failed = 0;
  for (const auto& r : reports) failed += r.result != engine::RunResult::kSuccess;
  if (options.junit) {
    std::fputs(JUnitReport(reports, options.checklist).c_str(), stdout);
    std::fflush(stdout);
    return failed == 0 ? 0 : 1;
  }
  std::size_t width = 5;
  for (const auto& r : reports) width = std::max(width, r.check.size());
  std::printf("%-*s  %-7s  %9s  %12s  %s\n", static_cast<int>(width), "CHECK", "RESULT", "DURATION",
              "VALUE", "REASON");
  for (const auto& r : reports) {
    std::string reason = Redactor::Global().Apply(r.reason);
    std::printf("%-*s  %-7s  %8.3fs  %12s  %s\n", static_cast<int>(width), r.check.c_str(),
                engine::ToString(r.result), r.duration_seconds, FormatValue(r.observed).c_str(),
                reason.c_str());
  }
  std::fflush(stdout);
  return failed == 0 ? 0 : 1;
}

App::App(Options options)
    : options_(std::move(options)),
      signals_(io_, SIGINT, SIGTERM, SIGHUP),
      store_(std::make_shared<engine::StateStore>(options_.storage_path)),
      scheduler_(io_.get_executor(), pool_),
      watchdog_(io_.get_executor()) {}

App::~App() = default;

int App::Run() {
  auto loaded = catalogue::LoadCatalogueFile(options_.config_file);
  if (!loaded.errors.empty()) {
    for (const auto& e : loaded.errors) spdlog::error("{}", e);
    spdlog::error("refusing to start: {} error(s) in {}", loaded.errors.size(), options_.config_file);
    return 1;
  }
  if (!options_.web_config_file.empty()) {
    std::vector<std::string> errors;
    web_ = config::WebConfigWatcher::Create(io_.get_executor(), pool_, options_.web_config_file, errors);
    if (!web_) {
      for (const auto& e : errors) spdlog::error("{}", e);
      spdlog::error("refusing to start: {} error(s) in {}", errors.size(), options_.web_config_file);
      return 1;
    }
  }
  catalogue_ = engine::ShardCatalogue(loaded.catalogue, options_.shard);
  last_reload_ok_ = true;
  last_reload_success_ = ToUnixSeconds(Clock::WallNow());
  // Before the loop runs, like the catalogue itself: a few small files.
  std::string state_error;
  if (!store_->Prepare(state_error)) {
    spdlog::error("state directory unusable (results will not survive a restart): {}", state_error);
  }
  auto persisted = engine::LoadStates(*store_, *catalogue_);

  net::HttpServerOptions http_options;
  http_options.listen_address = options_.listen_address;
  http_options.telemetry_path = options_.telemetry_path;
  http_options.enable_lifecycle = options_.enable_lifecycle;
  http_options.blocking_pool = &pool_;
  http_options.max_connections = options_.max_connections;
  net::HttpHandlers handlers{
      [this] { return RenderMetrics(); },
      [this] { return catalogue_ != nullptr; },
      [this] { return Reload(); },
      [this] { return engine::RenderStatusHtml(scheduler_.Snapshot(), options_.telemetry_path); },
      [this] { return engine::RenderStatusJson(scheduler_.Snapshot()); },
      [this] { return web_ ? web_->Current() : nullptr; },
  };
  http_ = std::make_unique<net::HttpServer>(io_.get_executor(), http_options, handlers);
  try {
    http_->Start();
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return 1;
  }
  scheduler_.EnablePersistence(store_);
  scheduler_.SetRunLockDirectory(store_->LocksDir());
  scheduler_.SetStoragePath(store_->root());
  scheduler_.Apply(catalogue_, persisted);
  scheduler_.Start();
  loop_lag_.Start();
  WaitForSignal();
  watchdog_.Start();
  auto ep = http_->LocalEndpoint();
  spdlog::info("drwatchd {} ({}) started: {} checks, {} targets from {}; listening on {}:{}", kVersion,
               kRevision, catalogue_->checks.size(), catalogue_->targets.size(), options_.config_file,
               ep.address().to_string(), ep.port());
  NotifyReady();
  io_.run();
  pool_.Join();  // before the loop and the connections go away
  spdlog::info("drwatchd stopped");
  return 0;
}

void App::WaitForSignal() {
  signals_.async_wait([this](boost::system::error_code ec, int signo) {
    if (ec) return;
    if (signo == SIGHUP) {
      if (reloading_) {
        reload_again_ = true;
      } else {
        boost::asio::co_spawn(io_, Reload(), boost::asio::detached);
      }
      WaitForSignal();
      return;
    }
    spdlog::info("received signal {}, stopping", signo);
    Shutdown();
  });
}

void App::Shutdown() {
  NotifyStopping();
  watchdog_.Stop();
  loop_lag_.Stop();
  scheduler_.Stop();
  if (http_) http_->Stop();
  signals_.cancel();
  // Runs just cancelled need a moment to unwind; connections are finished
  // off the loop. Don't wait for anything slower than that.
  auto timer = std::make_shared<boost::asio::steady_timer>(io_, std::chrono::milliseconds(200));
  timer->async_wait([this, timer](boost::system::error_code) { io_.stop(); });
}

boost::asio::awaitable<std::string> App::Reload() {
  if (reloading_) co_return "a reload is already in progress";
  reloading_ = true;
  std::string errors;
  do {
    reload_again_ = false;
    NotifyReloading();
    // Reading the files (the catalogue, ${file:…} secrets) may block: a slow
    // disk must not stall scrapes.
    // The saved states of the checks come along: a new check resumes from its file.
    auto load = [path = options_.config_file, store = store_, shard = options_.shard] {
      std::pair<catalogue::LoadResult, std::map<std::string, engine::PersistedCheck>> out{
          catalogue::LoadCatalogueFile(path), {}};
      if (out.first.catalogue) {
        out.first.catalogue = engine::ShardCatalogue(out.first.catalogue, shard);
        out.second = engine::LoadStates(*store, *out.first.catalogue);
      }
      return out;
    };
    using Loaded = std::pair<catalogue::LoadResult, std::map<std::string, engine::PersistedCheck>>;
    auto drop = [](Loaded) {};
    std::optional<Loaded> loaded = co_await RunBlocking(pool_, load, drop);
    if (!loaded) {
      reloading_ = false;
      co_return "reload cancelled";
    }
    errors = Apply(std::move(loaded->first), loaded->second);
    NotifyReady();
  } while (reload_again_);
  reloading_ = false;
  co_return errors;
}

std::string App::Apply(catalogue::LoadResult loaded, const std::map<std::string, engine::PersistedCheck>& persisted) {
  ++reloads_;
  if (!loaded.errors.empty()) {
    last_reload_ok_ = false;
    for (const auto& e : loaded.errors) spdlog::error("{}", e);
    spdlog::error("reload refused: {} error(s) in {}; still running the previous catalogue",
                  loaded.errors.size(), options_.config_file);
    return JoinErrors(loaded.errors);
  }
  catalogue_ = loaded.catalogue;
  scheduler_.Apply(catalogue_, persisted);
  last_reload_ok_ = true;
  last_reload_success_ = ToUnixSeconds(Clock::WallNow());
  spdlog::info("reloaded {}: {} checks, {} targets", options_.config_file, catalogue_->checks.size(),
               catalogue_->targets.size());
  return "";
}

// The scheduler's and the reloads' counters only grow: their sum changes
// whenever either does.
net::MetricsBody App::RenderMetrics() {
  auto head = [this](std::vector<metrics::Sample>& samples) {
    double changes_at = scheduler_.CollectState(samples);
    samples.push_back(metrics::kBuildInfo.Make(1, {{"version", kVersion}, {"revision", kRevision}}));
    samples.push_back(metrics::kConfigLastReloadSuccessful.Make(last_reload_ok_ ? 1.0 : 0.0));
    samples.push_back(metrics::kConfigLastReloadSuccessTimestampSeconds.Make(last_reload_success_));
    engine::AppendShardInfo(options_.shard, samples);
    return changes_at;
  };
  auto tail = [this](std::vector<metrics::Sample>& samples) {
    scheduler_.CollectLive(samples);
    loop_lag_.Collect(samples);
    if (http_) {
      net::HttpServerStats http = http_->Stats();
      samples.push_back(metrics::kHttpOpenConnections.Make(static_cast<double>(http.open_connections)));
      samples.push_back(metrics::kHttpMaxConnections.Make(static_cast<double>(options_.max_connections)));
      samples.push_back(
          metrics::kHttpConnectionsClosedAtLimitTotal.Make(static_cast<double>(http.closed_at_limit_total)));
    }
    samples.push_back(metrics::kLogMessagesDroppedTotal.Make(static_cast<double>(DroppedLogLines())));
    metrics::AppendProcessSamples(samples);
  };
  return metrics_cache_.Render(scheduler_.generation() + reloads_, head, tail);
}

}  // namespace drwatch::daemon
