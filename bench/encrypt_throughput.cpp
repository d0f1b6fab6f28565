// Throughput of what the backup pump does per 64 KiB chunk on the event loop:
// SHA-256 alone (a plain run) and secretstream encryption plus SHA-256 of the
// ciphertext (an encrypted run), and the decryption a drill does on the pool.
//
//   build/bench/encrypt_throughput [MiB]   (default 512)

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "backup/digest.hpp"
#include "backup/encryption.hpp"

namespace {

using Clock = std::chrono::steady_clock;

void Report(const char* what, std::size_t bytes, Clock::duration took) {
  double s = std::chrono::duration<double>(took).count();
  double chunks = static_cast<double>(bytes) / 65536;
  std::printf("%-34s %8.0f MiB/s  %6.1f us per 64 KiB chunk\n", what, static_cast<double>(bytes) / 1048576 / s,
              s * 1e6 / chunks);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace drwatch;
  using namespace drwatch::backup;
  std::size_t mib = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 512;
  std::size_t total = mib * 1048576;
  std::string chunk(65536, '\0');
  for (std::size_t i = 0; i < chunk.size(); ++i) chunk[i] = static_cast<char>((i * 131 + 7) % 251);
  KeyRing keys;
  keys.keys.push_back(*BackupKey::FromBase64(GenerateKeyBase64()));

  auto start = Clock::now();
  Sha256 plain_sha;
  for (std::size_t done = 0; done < total; done += chunk.size()) plain_sha.Update(chunk);
  std::string d1 = plain_sha.HexDigest();
  Report("plain: SHA-256", total, Clock::now() - start);

  start = Clock::now();
  StreamEncryptor enc(keys.keys[0]);
  Sha256 enc_sha;
  std::string stored = enc.Begin();
  enc_sha.Update(stored);
  for (std::size_t done = 0; done < total; done += chunk.size()) {
    enc_sha.Update(enc.Chunk(chunk));
  }
  std::string d2 = enc_sha.HexDigest();
  Report("encrypted: encrypt + SHA-256", total, Clock::now() - start);

  // A whole stream in memory (the drill reads a local file: no I/O timed here).
  StreamEncryptor enc2(keys.keys[0]);
  std::string whole = enc2.Begin();
  for (std::size_t done = 0; done < total; done += chunk.size()) whole += enc2.Chunk(chunk);
  whole += enc2.Final();
  start = Clock::now();
  StreamDecryptor dec(keys, "bench.enc");
  std::string plain;
  bool ok = true;
  for (std::size_t at = 0; at < whole.size() && ok; at += 65536) {
    plain.clear();
    ok = dec.Feed(std::string_view(whole).substr(at, 65536), plain);
  }
  ok = ok && dec.Finish();
  Report("restore: decrypt", total, Clock::now() - start);
  std::printf("(%s, digests %.8s %.8s)\n", ok ? "verified" : dec.error().c_str(), d1.c_str(), d2.c_str());
  return ok ? 0 : 1;
}
