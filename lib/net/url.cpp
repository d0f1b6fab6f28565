#include "net/url.hpp"

#include <algorithm>
#include <boost/asio/ip/address_v6.hpp>
#include <cctype>
#include <charconv>

#include "common/text.hpp"

namespace drwatch::net {
namespace {

namespace asio = boost::asio;
using boost::system::error_code;


bool IsHostChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
}

}  // namespace

std::string Url::HostHeader() const {
  std::string host_part = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  std::uint16_t default_port = https() ? 443 : 80;
  return port == default_port ? host_part : host_part + ":" + std::to_string(port);
}

std::string Url::ToString() const { return scheme + "://" + HostHeader() + target; }

std::optional<Url> ParseUrl(std::string_view text, std::string& error) {
  for (char c : text) {
    if (std::isspace(static_cast<unsigned char>(c)) || std::iscntrl(static_cast<unsigned char>(c))) {
      error = "contains a space or control character";
      return std::nullopt;
    }
  }
  auto scheme_end = text.find("://");
  if (scheme_end == std::string_view::npos) {
    error = "expected scheme://host";
    return std::nullopt;
  }
  Url url;
  url.scheme = AsciiLower(text.substr(0, scheme_end));
  if (url.scheme != "http" && url.scheme != "https") {
    error = "unsupported scheme \"" + url.scheme + "\" (use http or https)";
    return std::nullopt;
  }
  std::string_view rest = text.substr(scheme_end + 3);
  auto authority_end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, authority_end);
  std::string_view tail = authority_end == std::string_view::npos ? "" : rest.substr(authority_end);
  if (auto at = authority.rfind('@'); at != std::string_view::npos) {
    url.userinfo = std::string(authority.substr(0, at));
    authority = authority.substr(at + 1);
  }
  std::string_view port_text;
  if (authority.starts_with('[')) {
    auto close = authority.find(']');
    if (close == std::string_view::npos) {
      error = "unclosed '[' in host";
      return std::nullopt;
    }
    url.host = std::string(authority.substr(1, close - 1));
    error_code ec;
    asio::ip::make_address_v6(url.host, ec);
    if (ec) {
      error = "invalid IPv6 address \"" + url.host + "\"";
      return std::nullopt;
    }
    std::string_view after = authority.substr(close + 1);
    if (!after.empty() && after[0] != ':') {
      error = "unexpected text after ']'";
      return std::nullopt;
    }
    if (!after.empty()) port_text = after.substr(1);
  } else {
    auto colon = authority.rfind(':');
    url.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
    if (!std::all_of(url.host.begin(), url.host.end(), IsHostChar)) {
      error = "invalid host \"" + url.host + "\"";
      return std::nullopt;
    }
  }
  if (url.host.empty()) {
    error = "missing host";
    return std::nullopt;
  }
  url.port = url.https() ? 443 : 80;
  if (!port_text.empty()) {
    unsigned value = 0;
    auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
    if (ec != std::errc() || ptr != port_text.data() + port_text.size() || value == 0 || value > 65535) {
      error = "invalid port \"" + std::string(port_text) + "\"";
      return std::nullopt;
    }
    url.port = static_cast<std::uint16_t>(value);
  }
  tail = tail.substr(0, tail.find('#'));
  url.target = tail.starts_with('/') ? std::string(tail) : "/" + std::string(tail);
  return url;
}

std::string JoinTarget(std::string_view url_target, std::string_view path) {
  if (path.empty()) return std::string(url_target);
  auto split = [](std::string_view t) {
    auto q = t.find('?');
    return std::pair{t.substr(0, q), q == std::string_view::npos ? std::string_view() : t.substr(q + 1)};
  };
  auto [base, base_query] = split(url_target);
  auto [extra, extra_query] = split(path);
  while (base.ends_with('/')) base.remove_suffix(1);
  while (extra.starts_with('/')) extra.remove_prefix(1);
  std::string out = std::string(base) + "/" + std::string(extra);
  std::string query(extra_query);
  if (!base_query.empty()) query += (query.empty() ? "" : "&") + std::string(base_query);
  if (!query.empty()) out += "?" + query;
  return out;
}

}  // namespace drwatch::net
