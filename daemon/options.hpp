#pragma once
// Command-line flags, Prometheus exporter style (--flag=value or --flag value),
// and the commands for people after them (backup run CHECK, …).

#include <spdlog/spdlog.h>

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "common/log.hpp"
#include "engine/shard.hpp"

namespace drwatch::daemon {

/// What to do: serve (the daemon), or one command for people.
enum class Command { kServe, kBackupRun, kBackupList, kBackupKeygen, kBackupDecrypt, kRestoreDrill, kRestoreLatest };
/// "backup run", …; "" for kServe.
const char* CommandName(Command c);

struct Options {
  std::string config_file;
  std::string listen_address = ":10432";
  std::string telemetry_path = "/metrics";
  std::string web_config_file;  // --web.config.file: TLS, basic auth, headers; empty: none
  bool enable_lifecycle = false;
  std::size_t max_connections = 256;  // --web.max-connections
  spdlog::level::level_enum log_level = spdlog::level::info;
  LogFormat log_format = LogFormat::kText;
  bool config_check = false;
  bool once = false;
  std::string checklist;          // --once --checklist=daily|weekly|monthly: that list only
  bool junit = false;             // --once --output=junit: JUnit XML instead of the table
  bool version = false;
  bool help = false;
  std::string storage_path = "/var/lib/drwatch";  // state that outlives a restart
  engine::Shard shard;     // --shard=i/N: run and export only shard i's checks
  Command command = Command::kServe;
  std::string check;       // the command's CHECK
  std::string restore_to;  // restore latest --to DSN: a secret, never printed
  std::string restore_to_file;  // restore latest --to-file PATH: the DSN's file
  bool restore_to_env = false;  // restore latest: the DSN is $DRWATCH_RESTORE_DSN
  bool force = false;      // restore latest --force
  bool no_owner = false;   // restore latest --no-owner
  std::string decrypt_file;  // backup decrypt FILE
  std::string key_file;      // backup decrypt --key-file PATH
};

/// The environment variable restore latest takes its target DSN from when
/// neither --to nor --to-file is given.
inline constexpr const char* kRestoreDsnVariable = "DRWATCH_RESTORE_DSN";

/// Parses argv. On a bad command line returns nullopt and sets `error`.
/// Reads one environment variable: kRestoreDsnVariable (is it set?).
std::optional<Options> ParseOptions(const std::vector<std::string>& args, std::string& error);

/// The usage text.
std::string Usage();

}  // namespace drwatch::daemon
