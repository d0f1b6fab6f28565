// http: one request to an http target (its url, headers and TLS settings)
// with the check's path, method and body; success when the status is
// expected and the body matches body_regex. The deadline covers DNS, connect,
// TLS and the body: the runner cancels the request.

#include <re2/re2.h>

#include <algorithm>
#include <charconv>
#include <memory>

#include "config/node_reader.hpp"
#include "metrics/families.hpp"
#include "probes/http_probes.hpp"
#include "targets/http_target.hpp"

namespace drwatch::probes {
namespace {

// body_regex sees this much of the body; the rest is not read.
constexpr std::size_t kBodyLimit = 64 * 1024;
// RE2's budget for one compiled body_regex (program and DFA cache). A search
// that exhausts the DFA cache falls back to the NFA: slower, still linear.
constexpr std::int64_t kRegexMaxMem = 4 << 20;

class HttpProbe final : public Probe {
 public:
  struct Options {
    std::string method = "GET";
    std::string path;
    std::string body;
    std::vector<int> expect_status;  // empty: any 2xx
    std::shared_ptr<const re2::RE2> body_regex;
  };

  explicit HttpProbe(Options options) : o_(std::move(options)) {}

  boost::asio::awaitable<ProbeResult> Run(RunContext& ctx) override {
    auto& target = static_cast<targets::HttpTarget&>(ctx.target);
    net::HttpRequestSpec request = target.Request(o_.method, o_.path);
    request.body = o_.body;
    request.body_limit = kBodyLimit;
    net::HttpResult response = co_await net::Fetch(ctx.executor, std::move(request));
    ProbeResult out = Judge(response);
    AppendHttpSamples(response, out.samples);
    out.observed = Total(response.phases);
    co_return out;
  }

 private:
  static double Total(const net::HttpPhases& p) {
    double total = 0;
    for (auto phase : {p.resolve, p.connect, p.tls, p.first_byte, p.transfer}) total += phase.value_or(0);
    return total;
  }

  bool StatusExpected(int status) const {
    if (o_.expect_status.empty()) return status >= 200 && status <= 299;
    return std::find(o_.expect_status.begin(), o_.expect_status.end(), status) != o_.expect_status.end();
  }

  std::string ExpectedText() const {
    if (o_.expect_status.empty()) return "2xx";
    std::string text;
    for (std::size_t i = 0; i < o_.expect_status.size(); ++i) {
      if (i) text += i + 1 == o_.expect_status.size() ? " or " : ", ";
      text += std::to_string(o_.expect_status[i]);
    }
    return text;
  }

  ProbeResult Judge(const net::HttpResult& response) const {
    if (!response.ok()) return ProbeResult::Fail(response.error);
    std::string status = "status " + std::to_string(response.status);
    if (!StatusExpected(response.status)) {
      return ProbeResult::Fail(status + ", expected " + ExpectedText());
    }
    // RE2 runs in time linear in the body (no backtracking, no recursion per
    // character as std::regex has), so 64 KiB cannot stall the loop.
    if (o_.body_regex && !re2::RE2::PartialMatch(response.body, *o_.body_regex)) {
      return ProbeResult::Fail(status + ", body does not match /" + o_.body_regex->pattern() + "/");
    }
    ProbeResult ok = ProbeResult::Ok();
    ok.reason = status;
    return ok;
  }

  Options o_;
};

// expect_status: a list of codes 100..599; false after reporting an error.
bool ReadExpectStatus(config::NodeReader& check, std::vector<int>& out) {
  if (!check.Has("expect_status")) return true;
  YAML::Node list = check.node()["expect_status"];
  if (!list.IsSequence() || list.size() == 0) {
    check.Consume("expect_status");
    check.Error("expect_status", "expected a list of status codes, e.g. [200, 204]");
    return false;
  }
  auto items = check.StringList("expect_status");
  if (!items) return false;
  bool ok = true;
  for (std::size_t i = 0; i < items->size(); ++i) {
    const std::string& text = (*items)[i];
    int code = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), code);
    if (ec != std::errc() || ptr != text.data() + text.size() || code < 100 || code > 599) {
      check.diag().Error(list[i].Mark(), check.PathOf("expect_status[" + std::to_string(i) + "]"),
                         "expected a status code between 100 and 599");
      ok = false;
      continue;
    }
    out.push_back(code);
  }
  return ok;
}

