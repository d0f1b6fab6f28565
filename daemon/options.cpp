#include "options.hpp"

#include <charconv>
#include <cstdlib>
#include <functional>
#include <map>
#include <set>

namespace drwatch::daemon {

const char* CommandName(Command c) {
  switch (c) {
    case Command::kServe: return "";
    case Command::kBackupRun: return "backup run";
    case Command::kBackupList: return "backup list";
    case Command::kBackupKeygen: return "backup keygen";
    case Command::kBackupDecrypt: return "backup decrypt";
    case Command::kRestoreDrill: return "restore drill";
    case Command::kRestoreLatest: return "restore latest";
  }
  return "";
}

std::string Usage() {
  return R"(usage: drwatchd --config.file=PATH [flags]
       drwatchd --config.file=PATH [--storage.path=DIR] backup run CHECK
       drwatchd --config.file=PATH [--storage.path=DIR] backup list CHECK
       drwatchd backup keygen
       drwatchd backup decrypt FILE --key-file PATH
       drwatchd --config.file=PATH [--storage.path=DIR] restore drill CHECK
       drwatchd --config.file=PATH [--storage.path=DIR] restore latest CHECK [--to DSN | --to-file PATH]
                [--force] [--no-owner]

Watches a PostgreSQL application's backup and disaster-recovery health and
exports the results as Prometheus metrics.

Flags:
  --config.file=PATH            check catalogue (YAML), required
  --web.listen-address=ADDR     where to serve HTTP (default ":10432")
  --web.telemetry-path=PATH     path of the metrics (default "/metrics")
  --web.enable-lifecycle        enable POST /-/reload
  --web.config.file=PATH        TLS, basic auth and headers for the endpoint (the
                                Prometheus exporter-toolkit web config format)
  --web.max-connections=N       open HTTP connections at most (default 256); past it the
                                connection idle the longest is closed
  --log.level=LEVEL             debug, info, warn or error (default info)
  --log.format=FORMAT           text or json (default text)
  --config.check                validate the catalogue, print OK or every error, exit 0/1
  --once                        run every check once, print a table, exit 0 only if all succeeded
  --checklist=LIST              with --once: only the checks of LIST (daily, weekly or monthly)
  --output=FORMAT               with --once: table (default) or junit (JUnit XML, one test case a check)
  --storage.path=DIR            where check results survive a restart (default "/var/lib/drwatch")
  --shard=i/N                   run only shard i (0 to N-1) of N: the checks whose name hashes
                                there (also with --once and --config.check; docs/scaling.md)
  --version                     print the version and exit
  -h, --help                    print this help and exit

Commands (same catalogue and code paths as the scheduled checks; exit 0 on
success, 1 on failure, 2 on a usage or catalogue error, 130/143 on Ctrl-C/SIGTERM):
  backup run CHECK              run a backup.pg_dump or backup.files check now
  backup list CHECK             list a backup check's runs and verify their checksums
  backup keygen                 print a new random backup encryption key (base64)
  backup decrypt FILE --key-file PATH
                                write the plaintext of an encrypted backup file
                                (NAME.enc) to stdout, only once all of it verified;
                                no catalogue needed
  restore drill CHECK           run a restore.drill check now
  restore latest CHECK --to DSN restore the newest verified run of a backup.pg_dump
                                check into DSN (an empty database unless --force);
                                --to-file PATH reads the DSN from a file (mode 600),
                                else $DRWATCH_RESTORE_DSN: keeps a password out of ps;
                                creates the roles it lacks (roles.sql, no passwords),
                                then restores owners and grants (--no-owner: objects
                                owned by the connecting user instead)
)";
}

namespace {

// A whole number in 1..1,000,000.
bool ParseCount(const std::string& text, std::size_t& out) {
  std::size_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value < 1 || value > 1000000) return false;
  out = value;
  return true;
}

