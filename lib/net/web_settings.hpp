#pragma once
// The web configuration (--web.config.file), in the Prometheus
// exporter-toolkit format: TLS for the listener, HTTP basic auth users and
// extra response headers. Plain values; config/web_config.hpp parses them.

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace drwatch::net {

/// exporter-toolkit's client_auth_type values, in its own spelling.
enum class ClientAuth {
  kNoClientCert,
  kRequestClientCert,
  kRequireAnyClientCert,
  kVerifyClientCertIfGiven,
  kRequireAndVerifyClientCert,
};

enum class TlsVersion { kTls12, kTls13 };

struct TlsServerConfig {
  std::string cert_file;
  std::string key_file;
  ClientAuth client_auth = ClientAuth::kNoClientCert;
  std::string client_ca_file;  // required by the verifying client_auth types
  TlsVersion min_version = TlsVersion::kTls12;
  std::optional<TlsVersion> max_version;  // unset: the newest OpenSSL offers
};

struct WebConfig {
  std::optional<TlsServerConfig> tls;
  /// user → bcrypt hash ($2y$/$2b$/$2a$). Empty: no authentication.
  std::map<std::string, std::string> basic_auth_users;
  /// Added to every response (http_server_config.headers).
  std::vector<std::pair<std::string, std::string>> headers;
};

}  // namespace drwatch::net
