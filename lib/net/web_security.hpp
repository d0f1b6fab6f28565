#pragma once
// A web configuration made ready to serve: the TLS server context (its
// certificate and key loaded) and the basic-auth check. Built off the loop
// (it reads files); shared read-only by every connection that started under it.

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "net/web_settings.hpp"

namespace boost::asio::ssl {
class context;
}

namespace drwatch::net {

class WebSecurity {
 public:
  /// Loads the certificate, key and client CA of `config.tls`. Returns
  /// nullptr and sets `error` ("tls_server_config.cert_file: …") when one
  /// cannot be loaded. Blocking (reads files).
  static std::shared_ptr<const WebSecurity> Make(const WebConfig& config, std::string& error);
  ~WebSecurity();

  /// The TLS server context, or nullptr for plain HTTP.
  boost::asio::ssl::context* tls() const { return tls_.get(); }
  bool requires_auth() const { return !users_.empty(); }
  const std::vector<std::pair<std::string, std::string>>& headers() const { return headers_; }

  /// True when `password` matches `user`'s bcrypt hash. An unknown user is
  /// hashed against a dummy hash of the same cost, so it takes as long as a
  /// wrong password. Blocking (bcrypt: ~100 ms at cost 10): run it off the loop.
  /// Remembers the credentials that matched (as SHA-256 digests), so that a
  /// scrape every few seconds does not pay bcrypt each time.
  bool CheckPassword(const std::string& user, const std::string& password) const;
  /// True when these credentials matched before under this configuration.
  /// Cheap: callable on the loop.
  bool IsKnownGood(const std::string& user, const std::string& password) const;

 private:
  WebSecurity() = default;
  std::unique_ptr<boost::asio::ssl::context> tls_;
  std::map<std::string, std::string> users_;
  std::string dummy_hash_;
  std::vector<std::pair<std::string, std::string>> headers_;
  mutable std::mutex mutex_;
  mutable std::set<std::string> known_good_;  // digests of "user\0password"
};

/// Splits an "Authorization: Basic …" value into user and password; false
/// when it is not one.
bool ParseBasicAuth(std::string_view header, std::string& user, std::string& password);

}  // namespace drwatch::net
