// The encrypted file format (lib/backup/encryption.hpp): round trips of any
// size fed in any pieces, and every way a stored file can be wrong —
// truncated, a flipped byte anywhere, chunks reordered, duplicated or
// followed by more data, another key — refused with a reason that never
// holds the key. Also the keys themselves and `backup decrypt`.

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "backup/commands.hpp"
#include "backup/encryption.hpp"

namespace drwatch::backup {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

// Bytes 0..31 and 100..131: two fixed keys.
constexpr char kKeyA[] = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
constexpr char kKeyB[] = "ZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7fH1+f4CBgoM=";

BackupKey Key(const char* text) { return *BackupKey::FromBase64(text); }

KeyRing Ring(std::initializer_list<const char*> texts) {
  KeyRing ring;
  for (const char* t : texts) ring.keys.push_back(Key(t));
  return ring;
}

std::string Pattern(std::size_t n) {
  std::string out(n, '\0');
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<char>((i * 131 + 7) % 251);
  return out;
}

// Encrypts `plain` in chunks of `chunk` bytes, as the backup pump does.
std::string Encrypt(const std::string& plain, const char* key = kKeyA, std::size_t chunk = 64 * 1024) {
  BackupKey k = Key(key);
  StreamEncryptor enc(k);
  std::string out = enc.Begin();
  for (std::size_t at = 0; at < plain.size(); at += chunk) out += enc.Chunk(std::string_view(plain).substr(at, chunk));
  return out + enc.Final();
}

struct Decrypted {
  bool ok = false;
  std::string plain;
  std::string error;
};

// Feeds `stored` in pieces of `piece` bytes.
Decrypted Decrypt(const std::string& stored, const KeyRing& keys, std::size_t piece = 1 << 30) {
  StreamDecryptor dec(keys, "data.dump.enc");
  Decrypted out;
  out.ok = true;
  for (std::size_t at = 0; at < stored.size() && out.ok; at += piece) {
    out.ok = dec.Feed(std::string_view(stored).substr(at, piece), out.plain);
  }
  out.ok = out.ok && dec.Finish();
  out.error = dec.error();
  return out;
}

TEST(BackupKey, DecodesBase64OfExactly32Bytes) {
  auto key = BackupKey::FromBase64(kKeyA);
  ASSERT_TRUE(key);
  EXPECT_EQ(key->data()[31], 31);
  // Padding optional, the newline of a key file and spaces ignored.
  EXPECT_TRUE(BackupKey::FromBase64("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"));
  EXPECT_TRUE(BackupKey::FromBase64(std::string(kKeyA) + "\n"));
  EXPECT_TRUE(BackupKey::FromBase64(std::string("  ") + kKeyA + " \r\n"));
  for (const char* bad : {"", "not base64!", "AAECAwQFBgcICQoLDA0ODw==",           // 16 bytes
                          "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g",          // 33 bytes
                          "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=AAAA",      // data after padding
                          "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd Hh8="}) {     // a space inside
    EXPECT_FALSE(BackupKey::FromBase64(bad)) << bad;
  }
}

TEST(BackupKey, IdIsAStableFingerprintThatRevealsNothing) {
  BackupKey a = Key(kKeyA);
  EXPECT_EQ(a.id().size(), 16u);
  EXPECT_EQ(a.id(), Key(kKeyA).id());
  EXPECT_NE(a.id(), Key(kKeyB).id());
  // Pinned: a changed derivation would orphan every stored run's key id.
  EXPECT_EQ(a.id(), "19354be45bb3ca12");
  EXPECT_THAT(std::string(kKeyA), Not(HasSubstr(a.id())));
}

TEST(BackupKey, KeygenMakesDistinctUsableKeys) {
  std::string one = GenerateKeyBase64(), two = GenerateKeyBase64();
  EXPECT_EQ(one.size(), 44u);
  EXPECT_NE(one, two);
  EXPECT_TRUE(BackupKey::FromBase64(one));
  std::string line = KeygenCommand();
  EXPECT_EQ(line.size(), 45u);
  EXPECT_EQ(line.back(), '\n');
}

TEST(EncryptedFormat, RoundTripsAnySizeFedInAnyPieces) {
  KeyRing ring = Ring({kKeyA});
  for (std::size_t size : {0u, 1u, 100u, 65536u, 65537u, 300000u}) {
    std::string plain = Pattern(size);
    std::string stored = Encrypt(plain);
    EXPECT_EQ(stored.size(), kEncryptionHeaderBytes + ((size + 65535) / 65536 + 1) * 21 + size) << size;
    for (std::size_t piece : {std::size_t{1} << 30, std::size_t{7}, std::size_t{65536 + 21}}) {
      if (piece == 7 && size > 70000) continue;  // byte-wise feeding of large inputs is slow, not different
      Decrypted d = Decrypt(stored, ring, piece);
      ASSERT_TRUE(d.ok) << size << "/" << piece << ": " << d.error;
      EXPECT_EQ(d.plain, plain) << size << "/" << piece;
    }
  }
}

TEST(EncryptedFormat, EmptyInputStillHasHeaderAndFinalChunk) {
  std::string stored = Encrypt("");
  EXPECT_EQ(stored.size(), kEncryptionHeaderBytes + 4 + 17);
  EXPECT_EQ(stored.substr(0, 6), "DRWENC");
  Decrypted d = Decrypt(stored, Ring({kKeyA}));
  EXPECT_TRUE(d.ok) << d.error;
  EXPECT_EQ(d.plain, "");
  // And nothing at all is not an empty file.
  Decrypted none = Decrypt("", Ring({kKeyA}));
  EXPECT_FALSE(none.ok);
  EXPECT_EQ(none.error, "data.dump.enc: truncated: no complete encryption header");
}

TEST(EncryptedFormat, CiphertextHoldsNoPlaintext) {
  std::string plain = "marker-4f1c9e secret row data " + Pattern(1000);
  std::string stored = Encrypt(plain);
  EXPECT_EQ(stored.find("marker-4f1c9e"), std::string::npos);
  EXPECT_NE(Encrypt(plain), stored) << "a fresh nonce every time";
}

TEST(EncryptedFormat, EveryTruncationIsDetected) {
  std::string stored = Encrypt(Pattern(150000));
  KeyRing ring = Ring({kKeyA});
  // Every cut that is not the whole file: within the header, a length, a chunk, or the final chunk dropped.
  for (std::size_t cut : {std::size_t{0}, std::size_t{5}, std::size_t{39}, std::size_t{40}, std::size_t{42},
                          std::size_t{44}, std::size_t{1000}, std::size_t{40 + 65536 + 21},
                          stored.size() - 21, stored.size() - 1}) {
    Decrypted d = Decrypt(stored.substr(0, cut), ring);
    EXPECT_FALSE(d.ok) << cut;
    EXPECT_THAT(d.error, HasSubstr("truncated")) << cut;
  }
}

TEST(EncryptedFormat, AFlippedByteAnywhereIsDetected) {
  std::string stored = Encrypt(Pattern(300), kKeyA, 100);  // three chunks and the final one
  KeyRing ring = Ring({kKeyA});
  for (std::size_t at = 0; at < stored.size(); ++at) {
    std::string bad = stored;
    bad[at] = static_cast<char>(bad[at] ^ 0x01);
    Decrypted d = Decrypt(bad, ring);
    EXPECT_FALSE(d.ok) << "byte " << at;
    EXPECT_FALSE(d.error.empty()) << "byte " << at;
  }
}

TEST(EncryptedFormat, ReorderedDuplicatedOrAppendedChunksAreDetected) {
  std::string stored = Encrypt(Pattern(300), kKeyA, 100);
  constexpr std::size_t kFrame = 4 + 100 + 17;
  std::string header = stored.substr(0, kEncryptionHeaderBytes);
  std::string c1 = stored.substr(kEncryptionHeaderBytes, kFrame);
  std::string c2 = stored.substr(kEncryptionHeaderBytes + kFrame, kFrame);
  std::string rest = stored.substr(kEncryptionHeaderBytes + 2 * kFrame);
  KeyRing ring = Ring({kKeyA});
  ASSERT_TRUE(Decrypt(header + c1 + c2 + rest, ring).ok);
  Decrypted swapped = Decrypt(header + c2 + c1 + rest, ring);
  EXPECT_FALSE(swapped.ok);
  EXPECT_EQ(swapped.error, "data.dump.enc: authentication failed: the file is corrupt, tampered with or reordered");
  EXPECT_FALSE(Decrypt(header + c1 + c1 + c2 + rest, ring).ok);
  EXPECT_FALSE(Decrypt(header + c2 + rest, ring).ok);  // a chunk dropped
  Decrypted appended = Decrypt(stored + c1, ring);
  EXPECT_FALSE(appended.ok);
  EXPECT_EQ(appended.error, "data.dump.enc: corrupt: data after the final chunk");
  // Another file's chunk (another stream, same key) does not fit either.
  std::string other = Encrypt(Pattern(300), kKeyA, 100);
  EXPECT_FALSE(Decrypt(header + other.substr(kEncryptionHeaderBytes, kFrame) + c2 + rest, ring).ok);
}

TEST(EncryptedFormat, AWrongKeyNamesTheKeyIdsNeverTheKeys) {
  std::string stored = Encrypt(Pattern(1000), kKeyA);
  Decrypted d = Decrypt(stored, Ring({kKeyB}));
  EXPECT_FALSE(d.ok);
  EXPECT_EQ(d.plain, "");
  EXPECT_EQ(d.error, "data.dump.enc was encrypted with key " + Key(kKeyA).id() +
                         ", configured keys: " + Key(kKeyB).id());
  EXPECT_THAT(d.error, Not(HasSubstr(kKeyA)));
  EXPECT_THAT(d.error, Not(HasSubstr(kKeyB)));
  EXPECT_EQ(Decrypt(stored, KeyRing{}).error,
            "data.dump.enc was encrypted with key " + Key(kKeyA).id() + ", configured keys: none");
  // After a rotation the old key, listed second, still reads the file.
  Decrypted rotated = Decrypt(stored, Ring({kKeyB, kKeyA}));
  EXPECT_TRUE(rotated.ok) << rotated.error;
}

TEST(EncryptedFormat, NotAnEncryptedFile) {
  Decrypted d = Decrypt("PGDMP" + Pattern(100), Ring({kKeyA}));
  EXPECT_FALSE(d.ok);
  EXPECT_EQ(d.error, "data.dump.enc: not a drwatch encrypted file (bad magic)");
  std::string stored = Encrypt("x");
  stored[6] = 2;
  EXPECT_EQ(Decrypt(stored, Ring({kKeyA})).error, "data.dump.enc: unsupported encryption format version 2");
  // A chunk length beyond what any writer makes is refused before buffering it.
  std::string huge = Encrypt("x");
  huge[kEncryptionHeaderBytes] = '\x7f';
  EXPECT_THAT(Decrypt(huge, Ring({kKeyA})).error, HasSubstr("chunk length"));
}

TEST(EncryptedFormat, DecryptBufferAndFile) {
  std::string plain = Pattern(200000);
  std::string stored = Encrypt(plain);
  std::string error;
  auto back = DecryptBuffer(Ring({kKeyA}), "schema.sql.enc", stored, error);
  ASSERT_TRUE(back) << error;
  EXPECT_EQ(*back, plain);
  EXPECT_FALSE(DecryptBuffer(Ring({kKeyA}), "schema.sql.enc", stored.substr(0, 100), error));
  EXPECT_EQ(error, "schema.sql.enc: truncated: the final chunk is missing");

  fs::path dir = fs::temp_directory_path() / ("drwatch-enc-test-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "d.enc", std::ios::binary) << stored;
  std::uint64_t bytes = 0;
  EXPECT_EQ(DecryptFileBlocking(Ring({kKeyA}), "d.enc", dir / "d.enc", dir / "d", bytes), "");
  EXPECT_EQ(bytes, plain.size());
  std::ifstream in(dir / "d", std::ios::binary);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), plain);
  // A failure leaves no plaintext file behind.
  std::ofstream(dir / "t.enc", std::ios::binary) << stored.substr(0, stored.size() - 1);
  EXPECT_THAT(DecryptFileBlocking(Ring({kKeyA}), "t.enc", dir / "t.enc", dir / "t", bytes), HasSubstr("truncated"));
  EXPECT_FALSE(fs::exists(dir / "t"));
  fs::remove_all(dir);
}

class DecryptCommandTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("drwatch-decrypt-test-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    Write("a.key", std::string(kKeyA) + "\n");
    Write("b.key", kKeyB);
    Write("bad.key", "hunter2");
  }
  void TearDown() override { fs::remove_all(dir_); }
  void Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name, std::ios::binary) << text;
    // Owner only: a key file every user can read is refused.
    std::filesystem::permissions(dir_ / name, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  }
  // Runs the command with stdout to a file; returns status, output, error.
  std::tuple<int, std::string, std::string> Run(const std::string& file, const std::string& key) {
    std::string out_path = dir_ / "out";
    int fd = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    std::string error;
    int status = DecryptCommand((dir_ / file).string(), (dir_ / key).string(), fd, error);
    ::close(fd);
    std::ifstream in(out_path, std::ios::binary);
    return {status, std::string(std::istreambuf_iterator<char>(in), {}), error};
  }
  fs::path dir_;
};

TEST_F(DecryptCommandTest, WritesThePlaintextOfAVerifiedFile) {
  std::string plain = Pattern(150000);
  Write("data.dump.enc", Encrypt(plain));
  auto [status, out, error] = Run("data.dump.enc", "a.key");
  EXPECT_EQ(status, 0) << error;
  EXPECT_EQ(out, plain);
}

