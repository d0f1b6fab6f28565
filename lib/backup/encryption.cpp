#include "backup/encryption.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>

#include "common/crypto.hpp"

namespace drwatch::backup {
namespace {

using Secretstream = crypto_secretstream_xchacha20poly1305_state;
constexpr std::string_view kMagic = "DRWENC";
constexpr unsigned char kVersion = 1;
constexpr unsigned char kCipherId = 1;
constexpr std::size_t kIdBytes = 8;
constexpr std::size_t kPrefixBytes = 16;  // magic, version, cipher, key id: the additional data
constexpr std::size_t kFrameLength = 4;
constexpr std::size_t kABytes = crypto_secretstream_xchacha20poly1305_ABYTES;
constexpr std::string_view kIdDomain = "drwatch backup key id v1";
static_assert(kPrefixBytes + crypto_secretstream_xchacha20poly1305_HEADERBYTES == kEncryptionHeaderBytes);
static_assert(crypto_secretstream_xchacha20poly1305_KEYBYTES == kKeyBytes);

void InitSodium() {
  static const bool ready = sodium_init() >= 0;
  if (!ready) throw std::runtime_error("libsodium cannot be initialised");
}

std::string Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

void PutLength(std::string& out, std::uint32_t n) {
  for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((n >> shift) & 0xff);
}

std::uint32_t GetLength(std::string_view s) {
  std::uint32_t n = 0;
  for (std::size_t i = 0; i < kFrameLength; ++i) n = (n << 8) | static_cast<unsigned char>(s[i]);
  return n;
}

const unsigned char* Bytes(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }
unsigned char* Bytes(std::string& s) { return reinterpret_cast<unsigned char*>(s.data()); }

}  // namespace

std::optional<BackupKey> BackupKey::FromBase64(std::string_view text) {
  InitSodium();
  std::string trimmed = Trim(text);
  std::array<unsigned char, kKeyBytes> bytes{};
  std::size_t length = 0;
  // One byte of room more than a key: a longer input then fails on length, not on space.
  unsigned char buffer[kKeyBytes + 1];
  int variant = trimmed.ends_with('=') ? sodium_base64_VARIANT_ORIGINAL : sodium_base64_VARIANT_ORIGINAL_NO_PADDING;
  int rc = sodium_base642bin(buffer, sizeof buffer, trimmed.data(), trimmed.size(), nullptr, &length, nullptr, variant);
  if (rc != 0 || length != kKeyBytes) {
    sodium_memzero(buffer, sizeof buffer);
    return std::nullopt;
  }
  std::memcpy(bytes.data(), buffer, kKeyBytes);
  sodium_memzero(buffer, sizeof buffer);
  return FromBytes(bytes);
}

BackupKey BackupKey::FromBytes(const std::array<unsigned char, kKeyBytes>& bytes) {
  InitSodium();
  BackupKey key;
  key.bytes_ = bytes;
  unsigned char hash[crypto_generichash_BYTES];
  crypto_generichash(hash, sizeof hash, bytes.data(), bytes.size(), Bytes(kIdDomain), kIdDomain.size());
  key.id_ = HexEncode(std::string_view(reinterpret_cast<const char*>(hash), kIdBytes));
  return key;
}

BackupKey::~BackupKey() { sodium_memzero(bytes_.data(), bytes_.size()); }

std::string GenerateKeyBase64() {
  InitSodium();
  unsigned char key[kKeyBytes];
  crypto_secretstream_xchacha20poly1305_keygen(key);
  char text[sodium_base64_ENCODED_LEN(kKeyBytes, sodium_base64_VARIANT_ORIGINAL)];
  sodium_bin2base64(text, sizeof text, key, sizeof key, sodium_base64_VARIANT_ORIGINAL);
  sodium_memzero(key, sizeof key);
  std::string out(text);
  sodium_memzero(text, sizeof text);
  return out;
}

const BackupKey* KeyRing::Find(std::string_view id) const {
  for (const auto& k : keys) {
    if (k.id() == id) return &k;
  }
  return nullptr;
}

std::string KeyRing::Ids() const {
  std::string out;
  for (const auto& k : keys) out += (out.empty() ? "" : ", ") + k.id();
  return out.empty() ? "none" : out;
}

// ---- encryption ----

struct StreamEncryptor::State {
  Secretstream s;
};

StreamEncryptor::StreamEncryptor(const BackupKey& key) : key_(key), state_(new State) {}
StreamEncryptor::~StreamEncryptor() {
  sodium_memzero(state_, sizeof *state_);
  delete state_;
}

std::string StreamEncryptor::Begin() {
  unsigned char id[kIdBytes];
  sodium_hex2bin(id, sizeof id, key_.id().data(), key_.id().size(), nullptr, nullptr, nullptr);
  ad_ = std::string(kMagic);
  ad_ += static_cast<char>(kVersion);
  ad_ += static_cast<char>(kCipherId);
  ad_.append(reinterpret_cast<const char*>(id), kIdBytes);
  std::string out = ad_;
  unsigned char header[crypto_secretstream_xchacha20poly1305_HEADERBYTES];
  crypto_secretstream_xchacha20poly1305_init_push(&state_->s, header, key_.data());
  out.append(reinterpret_cast<const char*>(header), sizeof header);
  return out;
}

std::string StreamEncryptor::Frame(std::string_view plain, unsigned char tag) {
  std::string out;
  out.reserve(kFrameLength + plain.size() + kABytes);
  PutLength(out, static_cast<std::uint32_t>(plain.size() + kABytes));
  out.resize(kFrameLength + plain.size() + kABytes);
  crypto_secretstream_xchacha20poly1305_push(&state_->s, Bytes(out) + kFrameLength, nullptr, Bytes(plain),
                                             plain.size(), Bytes(ad_), ad_.size(), tag);
  return out;
}

std::string StreamEncryptor::Chunk(std::string_view plain) {
  return Frame(plain, crypto_secretstream_xchacha20poly1305_TAG_MESSAGE);
}

std::string StreamEncryptor::Final() { return Frame({}, crypto_secretstream_xchacha20poly1305_TAG_FINAL); }

// ---- decryption ----

struct StreamDecryptor::State {
  Secretstream s;
};

StreamDecryptor::StreamDecryptor(const KeyRing& keys, std::string name)
    : keys_(keys), name_(std::move(name)), state_(new State) {
  InitSodium();
}

StreamDecryptor::~StreamDecryptor() {
  sodium_memzero(state_, sizeof *state_);
  delete state_;
}

bool StreamDecryptor::Fail(std::string why) {
  if (error_.empty()) error_ = name_ + ": " + why;
  return false;
}

bool StreamDecryptor::ReadHeader() {
  if (pending_.substr(0, kMagic.size()) != kMagic) return Fail("not a drwatch encrypted file (bad magic)");
  if (static_cast<unsigned char>(pending_[6]) != kVersion) {
    return Fail("unsupported encryption format version " + std::to_string(static_cast<unsigned char>(pending_[6])));
  }
  if (static_cast<unsigned char>(pending_[7]) != kCipherId) {
    return Fail("unknown cipher " + std::to_string(static_cast<unsigned char>(pending_[7])));
  }
  key_id_ = HexEncode(std::string_view(pending_).substr(8, kIdBytes));
  const BackupKey* key = keys_.Find(key_id_);
  if (!key) {
    // Not Fail(): the message leads with the file name itself.
    error_ = name_ + " was encrypted with key " + key_id_ + ", configured keys: " + keys_.Ids();
    return false;
  }
  ad_ = pending_.substr(0, kPrefixBytes);
  if (crypto_secretstream_xchacha20poly1305_init_pull(&state_->s, Bytes(pending_) + kPrefixBytes, key->data()) != 0) {
    return Fail("invalid encryption header");
  }
  pending_.erase(0, kEncryptionHeaderBytes);
  header_done_ = true;
  return true;
}

bool StreamDecryptor::ReadChunk(std::string& out) {
  std::uint32_t length = GetLength(pending_);
  if (length < kABytes || length > kMaxPlainChunk + kABytes) {
    return Fail("corrupt: chunk length " + std::to_string(length) + " out of range");
  }
  if (pending_.size() < kFrameLength + length) return true;  // wait for more
  std::size_t at = out.size();
  out.resize(at + length - kABytes);
  unsigned long long plain_length = 0;
  unsigned char tag = 0;
  if (crypto_secretstream_xchacha20poly1305_pull(&state_->s, Bytes(out) + at, &plain_length, &tag,
                                                 Bytes(pending_) + kFrameLength, length, Bytes(ad_), ad_.size()) != 0) {
    out.resize(at);
    return Fail("authentication failed: the file is corrupt, tampered with or reordered");
  }
  out.resize(at + plain_length);
  pending_.erase(0, kFrameLength + length);
  if (tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL) final_seen_ = true;
  return true;
}

bool StreamDecryptor::Feed(std::string_view data, std::string& out) {
  if (!error_.empty()) return false;
  if (final_seen_ && !data.empty()) return Fail("corrupt: data after the final chunk");
  pending_.append(data);
  if (!header_done_) {
    if (pending_.size() < kEncryptionHeaderBytes) return true;
    if (!ReadHeader()) return false;
  }
  while (!final_seen_ && pending_.size() >= kFrameLength) {
    std::size_t before = pending_.size();
    if (!ReadChunk(out)) return false;
    if (pending_.size() == before) break;  // an incomplete chunk: wait for more
  }
  if (final_seen_ && !pending_.empty()) return Fail("corrupt: data after the final chunk");
  return true;
}

bool StreamDecryptor::Finish() {
  if (!error_.empty()) return false;
  if (!header_done_) return Fail("truncated: no complete encryption header");
  if (!final_seen_) return Fail("truncated: the final chunk is missing");
  return true;
}

std::optional<std::string> DecryptBuffer(const KeyRing& keys, std::string name, std::string_view stored,
                                         std::string& error) {
  StreamDecryptor decryptor(keys, std::move(name));
  std::string out;
  if (!decryptor.Feed(stored, out) || !decryptor.Finish()) {
    error = decryptor.error();
    return std::nullopt;
  }
  return out;
}

namespace {

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

bool WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

}  // namespace

std::string DecryptFds(StreamDecryptor& decryptor, int in, int out, const std::string& from, const std::string& to,
                       std::uint64_t& plain_bytes) {
  std::string buffer(64 * 1024, '\0');
  std::string plain;
  for (;;) {
    ssize_t n = ::read(in, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return "read " + from + ": " + std::generic_category().message(errno);
    if (n == 0) break;
    plain.clear();
    if (!decryptor.Feed(std::string_view(buffer.data(), static_cast<std::size_t>(n)), plain)) return decryptor.error();
    if (out >= 0 && !WriteAll(out, plain)) return "write " + to + ": " + std::generic_category().message(errno);
    plain_bytes += plain.size();
  }
  if (!decryptor.Finish()) return decryptor.error();
  return "";
}

std::string DecryptFileBlocking(const KeyRing& keys, const std::string& name, const std::string& from,
                                const std::string& to, std::uint64_t& plain_bytes) {
  plain_bytes = 0;
  Fd in{::open(from.c_str(), O_RDONLY | O_CLOEXEC)};
  if (in.fd < 0) return "read " + from + ": " + std::generic_category().message(errno);
  Fd out{::open(to.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)};
  if (out.fd < 0) return "create " + to + ": " + std::generic_category().message(errno);
  StreamDecryptor decryptor(keys, name);
  std::string error = DecryptFds(decryptor, in.fd, out.fd, from, to, plain_bytes);
  if (!error.empty()) ::unlink(to.c_str());
  return error;
}

}  // namespace drwatch::backup
