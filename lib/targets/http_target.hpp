#pragma once
// type: http. Keys: url (required, http:// or https://), headers (name →
// value, values expanded), ca_file, insecure_skip_verify (default false).
// Probed by kind http (probes/http.cpp).

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "net/http_client.hpp"
#include "targets/target.hpp"

namespace drwatch::targets {

class HttpTargetSpec final : public TargetSpec {
 public:
  std::string url;                                           // expanded; its password is a secret
  std::vector<std::pair<std::string, std::string>> headers;  // in document order
  std::string ca_file;                                       // empty: the system's CAs
  bool insecure_skip_verify = false;
  net::Url parsed_url;
  /// Built while parsing (config load reads the CA file, never the loop);
  /// null for an http:// URL without ca_file.
  std::shared_ptr<const net::TlsClientConfig> tls;

  std::shared_ptr<TargetRuntime> MakeRuntime(boost::asio::any_io_executor executor,
                                             BlockingPool& pool) const override;
};

/// Run-time state of an http target: what every request to it starts from.
/// Immutable; each request opens its own connection.
class HttpTarget final : public TargetRuntime {
 public:
  HttpTarget(net::Url url, net::HeaderList headers, std::shared_ptr<const net::TlsClientConfig> tls)
      : url_(std::move(url)), headers_(std::move(headers)), tls_(std::move(tls)) {}

  /// A request to the target's URL with `path` appended, carrying its headers and TLS settings.
  net::HttpRequestSpec Request(std::string_view method, std::string_view path) const;
  const net::Url& url() const { return url_; }

 private:
  net::Url url_;
  net::HeaderList headers_;
  std::shared_ptr<const net::TlsClientConfig> tls_;
};

/// Reads an http target's keys; nullptr after reporting errors on `node`.
std::shared_ptr<TargetSpec> ParseHttpTarget(config::NodeReader& node);

}  // namespace drwatch::targets
