#pragma once
// SHA-256, HMAC-SHA-256 and hex, over OpenSSL's libcrypto: backup digests,
// drift hashes and SigV4 signing all use these.

#include <memory>
#include <string>
#include <string_view>

namespace drwatch {

/// Incremental SHA-256 (OpenSSL EVP), for data that streams.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void Update(std::string_view data);
  /// Lower-case hex digest; the object is spent afterwards.
  std::string HexDigest();

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

/// Lower-case hex SHA-256 of `data`.
std::string Sha256Hex(std::string_view data);
/// Raw (binary) HMAC-SHA-256 of `data` under `key`.
std::string HmacSha256(std::string_view key, std::string_view data);
/// Two lower-case hex digits per byte.
std::string HexEncode(std::string_view bytes);

}  // namespace drwatch
