#include "net/web_security.hpp"

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/string.hpp>

namespace drwatch::net {
namespace {

namespace ssl = boost::asio::ssl;

// A salt that no configured hash uses: hashing a wrong user's password with
// it costs what checking a real hash costs, and never matches.
constexpr std::string_view kDummySalt = "drwatchdummysaltdrwatc";

int OpenSslVersion(TlsVersion v) { return v == TlsVersion::kTls13 ? TLS1_3_VERSION : TLS1_2_VERSION; }

int VerifyMode(ClientAuth a) {
  switch (a) {
    case ClientAuth::kNoClientCert: return SSL_VERIFY_NONE;
    // Go's RequestClientCert and RequireAnyClientCert accept any certificate;
    // with OpenSSL, a peer certificate is only requested under VERIFY_PEER, and
    // the callback in Make() then accepts what the CA does not vouch for.
    case ClientAuth::kRequestClientCert:
    case ClientAuth::kVerifyClientCertIfGiven: return SSL_VERIFY_PEER;
    case ClientAuth::kRequireAnyClientCert:
    case ClientAuth::kRequireAndVerifyClientCert:
      return SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
  }
  return SSL_VERIFY_NONE;
}

bool Verifies(ClientAuth a) {
  return a == ClientAuth::kVerifyClientCertIfGiven || a == ClientAuth::kRequireAndVerifyClientCert;
}

std::unique_ptr<ssl::context> MakeTls(const TlsServerConfig& cfg, std::string& error) {
  auto ctx = std::make_unique<ssl::context>(ssl::context::tls_server);
  SSL_CTX* native = ctx->native_handle();
  SSL_CTX_set_min_proto_version(native, OpenSslVersion(cfg.min_version));
  if (cfg.max_version) SSL_CTX_set_max_proto_version(native, OpenSslVersion(*cfg.max_version));
  SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  // Without a session id context, a client resuming a session fails the
  // handshake whenever client certificates are requested.
  static constexpr unsigned char kSessionContext[] = "drwatch";
  SSL_CTX_set_session_id_context(native, kSessionContext, sizeof kSessionContext - 1);
  boost::system::error_code ec;
  ctx->use_certificate_chain_file(cfg.cert_file, ec);
  if (ec) {
    error = "tls_server_config.cert_file: cannot load \"" + cfg.cert_file + "\": " + ec.message();
    return nullptr;
  }
  ctx->use_private_key_file(cfg.key_file, ssl::context::pem, ec);
  if (ec || SSL_CTX_check_private_key(native) != 1) {
    error = "tls_server_config.key_file: cannot load \"" + cfg.key_file +
            "\": " + (ec ? ec.message() : std::string("it does not match cert_file"));
    return nullptr;
  }
  if (!cfg.client_ca_file.empty()) {
    ctx->load_verify_file(cfg.client_ca_file, ec);
    if (ec) {
      error = "tls_server_config.client_ca_file: cannot load \"" + cfg.client_ca_file + "\": " + ec.message();
      return nullptr;
    }
  }
  SSL_CTX_set_verify(native, VerifyMode(cfg.client_auth),
                     Verifies(cfg.client_auth) ? nullptr : +[](int, X509_STORE_CTX*) { return 1; });
  return ctx;
}

std::string Base64Decode(std::string_view in) {
  if (in.empty() || in.size() % 4 != 0) return {};
  std::string out(in.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  if (n < 0) return {};
  // EVP_DecodeBlock counts the bytes '=' padding stands for.
  std::size_t pad = in.ends_with("==") ? 2 : in.ends_with('=') ? 1 : 0;
  out.resize(static_cast<std::size_t>(n) - pad);
  return out;
}

// crypt_r's answer for `password` under `setting` (a hash or a salt), or ""
// when libcrypt refuses it.
std::string Bcrypt(const std::string& password, const std::string& setting) {
  auto data = std::make_unique<crypt_data>();  // ~32 KiB: not on the stack
  const char* out = crypt_r(password.c_str(), setting.c_str(), data.get());
  if (!out || out[0] == '*') return {};
  return out;
}

// What the cache keeps instead of a password.
std::string CredentialDigest(const std::string& user, const std::string& password) {
  std::string data = user + '\0' + password;
  unsigned char out[EVP_MAX_MD_SIZE];
  size_t size = 0;
  if (!EVP_Q_digest(nullptr, "SHA256", nullptr, data.data(), data.size(), out, &size)) return {};
  return std::string(reinterpret_cast<char*>(out), size);
}

constexpr std::size_t kMaxKnownGood = 64;

}  // namespace

WebSecurity::~WebSecurity() = default;

std::shared_ptr<const WebSecurity> WebSecurity::Make(const WebConfig& config, std::string& error) {
  std::shared_ptr<WebSecurity> s(new WebSecurity());
  if (config.tls) {
    s->tls_ = MakeTls(*config.tls, error);
    if (!s->tls_) return nullptr;
  }
  s->users_ = config.basic_auth_users;
  s->headers_ = config.headers;
  // The highest cost configured ("05" < "10" as text too: two digits).
  std::string cost;
  for (const auto& [user, hash] : s->users_) cost = std::max(cost, hash.substr(4, 2));
  if (cost.empty()) cost = "10";
  s->dummy_hash_ = "$2b$" + cost + "$" + std::string(kDummySalt);
  return s;
}

bool WebSecurity::CheckPassword(const std::string& user, const std::string& password) const {
  auto it = users_.find(user);
  const std::string& hash = it == users_.end() ? dummy_hash_ : it->second;
  std::string computed = Bcrypt(password, hash);
  bool same = !computed.empty() && computed.size() == hash.size() &&
              CRYPTO_memcmp(computed.data(), hash.data(), hash.size()) == 0;
  if (!same || it == users_.end()) return false;
  std::string digest = CredentialDigest(user, password);
  std::lock_guard lock(mutex_);
  if (known_good_.size() >= kMaxKnownGood) known_good_.clear();
  if (!digest.empty()) known_good_.insert(std::move(digest));
  return true;
}

bool WebSecurity::IsKnownGood(const std::string& user, const std::string& password) const {
  std::string digest = CredentialDigest(user, password);
  std::lock_guard lock(mutex_);
  return !digest.empty() && known_good_.contains(digest);
}

bool ParseBasicAuth(std::string_view header, std::string& user, std::string& password) {
  constexpr std::string_view kScheme = "Basic ";
  if (header.size() <= kScheme.size() ||
      !boost::beast::iequals(header.substr(0, kScheme.size()), kScheme)) {
    return false;
  }
  header.remove_prefix(kScheme.size());
  while (!header.empty() && header.front() == ' ') header.remove_prefix(1);
  std::string decoded = Base64Decode(header);
  std::size_t colon = decoded.find(':');
  if (colon == std::string::npos) return false;
  user = decoded.substr(0, colon);
  password = decoded.substr(colon + 1);
  return true;
}

}  // namespace drwatch::net
