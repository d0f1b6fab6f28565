#include "common/log.hpp"

#include <spdlog/async.h>
#include <spdlog/details/null_mutex.h>
#include <spdlog/sinks/base_sink.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>
#include <mutex>

#include "common/iso8601.hpp"
#include "common/redact.hpp"

namespace drwatch {
namespace {


// A stderr sink that redacts secrets and writes text or JSON lines.
class RedactingSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit RedactingSink(LogFormat format) : format_(format) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    std::string text = Redactor::Global().Apply(
        std::string_view(msg.payload.data(), msg.payload.size()));
    auto level = spdlog::level::to_string_view(msg.level);
    std::string line;
    if (format_ == LogFormat::kJson) {
      line = "{\"ts\":\"" + FormatRfc3339(msg.time) + "\",\"level\":\"" +
             std::string(level.data(), level.size()) + "\",\"msg\":\"" + JsonEscape(text) +
             "\"}\n";
    } else {
      line = FormatRfc3339(msg.time) + " " + std::string(level.data(), level.size()) + " " + text +
             "\n";
    }
    std::fwrite(line.data(), 1, line.size(), stderr);
  }
  void flush_() override { std::fflush(stderr); }

 private:
  LogFormat format_;
};

}  // namespace

bool ParseLogLevel(std::string_view text, spdlog::level::level_enum& out) {
  if (text == "debug") out = spdlog::level::debug;
  else if (text == "info") out = spdlog::level::info;
  else if (text == "warn") out = spdlog::level::warn;
  else if (text == "error") out = spdlog::level::err;
  else return false;
  return true;
}

bool ParseLogFormat(std::string_view text, LogFormat& out) {
  if (text == "text") out = LogFormat::kText;
  else if (text == "json") out = LogFormat::kJson;
  else return false;
  return true;
}

void SetupLogging(spdlog::level::level_enum level, LogFormat format, LogMode mode) {
  auto sink = std::make_shared<RedactingSink>(format);
  std::shared_ptr<spdlog::logger> logger;
  if (mode == LogMode::kAsync) {
    // One worker thread writes (and redacts); the loop only enqueues. A full
    // queue overwrites its oldest line instead of waiting: a stalled
    // journald or a full pipe must not stall checks and scrapes.
    spdlog::init_thread_pool(kLogQueueSize, 1);
    logger = std::make_shared<spdlog::async_logger>("drwatchd", sink, spdlog::thread_pool(),
                                                    spdlog::async_overflow_policy::overrun_oldest);
  } else {
    logger = std::make_shared<spdlog::logger>("drwatchd", sink);
  }
  logger->set_level(level);
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(logger);
}

std::uint64_t DroppedLogLines() {
  auto pool = spdlog::thread_pool();
  return pool ? static_cast<std::uint64_t>(pool->overrun_counter()) : 0;
}

void StopLogging() { spdlog::shutdown(); }

std::string JsonEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 8);
  for (unsigned char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out;
}

}  // namespace drwatch
