#include "targets/plain_http.hpp"

#include <boost/asio/ip/address.hpp>
#include <string>

#include "common/text.hpp"

namespace drwatch::targets {
namespace {

bool IsLoopback(const std::string& host) {
  if (host == "localhost" || host.ends_with(".localhost")) return true;
  boost::system::error_code ec;
  auto address = boost::asio::ip::make_address(host, ec);
  return !ec && address.is_loopback();
}

bool Contains(const std::string& lower, std::string_view part) { return lower.find(part) != std::string::npos; }

}  // namespace

bool ReadInsecure(config::NodeReader& node, bool& insecure) {
  insecure = false;
  if (!node.Has("insecure")) return true;
  auto value = node.Bool("insecure");
  insecure = value.value_or(false);
  return value.has_value();
}

bool AllowsCredentialsOver(config::NodeReader& node, std::string_view url_key, const net::Url& url,
                           std::string_view what) {
  bool insecure = false;
  if (!ReadInsecure(node, insecure)) return false;
  if (url.https() || insecure || IsLoopback(url.host)) return true;
  node.Error(url_key, "plain http:// would send " + std::string(what) + " in clear text to " + url.host +
                          ": use https://, or set insecure: true on this target to accept that");
  return false;
}

bool IsSecretHeader(std::string_view name) {
  std::string lower = AsciiLower(name);
  return lower == "authorization" || lower == "proxy-authorization" || lower == "cookie" || Contains(lower, "key") ||
         Contains(lower, "token") || Contains(lower, "secret");
}

}  // namespace drwatch::targets
