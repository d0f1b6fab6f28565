#pragma once
// The client side's TLS trust (CA bundle, verification on or off), built once
// at load time and shared by every request of a target.

#include <memory>
#include <string>

namespace boost::asio::ssl {
class context;
}

namespace drwatch::net {

/// A client TLS configuration: the trusted CAs and whether to verify. Build
/// it once (it reads files: at load time or off the loop) and share it.
class TlsClientConfig {
 public:
  /// Trusts the CAs of the PEM file `ca_file` instead of the system's when it
  /// is not empty. Returns nullptr and sets `error` when a file cannot be
  /// loaded. Blocking (reads files).
  static std::shared_ptr<TlsClientConfig> Make(const std::string& ca_file, bool insecure_skip_verify,
                                               std::string& error);
  /// The process-wide default (system CAs, verification on). The first call
  /// reads the system CA bundle: make it at load time, not on the loop.
  static std::shared_ptr<TlsClientConfig> Default();

  ~TlsClientConfig();
  boost::asio::ssl::context& context() const { return *context_; }
  bool verify() const { return verify_; }

 private:
  TlsClientConfig();
  std::unique_ptr<boost::asio::ssl::context> context_;
  bool verify_ = true;
};

}  // namespace drwatch::net
