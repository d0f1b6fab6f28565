#include "commands.hpp"

#include <signal.h>
#include <unistd.h>
#include <spdlog/spdlog.h>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "backup/commands.hpp"
#include "common/redact.hpp"
#include "config/catalogue.hpp"
#include "config/expand.hpp"
#include "engine/scheduler.hpp"
#include "engine/state_store.hpp"
#include "pg/connection.hpp"
#include "probes/backup_probes.hpp"
#include "restore/restore_latest.hpp"
#include "targets/storage_target.hpp"

namespace drwatch::daemon {
namespace {

constexpr int kUsageError = 2;
// After SIGINT/SIGTERM the run is cancelled; its clean-up (killing the
// child's process group, closing connections) gets this long.
constexpr std::chrono::seconds kCancelGrace{10};

struct Loaded {
  std::shared_ptr<const config::Catalogue> catalogue;
  const config::CheckSpec* check = nullptr;
};

void PrintError(const std::string& text) {
  std::fprintf(stderr, "drwatchd: %s\n", Redactor::Global().Apply(text).c_str());
}

std::string KindList(const std::vector<std::string_view>& kinds) {
  std::string out;
  for (std::size_t i = 0; i < kinds.size(); ++i) {
    if (i > 0) out += i + 1 == kinds.size() ? " or " : ", ";
    out += kinds[i];
  }
  return out;
}

// The catalogue and the command's check, which must be of one of `kinds`;
// nullopt after printing why not.
std::optional<Loaded> LoadCheck(const Options& options, const std::vector<std::string_view>& kinds) {
  auto loaded = config::LoadCatalogueFile(options.config_file);
  if (!loaded.errors.empty()) {
    for (const auto& e : loaded.errors) std::fprintf(stderr, "%s\n", Redactor::Global().Apply(e).c_str());
    return std::nullopt;
  }
  for (const auto& check : loaded.catalogue->checks) {
    if (check.name != options.check) continue;
    if (std::find(kinds.begin(), kinds.end(), check.kind) == kinds.end()) {
      PrintError("check \"" + check.name + "\" is a " + check.kind + " check; " + CommandName(options.command) +
                 " takes a " + KindList(kinds) + " check");
      return std::nullopt;
    }
    return Loaded{loaded.catalogue, &check};
  }
  PrintError("no check \"" + options.check + "\" in " + options.config_file);
  return std::nullopt;
}

// Runs `io` until `finished` is set or a stop signal arrives; a signal calls
// `cancel` and waits kCancelGrace for the run to unwind. Returns 128+signal
// after a signal, else 0.
int RunLoop(boost::asio::io_context& io, const bool& finished, const std::function<void()>& cancel) {
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  boost::asio::steady_timer grace(io);
  int signo = 0;
  signals.async_wait([&](boost::system::error_code ec, int s) {
    if (ec) return;
    signo = s;
    spdlog::warn("received signal {}, cancelling", s);
    cancel();
    grace.expires_after(kCancelGrace);
    grace.async_wait([&](boost::system::error_code) { io.stop(); });
  });
  while (!finished && !io.stopped()) io.run_one();
  signals.cancel();
  grace.cancel();
  return signo == 0 ? 0 : 128 + signo;
}

void SaveState(const engine::StateStore& store, const config::CheckSpec& check, const engine::CheckState& state) {
  std::string error;
  std::int64_t mtime = 0;
  std::string text = engine::EncodeState(check.name, check.kind, state);
  if (!store.Prepare(error) || !store.Write(check.name, text, mtime, error)) {
    PrintError("result not saved (the daemon will not export it): " + error);
  }
}

// backup run, restore drill: one run of the check exactly as the scheduler
// runs it (deadline, targets, common metrics), recorded in the state file.
int RunCheckNow(const Options& options, const Loaded& loaded) {
  const config::CheckSpec& check = *loaded.check;
  engine::StateStore store(options.storage_path);
  std::map<std::string, engine::PersistedCheck> persisted;
  std::string error;
  auto saved = store.Load(check.name, error);  // counters and last success carry on
  if (!error.empty()) spdlog::warn("state of check {} not restored: {}", check.name, error);
  if (saved && saved->kind == check.kind) persisted.emplace(check.name, std::move(*saved));

  BlockingPool pool;
  boost::asio::io_context io;
  engine::Scheduler scheduler(io.get_executor(), pool);
  scheduler.SetRunLockDirectory(store.LocksDir());  // the daemon's run of this check, if any, holds it
  scheduler.SetStoragePath(store.root());
  scheduler.Apply(loaded.catalogue, persisted);
  std::optional<engine::RunReport> report;
  bool finished = false;
  scheduler.RunNow(check.name, [&](const engine::RunReport& r) {
    report = r;
    finished = true;
  });
  int interrupted = RunLoop(io, finished, [&] { scheduler.Stop(); });
  io.stop();
  pool.Join();  // before the loop and the connections go away
  if (interrupted != 0 || !report) {
    std::fprintf(stderr, "drwatchd: %s %s cancelled; nothing recorded\n", CommandName(options.command),
                 check.name.c_str());
    return interrupted != 0 ? interrupted : 1;
  }
  if (report->result == engine::RunResult::kSkipped) {
    // Refused at once: nothing ran, so nothing is recorded.
    PrintError(std::string(CommandName(options.command)) + " " + check.name + ": " + report->reason);
    return 1;
  }
  if (!report->details.empty()) {
    std::string details = Redactor::Global().Apply(report->details);
    std::fputs(details.c_str(), stdout);
    if (details.back() != '\n') std::fputc('\n', stdout);
  }
  std::printf("%s %s: %s in %.3fs%s%s\n", CommandName(options.command), check.name.c_str(),
              engine::ToString(report->result), report->duration_seconds, report->reason.empty() ? "" : ": ",
              Redactor::Global().Apply(report->reason).c_str());
  std::fflush(stdout);
  if (const auto* state = scheduler.StateOf(check.name)) SaveState(store, check, *state);
  return report->result == engine::RunResult::kSuccess ? 0 : 1;
}

// Runs a command coroutine to its exit status; a signal cancels it.
int RunCommandCoroutine(boost::asio::io_context& io, BlockingPool& pool, boost::asio::awaitable<int> command) {
  boost::asio::cancellation_signal cancel;
  bool finished = false;
  bool cancelled = false;
  int status = 1;
  boost::asio::co_spawn(io, std::move(command),
                        boost::asio::bind_cancellation_slot(cancel.slot(), [&](std::exception_ptr e, int s) {
                          finished = true;
                          status = s;
                          if (!e || cancelled) return;
                          try {
                            std::rethrow_exception(e);
                          } catch (const std::exception& ex) {
                            PrintError(std::string("failed: ") + ex.what());
                            status = 1;
                          }
                        }));
  int interrupted = RunLoop(io, finished, [&] {
    cancelled = true;
    cancel.emit(boost::asio::cancellation_type::terminal);
  });
  io.stop();
  pool.Join();
  return interrupted != 0 ? interrupted : status;
}

// The storage backend of a backup check's `storage` target.
std::shared_ptr<targets::TargetRuntime> StorageOf(const Loaded& loaded, boost::asio::io_context& io,
                                                  BlockingPool& pool, targets::StorageTarget*& storage) {
  auto* job = dynamic_cast<const probes::BackupJob*>(loaded.check->probe.get());
  storage = nullptr;
  if (!job) return nullptr;
  auto spec = loaded.catalogue->targets.find(job->storage());
  if (spec == loaded.catalogue->targets.end()) return nullptr;
  auto runtime = spec->second->MakeRuntime(io.get_executor(), pool);
  storage = dynamic_cast<targets::StorageTarget*>(runtime.get());
  return runtime;
}

int BackupList(const Options& options, const Loaded& loaded) {
  BlockingPool pool;
  boost::asio::io_context io;
  targets::StorageTarget* storage = nullptr;
  auto runtime = StorageOf(loaded, io, pool, storage);
  if (!storage) {
    PrintError("check \"" + options.check + "\" names no storage target (a bug)");
    return 1;
  }
  return RunCommandCoroutine(io, pool, backup::ListCommand(storage->backend(), pool, options.check, std::cout));
}

// The DSN restore latest restores into: --to, --to-file (a secret file, so
// refused when every user can read it) or $DRWATCH_RESTORE_DSN; nullopt after
// printing why not. A password given with --to is visible in ps to every
// user of the machine while the restore runs: warned about, not refused (at
// 3 a.m. the restore matters more).
std::optional<std::string> RestoreDsn(const Options& options) {
  std::string dsn = options.restore_to;
  if (!options.restore_to_file.empty()) {
    std::string reason;
    auto text = config::ReadSecretFile(options.restore_to_file, reason);
    if (!text) {
      PrintError(reason.starts_with("secret file ") ? reason
                                                    : "cannot read --to-file " + options.restore_to_file + ": " + reason);
      return std::nullopt;
    }
    dsn = *text;
    while (!dsn.empty() && (dsn.back() == '\n' || dsn.back() == '\r')) dsn.pop_back();
  } else if (options.restore_to_env) {
    const char* value = std::getenv(kRestoreDsnVariable);
    dsn = value ? value : "";
  }
  if (dsn.empty()) {
    PrintError(options.restore_to_file.empty() ? std::string("$") + kRestoreDsnVariable + " is empty"
                                               : "--to-file " + options.restore_to_file + " is empty");
    return std::nullopt;
  }
  auto password = pg::PasswordOf(dsn);
  if (password) Redactor::Global().Add(*password);
  Redactor::Global().Add(dsn);
  if (password && !options.restore_to.empty()) {
    std::fprintf(stderr,
                 "drwatchd: warning: --to carries a password, which every user of this machine can read in ps "
                 "while the restore runs; use --to-file PATH, $%s or ~/.pgpass instead\n",
                 kRestoreDsnVariable);
  }
  return dsn;
}

int RestoreLatest(const Options& options, const Loaded& loaded) {
  auto dsn = RestoreDsn(options);
  if (!dsn) return 1;
  BlockingPool pool;
  boost::asio::io_context io;
  targets::StorageTarget* storage = nullptr;
  auto storage_runtime = StorageOf(loaded, io, pool, storage);
  if (!storage) {
    PrintError("check \"" + options.check + "\" names no storage target (a bug)");
    return 1;
  }
  const config::CheckSpec& check = *loaded.check;
  auto target = loaded.catalogue->targets.at(check.target)->MakeRuntime(io.get_executor(), pool);
  // A recovery is not bounded by the dump's timeout: it runs until it is
  // done or cancelled (Ctrl-C).
  auto deadline = Clock::now() + std::chrono::hours(24 * 365);
  probes::RunContext ctx{io.get_executor(), pool, *target, check.timeout, deadline, check.name};
  restore::RestoreLatestOptions restore_options{options.check, *dsn, options.force,
                                                 options.no_owner};
  restore_options.keys = static_cast<const probes::BackupJob&>(*check.probe).keys();
  return RunCommandCoroutine(io, pool,
                             restore::RestoreLatestCommand(ctx, storage->backend(), restore_options, std::cout));
}

}  // namespace

int RunCommand(const Options& options) {
  switch (options.command) {
    case Command::kServe: return kUsageError;
    case Command::kBackupKeygen: {
      std::string key = backup::KeygenCommand();
      std::fputs(key.c_str(), stdout);
      return 0;
    }
    case Command::kBackupDecrypt: {
      std::string error;
      int status = backup::DecryptCommand(options.decrypt_file, options.key_file, STDOUT_FILENO, error);
      if (status != 0) PrintError("backup decrypt: " + error);
      return status;
    }
    case Command::kBackupRun:
    case Command::kRestoreDrill: {
      std::vector<std::string_view> kinds = options.command == Command::kBackupRun
                                                ? std::vector<std::string_view>{"backup.pg_dump", "backup.files", "backup.supabase_config"}
                                                : std::vector<std::string_view>{"restore.drill"};
      auto loaded = LoadCheck(options, kinds);
      return loaded ? RunCheckNow(options, *loaded) : kUsageError;
    }
    case Command::kBackupList: {
      auto loaded = LoadCheck(options, {"backup.pg_dump", "backup.files", "backup.supabase_config"});
      return loaded ? BackupList(options, *loaded) : kUsageError;
    }
    case Command::kRestoreLatest: {
      auto loaded = LoadCheck(options, {"backup.pg_dump"});
      return loaded ? RestoreLatest(options, *loaded) : kUsageError;
    }
  }
  return kUsageError;
}

}  // namespace drwatch::daemon
