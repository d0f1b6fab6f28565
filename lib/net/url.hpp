#pragma once
// Absolute http(s) URLs as HTTP targets and S3 endpoints name them: parsed
// once at load time, then used for requests and safe-to-log text.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace drwatch::net {

/// An absolute http:// or https:// URL, split for a request.
struct Url {
  std::string scheme;    // "http" or "https" (lower case)
  std::string userinfo;  // "user:password" before '@', or empty (percent-decoded)
  std::string host;      // name or IP address; IPv6 without brackets
  std::uint16_t port = 0;  // explicit or the scheme's default
  std::string target;    // path and query, "/" at least; no fragment

  bool https() const { return scheme == "https"; }
  /// The Host header value: host, [v6] in brackets, ":port" unless default.
  std::string HostHeader() const;
  /// scheme://host[:port]target, without the userinfo (safe to log).
  std::string ToString() const;
};

/// Parses an absolute http(s) URL. On failure returns nullopt and sets
/// `error` ("unsupported scheme \"ftp\"", "missing host", "invalid port \"x\"", …).
std::optional<Url> ParseUrl(std::string_view text, std::string& error);

/// Appends `path` to the URL's target: exactly one '/' joins them; the URL's
/// own query string stays last ("/api?k=1" + "/health" → "/api/health?k=1").
std::string JoinTarget(std::string_view url_target, std::string_view path);

}  // namespace drwatch::net