bool IsCheckName(const std::string& s) {
  if (s.empty() || s[0] < 'a' || s[0] > 'z') return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

// backup keygen; backup decrypt FILE.
bool ParseKeyCommand(const std::vector<std::string>& words, Options& o, std::string& error) {
  std::size_t want = o.command == Command::kBackupDecrypt ? 3 : 2;
  if (words.size() < want) {
    error = "backup decrypt needs a FILE";
    return false;
  }
  if (want == 3) o.decrypt_file = words[2];
  if (words.size() > want) {
    error = "unexpected argument \"" + words[want] + "\" after " + CommandName(o.command) + (want == 3 ? " FILE" : "");
    return false;
  }
  return true;
}

// The command in the positional words ("backup", "run", "CHECK"), or an error.
bool ParseCommand(const std::vector<std::string>& words, Options& o, std::string& error) {
  if (words.empty()) return true;
  const std::string& group = words[0];
  if (group != "backup" && group != "restore") {
    error = "unknown command \"" + group +
            "\" (use backup run|list CHECK, backup keygen, backup decrypt FILE or restore drill|latest CHECK)";
    return false;
  }
  std::string subs = group == "backup" ? "run, list, keygen or decrypt" : "drill or latest";
  if (words.size() < 2) {
    error = group + " needs a subcommand: " + subs;
    return false;
  }
  const std::map<std::string, Command> commands = {{"backup run", Command::kBackupRun},
                                                   {"backup list", Command::kBackupList},
                                                   {"backup keygen", Command::kBackupKeygen},
                                                   {"backup decrypt", Command::kBackupDecrypt},
                                                   {"restore drill", Command::kRestoreDrill},
                                                   {"restore latest", Command::kRestoreLatest}};
  std::string name = group + " " + words[1];
  auto command = commands.find(name);
  if (command == commands.end()) {
    error = "unknown subcommand \"" + name + "\" (" + group + " takes " + subs + ")";
    return false;
  }
  o.command = command->second;
  if (o.command == Command::kBackupKeygen || o.command == Command::kBackupDecrypt) return ParseKeyCommand(words, o, error);
  if (words.size() < 3) {
    error = name + " needs a check name";
    return false;
  }
  o.check = words[2];
  if (!IsCheckName(o.check)) {
    error = "invalid check name \"" + o.check + "\" (use [a-z][a-z0-9_]*)";
    return false;
  }
  if (words.size() > 3) {
    error = "unexpected argument \"" + words[3] + "\" after " + name + " CHECK";
    return false;
  }
  return true;
}

bool ParseShardFlag(const std::string& value, engine::Shard& shard, std::string& error) {
  auto parsed = engine::ParseShard(value, error);
  if (parsed) shard = *parsed;
  return parsed.has_value();
}

// Flags that do not fit the command (or its absence).
bool CheckCombination(Options& o, const std::set<std::string>& seen, std::string& error) {
  bool restore_flags = seen.contains("--to") || seen.contains("--to-file") || seen.contains("--force") ||
                       seen.contains("--no-owner");
  if (restore_flags && o.command != Command::kRestoreLatest) {
    error = "--to, --to-file, --force and --no-owner go only with restore latest";
    return false;
  }
  if (seen.contains("--key-file") != (o.command == Command::kBackupDecrypt)) {
    error = o.command == Command::kBackupDecrypt ? "backup decrypt needs --key-file PATH"
                                                 : "--key-file goes only with backup decrypt";
    return false;
  }
  if (seen.contains("--to") && seen.contains("--to-file")) {
    error = "--to and --to-file exclude each other";
    return false;
  }
  if (o.command == Command::kRestoreLatest && o.restore_to.empty() && o.restore_to_file.empty()) {
    if (std::getenv(kRestoreDsnVariable) == nullptr) {
      error = std::string("restore latest needs the database to restore into: --to DSN, --to-file PATH or $") +
              kRestoreDsnVariable;
      return false;
    }
    o.restore_to_env = true;
  }
  if (o.command != Command::kServe && seen.contains("--shard")) {
    error = std::string("--shard does not go with ") + CommandName(o.command) + " (a command runs the check it names)";
    return false;
  }
  if (o.command != Command::kServe && (o.once || o.config_check)) {
    error = std::string(o.once ? "--once" : "--config.check") + " does not go with " + CommandName(o.command);
    return false;
  }
  if ((seen.contains("--checklist") || seen.contains("--output")) && !o.once) {
    error = "--checklist and --output go only with --once";
    return false;
  }
  if (o.once && o.config_check) {
    error = "--once and --config.check exclude each other";
    return false;
  }
  return true;
}

}  // namespace

