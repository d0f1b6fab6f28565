#include "targets/http_target.hpp"

#include <algorithm>
#include <cctype>
#include <optional>
#include <string_view>

#include "common/redact.hpp"
#include "common/text.hpp"
#include "config/node_reader.hpp"
#include "targets/plain_http.hpp"

namespace drwatch::targets {
namespace {

bool IsTokenChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool IsHeaderName(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), IsTokenChar);
}

// The password of "scheme://user:password@host/…", if any.
std::optional<std::string> UrlPassword(std::string_view url) {
  auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return std::nullopt;
  std::string_view rest = url.substr(scheme_end + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  auto at = rest.rfind('@');
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view userinfo = rest.substr(0, at);
  auto colon = userinfo.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  return std::string(userinfo.substr(colon + 1));
}

bool HasHttpScheme(std::string_view url) {
  for (std::string_view scheme : {"http://", "https://"}) {
    if (url.starts_with(scheme) && url.size() > scheme.size()) return true;
  }
  return false;
}

// Reads `headers`; false after reporting an error.
bool ReadHeaders(config::NodeReader& node, std::vector<std::pair<std::string, std::string>>& out) {
  auto headers = node.Map("headers");
  if (!headers) return !node.Has("headers");
  bool ok = headers->valid();
  std::vector<std::pair<std::string, std::string>> seen;  // lower-case name, as written
  for (const auto& name : headers->Keys()) {
    auto value = headers->String(name);
    if (!IsHeaderName(name)) {
      node.diag().Error(headers->MarkOf(name), headers->PathOf(name), "invalid header name");
      ok = false;
    }
    auto first =
        std::find_if(seen.begin(), seen.end(), [&](const auto& s) { return s.first == AsciiLower(name); });
    if (first != seen.end()) {
      node.diag().Error(headers->MarkOf(name), headers->PathOf(name),
                        "duplicate header (header names ignore case; first as \"" + first->second + "\")");
      ok = false;
    }
    seen.emplace_back(AsciiLower(name), name);
    if (!value) {
      ok = false;
      continue;
    }
    if (value->find_first_of("\r\n") != std::string::npos) {
      headers->Error(name, "header value must not contain a line break");
      ok = false;
    }
    // Credentials can be written literally, not only through ${env:…}.
    if (IsSecretHeader(name)) Redactor::Global().Add(*value);
    out.emplace_back(name, *value);
  }
  return ok;
}

}  // namespace

std::shared_ptr<TargetSpec> ParseHttpTarget(config::NodeReader& node) {
  auto spec = std::make_shared<HttpTargetSpec>();
  auto url = node.String("url", true);
  bool ok = url.has_value();
  if (url) {
    if (auto password = UrlPassword(*url)) Redactor::Global().Add(*password);
    if (!HasHttpScheme(*url)) {
      node.Error("url", "expected a URL starting with http:// or https://");
      ok = false;
    }
    spec->url = *url;
    std::string error;
    auto parsed = net::ParseUrl(*url, error);
    if (ok && !parsed) {
      node.Error("url", "invalid URL: " + error);
      ok = false;
    }
    if (parsed) spec->parsed_url = *parsed;
  }
  ok = ReadHeaders(node, spec->headers) && ok;
  bool sends_credentials = url && UrlPassword(*url).has_value();
  for (const auto& header : spec->headers) sends_credentials = sends_credentials || IsSecretHeader(header.first);
  bool insecure = false;
  if (ok && sends_credentials) {
    ok = AllowsCredentialsOver(node, "url", spec->parsed_url, "the credentials in its URL or headers");
  } else {
    ok = ReadInsecure(node, insecure) && ok;
  }
  if (node.Has("ca_file")) {
    auto ca_file = node.String("ca_file");
    ok = ca_file.has_value() && ok;
    spec->ca_file = ca_file.value_or("");
  }
  if (node.Has("insecure_skip_verify")) {
    auto insecure = node.Bool("insecure_skip_verify");
    ok = insecure.has_value() && ok;
    spec->insecure_skip_verify = insecure.value_or(false);
  }
  if (!ok) return nullptr;
  if (!spec->ca_file.empty() || spec->insecure_skip_verify) {
    std::string error;
    spec->tls = net::TlsClientConfig::Make(spec->ca_file, spec->insecure_skip_verify, error);
    if (!spec->tls) {
      node.Error("ca_file", error);
      return nullptr;
    }
  } else if (spec->parsed_url.https()) {
    spec->tls = net::TlsClientConfig::Default();  // loads the system CAs now, at load time
  }
  return spec;
}

std::shared_ptr<TargetRuntime> HttpTargetSpec::MakeRuntime(boost::asio::any_io_executor executor,
                                                           BlockingPool& pool) const {
  return std::make_shared<HttpTarget>(parsed_url, headers, tls);
}

net::HttpRequestSpec HttpTarget::Request(std::string_view method, std::string_view path) const {
  net::HttpRequestSpec spec;
  spec.method = std::string(method);
  spec.url = url_;
  spec.url.target = net::JoinTarget(url_.target, path);
  spec.headers = headers_;
  spec.tls = tls_;
  return spec;
}

}  // namespace drwatch::targets
