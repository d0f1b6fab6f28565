#include "targets/supabase_target.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "common/iso8601.hpp"
#include "common/redact.hpp"
#include "config/node_reader.hpp"
#include "targets/plain_http.hpp"

namespace drwatch::targets {
namespace {

constexpr std::chrono::seconds kDefaultRetryAfter{60};
constexpr std::chrono::seconds kMaxRetryAfter{3600};

bool IsRefChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_'; }

}  // namespace

std::shared_ptr<TargetSpec> ParseSupabaseTarget(config::NodeReader& node) {
  auto spec = std::make_shared<SupabaseTargetSpec>();
  auto ref = node.String("project_ref", true);
  auto token = node.String("access_token", true);
  bool ok = ref && token;
  if (token) Redactor::Global().Add(*token);  // a secret even when written literally
  if (ref && (ref->empty() || !std::all_of(ref->begin(), ref->end(), IsRefChar))) {
    node.Error("project_ref", "invalid project_ref \"" + *ref + "\" (letters, digits, '-' and '_')");
    ok = false;
  }
  if (token && token->empty()) {
    node.Error("access_token", "empty access_token");
    ok = false;
  }
  if (node.Has("api_url")) {
    auto url = node.String("api_url");
    ok = url.has_value() && ok;
    if (url) spec->api_url = *url;
  }
  std::string error;
  auto parsed = net::ParseUrl(spec->api_url, error);
  if (!parsed) {
    node.Error("api_url", "invalid URL: " + error);
    ok = false;
  }
  if (ok) ok = AllowsCredentialsOver(node, "api_url", *parsed, "the access token");
  if (!ok) return nullptr;
  spec->project_ref = *ref;
  spec->access_token = *token;
  spec->parsed_api_url = *parsed;
  if (parsed->https()) spec->tls = net::TlsClientConfig::Default();  // reads the system CAs now, at load
  return spec;
}

std::shared_ptr<TargetRuntime> SupabaseTargetSpec::MakeRuntime(boost::asio::any_io_executor executor,
                                                               BlockingPool& pool) const {
  return std::make_shared<SupabaseTarget>(*this);
}

SupabaseTarget::SupabaseTarget(const SupabaseTargetSpec& spec)
    : project_ref_(spec.project_ref),
      access_token_(spec.access_token),
      api_url_(spec.parsed_api_url),
      tls_(spec.tls) {}

net::HttpRequestSpec SupabaseTarget::ProjectRequest(std::string_view path) const {
  net::HttpRequestSpec request;
  request.url = api_url_;
  request.url.target = net::JoinTarget(api_url_.target, "/v1/projects/" + project_ref_ + std::string(path));
  request.headers = {{"Authorization", "Bearer " + access_token_}, {"Accept", "application/json"}};
  request.tls = tls_;
  return request;
}

std::chrono::seconds SupabaseTarget::RetryAfter(const net::HttpResult& response) {
  std::string_view text = response.Header("Retry-After");
  long long seconds = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
  std::chrono::seconds wait = kDefaultRetryAfter;
  if (!text.empty() && ec == std::errc() && ptr == text.data() + text.size() && seconds >= 0) {
    wait = std::chrono::seconds(seconds);
  } else if (auto when = ParseHttpDate(text)) {
    wait = std::chrono::ceil<std::chrono::seconds>(*when - std::chrono::system_clock::now());
  }
  return std::clamp(wait, std::chrono::seconds(1), kMaxRetryAfter);
}

std::string SupabaseTarget::RateLimited(Clock::duration left) {
  return "rate limited, retry in " + std::to_string(std::chrono::ceil<std::chrono::seconds>(left).count()) + "s";
}

}  // namespace drwatch::targets
