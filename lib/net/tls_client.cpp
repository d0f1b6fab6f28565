#include "net/tls_client.hpp"

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <boost/asio/ssl/context.hpp>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>

namespace drwatch::net {
namespace {

namespace ssl = boost::asio::ssl;
using boost::system::error_code;

// Trusts the system bundle, loaded now (the hashed-directory lookup of
// set_default_verify_paths would read files during handshakes, on the loop).
void LoadSystemCas(ssl::context& ctx) {
  const char* env = std::getenv(X509_get_default_cert_file_env());
  std::string file = env && *env ? env : X509_get_default_cert_file();
  error_code ec;
  if (std::filesystem::exists(file)) {
    ctx.load_verify_file(file, ec);
    if (!ec) return;
  }
  ctx.set_default_verify_paths(ec);
}

}  // namespace

TlsClientConfig::TlsClientConfig() = default;
TlsClientConfig::~TlsClientConfig() = default;

std::shared_ptr<TlsClientConfig> TlsClientConfig::Make(const std::string& ca_file, bool insecure_skip_verify,
                                                       std::string& error) {
  std::shared_ptr<TlsClientConfig> config(new TlsClientConfig());
  config->context_ = std::make_unique<ssl::context>(ssl::context::tls_client);
  SSL_CTX_set_min_proto_version(config->context_->native_handle(), TLS1_2_VERSION);
  config->verify_ = !insecure_skip_verify;
  if (!ca_file.empty()) {
    if (FILE* f = std::fopen(ca_file.c_str(), "r")) {
      std::fclose(f);
    } else {
      error = "cannot read CA file " + ca_file + ": " + std::strerror(errno);
      return nullptr;
    }
    error_code ec;
    config->context_->load_verify_file(ca_file, ec);
    if (ec) {
      error = "cannot load CA file " + ca_file + ": " + ec.message();
      return nullptr;
    }
  } else if (config->verify_) {
    LoadSystemCas(*config->context_);
  }
  return config;
}

std::shared_ptr<TlsClientConfig> TlsClientConfig::Default() {
  static const std::shared_ptr<TlsClientConfig> config = [] {
    std::string error;
    return Make("", false, error);
  }();
  return config;
}

}  // namespace drwatch::net