std::optional<Options> ParseOptions(const std::vector<std::string>& args, std::string& error) {
  Options o;
  std::string shard_error;  // why --shard was refused, said instead of "invalid value"
  using Setter = std::function<bool(const std::string&)>;
  const std::map<std::string, Setter> valued = {
      {"--config.file", [&](const std::string& v) { o.config_file = v; return !v.empty(); }},
      {"--web.listen-address", [&](const std::string& v) { o.listen_address = v; return !v.empty(); }},
      {"--web.config.file", [&](const std::string& v) { o.web_config_file = v; return !v.empty(); }},
      {"--web.telemetry-path",
       [&](const std::string& v) { o.telemetry_path = v; return !v.empty() && v[0] == '/'; }},
      {"--log.level", [&](const std::string& v) { return ParseLogLevel(v, o.log_level); }},
      {"--log.format", [&](const std::string& v) { return ParseLogFormat(v, o.log_format); }},
      {"--storage.path", [&](const std::string& v) { o.storage_path = v; return !v.empty(); }},
      {"--to", [&](const std::string& v) { o.restore_to = v; return !v.empty(); }},
      {"--to-file", [&](const std::string& v) { o.restore_to_file = v; return !v.empty(); }},
      {"--web.max-connections", [&](const std::string& v) { return ParseCount(v, o.max_connections); }},
      {"--key-file", [&](const std::string& v) { o.key_file = v; return !v.empty(); }},
      {"--checklist",
       [&](const std::string& v) { o.checklist = v; return v == "daily" || v == "weekly" || v == "monthly"; }},
      {"--shard", [&](const std::string& v) { return ParseShardFlag(v, o.shard, shard_error); }},
      {"--output", [&](const std::string& v) { o.junit = v == "junit"; return v == "junit" || v == "table"; }},
  };
  const std::map<std::string, bool*> flags = {
      {"--web.enable-lifecycle", &o.enable_lifecycle}, {"--config.check", &o.config_check},
      {"--once", &o.once}, {"--version", &o.version}, {"--help", &o.help}, {"-h", &o.help},
      {"--force", &o.force}, {"--no-owner", &o.no_owner},
  };
  std::vector<std::string> words;  // positional: the command
  std::set<std::string> seen;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg.empty() || arg[0] != '-') {
      words.push_back(arg);
      continue;
    }
    auto eq = arg.find('=');
    std::string name = arg.substr(0, eq);
    seen.insert(name);
    if (auto f = flags.find(name); f != flags.end() && eq == std::string::npos) {
      *f->second = true;
      continue;
    }
    auto v = valued.find(name);
    if (v == valued.end()) {
      error = "unknown flag " + name;
      return std::nullopt;
    }
    std::string value;
    if (eq != std::string::npos) {
      value = arg.substr(eq + 1);
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      error = "flag " + name + " needs a value";
      return std::nullopt;
    }
    if (!v->second(value)) {
      // --to carries a DSN: never echo it (it can only be empty here anyway).
      error = name == "--to" ? "flag --to needs a value" : "invalid value \"" + value + "\" for " + name;
      if (!shard_error.empty()) error = shard_error;
      return std::nullopt;
    }
  }
  if (o.version || o.help) return o;
  if (!ParseCommand(words, o, error)) return std::nullopt;
  bool needs_catalogue = o.command != Command::kBackupKeygen && o.command != Command::kBackupDecrypt;
  if (o.config_file.empty() && needs_catalogue) {
    error = "missing --config.file";
    return std::nullopt;
  }
  if (!CheckCombination(o, seen, error)) return std::nullopt;
  return o;
}

}  // namespace drwatch::daemon