// The lookaround a refused pattern starts at `arg` ("(?=", "(?<!", …), or "".
// RE2 reports only "(?<" for lookbehind, so read on in the pattern.
std::string Lookaround(const re2::RE2& regex) {
  if (regex.error_code() != re2::RE2::ErrorBadPerlOp) return "";
  const std::string& arg = regex.error_arg();
  if (arg == "(?=" || arg == "(?!") return arg;
  std::size_t at = regex.pattern().find(arg);
  if (arg != "(?<" || at == std::string::npos || at + 3 >= regex.pattern().size()) return "";
  char next = regex.pattern()[at + 3];
  return next == '=' || next == '!' ? arg + next : "";
}

// Why RE2 refused `regex`, worded for someone who wrote it for PCRE or
// JavaScript: backreferences and lookaround get a sentence of their own.
std::string RegexError(const re2::RE2& regex) {
  const std::string& arg = regex.error_arg();
  if (regex.error_code() == re2::RE2::ErrorBadEscape && arg.size() == 2 && arg[1] >= '1' && arg[1] <= '9') {
    return "unsupported regular expression: backreference " + arg +
           " (RE2 syntax matches in linear time and has no backreferences)";
  }
  if (std::string look = Lookaround(regex); !look.empty()) {
    return "unsupported regular expression: lookaround " + look +
           " (RE2 syntax matches in linear time and has no lookahead or lookbehind)";
  }
  if (regex.error_code() == re2::RE2::ErrorPatternTooLarge) {
    return "regular expression too large (over the " + std::to_string(kRegexMaxMem >> 20) +
           " MiB budget: use fewer or smaller repetitions)";
  }
  return "invalid regular expression: " + regex.error();
}

// body_regex: RE2 syntax (Go's regexp, as in blackbox_exporter), compiled
// here, once; a search is unanchored.
bool ReadBodyRegex(config::NodeReader& check, HttpProbe::Options& o) {
  auto text = check.String("body_regex");
  if (!text) return !check.Has("body_regex");
  re2::RE2::Options options;
  options.set_max_mem(kRegexMaxMem);
  options.set_log_errors(false);  // the catalogue error says it
  auto regex = std::make_shared<const re2::RE2>(*text, options);
  if (!regex->ok()) {
    check.Error("body_regex", RegexError(*regex));
    return false;
  }
  o.body_regex = std::move(regex);
  return true;
}

}  // namespace

void AppendHttpSamples(const net::HttpResult& result, std::vector<metrics::Sample>& out) {
  const net::HttpPhases& p = result.phases;
  const std::pair<const char*, const std::optional<double>*> phases[] = {
      {"resolve", &p.resolve}, {"connect", &p.connect}, {"tls", &p.tls},
      {"first_byte", &p.first_byte}, {"transfer", &p.transfer}};
  for (const auto& [name, value] : phases) {
    if (!*value) continue;
    out.push_back(metrics::kHttpPhaseDurationSeconds.Make(**value, {{"phase", name}}));
  }
  if (result.status != 0) {
    out.push_back(metrics::kHttpStatusCode.Make(static_cast<double>(result.status)));
  }
  if (result.cert_not_after) {
    out.push_back(metrics::kHttpTlsCertExpiryTimestampSeconds.Make(ToUnixSeconds(*result.cert_not_after)));
  }
}

std::unique_ptr<Probe> ParseHttpProbe(config::NodeReader& check) {
  HttpProbe::Options o;
  bool ok = true;
  if (auto method = check.String("method")) {
    o.method = *method;
    if (o.method != "GET" && o.method != "HEAD" && o.method != "POST") {
      check.Error("method", "unsupported method \"" + o.method + "\" (use GET, HEAD or POST)");
      ok = false;
    }
  } else {
    ok = !check.Has("method");
  }
  if (auto path = check.String("path")) {
    o.path = *path;
    if (o.path.find_first_of(" \t\r\n#") != std::string::npos) {
      check.Error("path", "a path must not contain spaces, line breaks or '#'");
      ok = false;
    }
  } else {
    ok = !check.Has("path") && ok;
  }
  if (auto body = check.String("body")) {
    o.body = *body;
    if (ok && o.method != "POST") {
      check.Error("body", "a body needs method: POST");
      ok = false;
    }
  } else {
    ok = !check.Has("body") && ok;
  }
  ok = ReadExpectStatus(check, o.expect_status) && ok;
  ok = ReadBodyRegex(check, o) && ok;
  if (ok && o.body_regex && o.method == "HEAD") {
    check.Error("body_regex", "a HEAD response has no body to match");
    ok = false;
  }
  if (!ok) return nullptr;
  return std::make_unique<HttpProbe>(std::move(o));
}

}  // namespace drwatch::probes
