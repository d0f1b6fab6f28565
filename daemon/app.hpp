#pragma once
// The daemon: load the catalogue, build the scheduler and the HTTP endpoint on
// one io_context, run until SIGINT/SIGTERM, reload on SIGHUP or POST
// /-/reload (a new catalogue is built whole, then swapped; an invalid one is
// refused and the old one keeps running).

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <memory>
#include <optional>
#include <string>

#include "common/blocking.hpp"
#include "config/web_config.hpp"
#include "engine/exposition.hpp"
#include "engine/loop_lag.hpp"
#include "engine/scheduler.hpp"
#include "engine/state_store.hpp"
#include "net/http_server.hpp"
#include "options.hpp"
#include "sd_notify.hpp"

namespace drwatch::daemon {

/// --config.check: prints OK or every error; returns the exit code.
int CheckConfig(const Options& options);
/// --once: runs every check once and prints a table; returns the exit code.
int RunOnce(const Options& options);

class App {
 public:
  explicit App(Options options);
  ~App();
  /// Runs until a stop signal; returns the process exit code.
  int Run();

 private:
  /// Loads the catalogue off the loop, then swaps it in; completes with ""
  /// on success, else the errors. One reload at a time: a SIGHUP during a
  /// reload runs another one after it.
  boost::asio::awaitable<std::string> Reload();
  std::string Apply(catalogue::LoadResult loaded, const std::map<std::string, engine::PersistedCheck>& persisted);
  net::MetricsBody RenderMetrics();
  void WaitForSignal();
  void Shutdown();

  Options options_;
  BlockingPool pool_;
  boost::asio::io_context io_;
  boost::asio::signal_set signals_;
  std::shared_ptr<const engine::StateStore> store_;
  engine::Scheduler scheduler_;
  engine::LoopLagMonitor loop_lag_{io_.get_executor()};
  std::unique_ptr<net::HttpServer> http_;
  Watchdog watchdog_;
  std::shared_ptr<const catalogue::Catalogue> catalogue_;
  std::unique_ptr<config::WebConfigWatcher> web_;  // --web.config.file; null: open HTTP
  bool last_reload_ok_ = false;
  bool reloading_ = false;
  bool reload_again_ = false;
  double last_reload_success_ = 0;
  std::uint64_t reloads_ = 0;  // reload attempts: part of the metrics' generation
  engine::MetricsCache metrics_cache_;
};

}  // namespace drwatch::daemon