TEST_F(DecryptCommandTest, WritesNothingForABadFile) {
  std::string stored = Encrypt(Pattern(150000));
  Write("truncated.enc", stored.substr(0, stored.size() - 21));
  std::string flipped = stored;
  flipped[100000] ^= 0x40;
  Write("flipped.enc", flipped);
  Write("data.dump.enc", stored);
  struct Case {
    std::string file, key, error;
  };
  for (const Case& c : std::vector<Case>{
           {"truncated.enc", "a.key", "truncated.enc: truncated: the final chunk is missing"},
           {"flipped.enc", "a.key",
            "flipped.enc: authentication failed: the file is corrupt, tampered with or reordered"},
           {"data.dump.enc", "b.key",
            "data.dump.enc was encrypted with key " + Key(kKeyA).id() + ", configured keys: " + Key(kKeyB).id()},
           {"data.dump.enc", "bad.key",
            "key file " + (dir_ / "bad.key").string() +
                ": not a base64-encoded 32-byte key (make one with drwatchd backup keygen)"},
           {"data.dump.enc", "missing.key",
            "cannot read key file " + (dir_ / "missing.key").string() + ": No such file or directory"},
           {"missing.enc", "a.key",
            "cannot read " + (dir_ / "missing.enc").string() + ": No such file or directory"}}) {
    auto [status, out, error] = Run(c.file, c.key);
    EXPECT_EQ(status, 1) << c.file;
    EXPECT_EQ(out, "") << c.file << ": nothing reaches stdout unless the whole file verified";
    EXPECT_EQ(error, c.error);
    EXPECT_THAT(error, Not(HasSubstr("hunter2")));
    EXPECT_THAT(error, Not(HasSubstr(kKeyB)));
  }
}

}  // namespace
}  // namespace drwatch::backup
