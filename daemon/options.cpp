#include "options.hpp"

#include <functional>
#include <map>

namespace drwatch::daemon {

std::string Usage() {
  return R"(usage: drwatchd --config.file=PATH [flags]

Watches a PostgreSQL application's backup and disaster-recovery health and
exports the results as Prometheus metrics.

Flags:
  --config.file=PATH            check catalogue (YAML), required
  --web.listen-address=ADDR     where to serve HTTP (default ":10432")
  --web.telemetry-path=PATH     path of the metrics (default "/metrics")
  --web.enable-lifecycle        enable POST /-/reload
  --log.level=LEVEL             debug, info, warn or error (default info)
  --log.format=FORMAT           text or json (default text)
  --config.check                validate the catalogue, print OK or every error, exit 0/1
  --once                        run every check once, print a table, exit 0 only if all succeeded
  --version                     print the version and exit
  -h, --help                    print this help and exit
)";
}

std::optional<Options> ParseOptions(const std::vector<std::string>& args, std::string& error) {
  Options o;
  using Setter = std::function<bool(const std::string&)>;
  const std::map<std::string, Setter> valued = {
      {"--config.file", [&](const std::string& v) { o.config_file = v; return !v.empty(); }},
      {"--web.listen-address", [&](const std::string& v) { o.listen_address = v; return !v.empty(); }},
      {"--web.telemetry-path",
       [&](const std::string& v) { o.telemetry_path = v; return !v.empty() && v[0] == '/'; }},
      {"--log.level", [&](const std::string& v) { return ParseLogLevel(v, o.log_level); }},
      {"--log.format", [&](const std::string& v) { return ParseLogFormat(v, o.log_format); }},
  };
  const std::map<std::string, bool*> flags = {
      {"--web.enable-lifecycle", &o.enable_lifecycle}, {"--config.check", &o.config_check},
      {"--once", &o.once}, {"--version", &o.version}, {"--help", &o.help}, {"-h", &o.help},
  };
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    auto eq = arg.find('=');
    std::string name = arg.substr(0, eq);
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
      error = "invalid value \"" + value + "\" for " + name;
      return std::nullopt;
    }
  }
  if (o.config_file.empty() && !o.version && !o.help) {
    error = "missing --config.file";
    return std::nullopt;
  }
  if (o.once && o.config_check) {
    error = "--once and --config.check exclude each other";
    return std::nullopt;
  }
  return o;
}

}  // namespace drwatch::daemon
