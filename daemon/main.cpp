// drwatchd: flags, logging, then the App (see app.hpp).

#include <cstdio>
#include <string>
#include <vector>

#include "app.hpp"
#include "commands.hpp"
#include "common/log.hpp"
#include "drwatch/version.hpp"
#include "options.hpp"

int main(int argc, char** argv) {
  using namespace drwatch;
  std::vector<std::string> args(argv + 1, argv + argc);
  std::string error;
  auto options = daemon::ParseOptions(args, error);
  if (!options) {
    std::fprintf(stderr, "drwatchd: %s\n\n%s", error.c_str(), daemon::Usage().c_str());
    return 2;
  }
  if (options->help) {
    std::fputs(daemon::Usage().c_str(), stdout);
    return 0;
  }
  if (options->version) {
    std::printf("drwatchd %s (revision %s)\n", kVersion, kRevision);
    return 0;
  }
  bool serve = !options->config_check && !options->once && options->command == daemon::Command::kServe;
  SetupLogging(options->log_level, options->log_format, serve ? LogMode::kAsync : LogMode::kSync);
  if (options->config_check) return daemon::CheckConfig(*options);
  if (options->once) return daemon::RunOnce(*options);
  if (options->command != daemon::Command::kServe) return daemon::RunCommand(*options);
  int code = 1;
  try {
    daemon::App app(*options);
    code = app.Run();
  } catch (const std::exception& e) {
    spdlog::critical("fatal: {}", e.what());
  }
  StopLogging();  // the last lines (refusals, "stopped") before the exit
  return code;
}
