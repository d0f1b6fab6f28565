#pragma once
// Client-side encryption of backup files: libsodium's
// crypto_secretstream_xchacha20poly1305, one authenticated chunk at a time,
// so a file of any size streams through in bounded memory. The stored format
// (docs/encryption.md, "File format"):
//
//   header  "DRWENC" | version 1 | cipher 1 | key id (8 bytes) | secretstream header (24 bytes)
//   chunks  length (4 bytes, big-endian) | ciphertext of `length` bytes
//
// Every chunk is authenticated with the first 16 header bytes as additional
// data (magic, version, cipher, key id: none can be altered unnoticed); the
// last chunk carries TAG_FINAL and nothing may follow it. A flipped byte,
// reordered or dropped chunks, a truncated file or trailing bytes are all
// refused; nothing unauthenticated is ever handed out.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace drwatch::backup {

inline constexpr std::string_view kCipherName = "xchacha20poly1305-secretstream";
inline constexpr std::string_view kEncryptedSuffix = ".enc";
inline constexpr std::size_t kKeyBytes = 32;
inline constexpr std::size_t kEncryptionHeaderBytes = 40;
/// The largest plaintext chunk a reader accepts (the writer uses 64 KiB).
inline constexpr std::size_t kMaxPlainChunk = 1024 * 1024;

/// A 32-byte backup key and its id: the first 8 bytes of a BLAKE2b hash of
/// the key under a domain string, in hex. The id names the key in manifests,
/// file headers and messages; it reveals nothing of the key.
class BackupKey {
 public:
  /// Decodes base64 (standard alphabet, padding optional, surrounding
  /// whitespace ignored). nullopt unless it is exactly 32 bytes.
  static std::optional<BackupKey> FromBase64(std::string_view text);
  static BackupKey FromBytes(const std::array<unsigned char, kKeyBytes>& bytes);
  BackupKey(const BackupKey&) = default;
  BackupKey& operator=(const BackupKey&) = default;
  ~BackupKey();

  const std::string& id() const { return id_; }  // 16 hex digits
  const unsigned char* data() const { return bytes_.data(); }

 private:
  BackupKey() = default;
  std::array<unsigned char, kKeyBytes> bytes_{};
  std::string id_;
};

/// A new random key in base64 (`drwatchd backup keygen`).
std::string GenerateKeyBase64();

/// The keys of one backup check: `key` encrypts new runs; it and every
/// `old_keys` entry can read runs.
struct KeyRing {
  std::vector<BackupKey> keys;  // [0] is the current key; empty: no encryption
  bool enabled() const { return !keys.empty(); }
  const BackupKey* Find(std::string_view id) const;
  /// "77c2…, 3f9a…" (the ids, for messages); "none" when empty.
  std::string Ids() const;
};

/// Encrypts one stream. Begin() once, then Chunk() per plaintext chunk (at
/// most kMaxPlainChunk bytes), then Final().
class StreamEncryptor {
 public:
  explicit StreamEncryptor(const BackupKey& key);
  ~StreamEncryptor();
  StreamEncryptor(const StreamEncryptor&) = delete;
  StreamEncryptor& operator=(const StreamEncryptor&) = delete;

  /// The file header (kEncryptionHeaderBytes).
  std::string Begin();
  /// One framed, encrypted chunk.
  std::string Chunk(std::string_view plain);
  /// The framed final chunk (empty plaintext, TAG_FINAL).
  std::string Final();

 private:
  std::string Frame(std::string_view plain, unsigned char tag);
  struct State;
  BackupKey key_;
  State* state_;
  std::string ad_;
};

/// Decrypts one stream fed in pieces of any size. Feed() appends the
/// authenticated plaintext of every whole chunk received so far to `out`;
/// after an error it refuses everything. Finish() says whether the stream
/// ended with its final chunk.
class StreamDecryptor {
 public:
  /// `name` names the file in messages ("data.dump.enc").
  StreamDecryptor(const KeyRing& keys, std::string name);
  ~StreamDecryptor();
  StreamDecryptor(const StreamDecryptor&) = delete;
  StreamDecryptor& operator=(const StreamDecryptor&) = delete;

  /// False on the first error (then see error()).
  bool Feed(std::string_view data, std::string& out);
  /// False unless the final chunk arrived and nothing followed it.
  bool Finish();
  const std::string& error() const { return error_; }
  /// The id in the header (once read).
  const std::string& key_id() const { return key_id_; }

 private:
  bool ReadHeader();
  bool ReadChunk(std::string& out);
  bool Fail(std::string why);
  struct State;
  const KeyRing& keys_;
  std::string name_;
  State* state_;
  std::string pending_;
  std::string ad_;
  std::string key_id_;
  std::string error_;
  bool header_done_ = false;
  bool final_seen_ = false;
};

/// Decrypts a whole in-memory file (schema.sql for the drift check).
/// nullopt with `error` set when it does not verify.
std::optional<std::string> DecryptBuffer(const KeyRing& keys, std::string name, std::string_view stored,
                                         std::string& error);

/// Decrypts the local file `from` into `to` (created 0600), chunk by chunk
/// (blocking: call on the pool). Returns "" or why not; `to` is removed on
/// failure. `plain_bytes` gets the plaintext size.
std::string DecryptFileBlocking(const KeyRing& keys, const std::string& name, const std::string& from,
                                const std::string& to, std::uint64_t& plain_bytes);

/// Decrypts from descriptor `in` (named `from` in messages) to `out` (named
/// `to`; -1: verify only, the plaintext is discarded). Blocking.
std::string DecryptFds(StreamDecryptor& decryptor, int in, int out, const std::string& from, const std::string& to,
                       std::uint64_t& plain_bytes);

}  // namespace drwatch::backup
