#include "restore/fetch.hpp"

#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "backup/digest.hpp"
#include "backup/runs.hpp"

namespace drwatch::restore {
namespace {

namespace asio = boost::asio;

struct Made {
  std::string path;
  std::string error;
};

Made MakeDirBlocking() {
  const char* tmp = std::getenv("TMPDIR");
  std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/drwatch-restore-XXXXXX";
  if (!::mkdtemp(templ.data())) return {"", "mkdtemp " + templ + ": " + std::strerror(errno)};
  return {templ, ""};
}

}  // namespace

asio::awaitable<std::unique_ptr<ScratchDir>> ScratchDir::Create(BlockingPool& pool, std::string& error) {
  auto discard = [](Made m) {
    std::error_code ec;
    if (!m.path.empty()) std::filesystem::remove_all(m.path, ec);
  };
  auto made = co_await RunBlocking(pool, &MakeDirBlocking, discard);
  if (!made) {
    error = "cancelled";
    co_return nullptr;
  }
  if (!made->error.empty()) {
    error = made->error;
    co_return nullptr;
  }
  co_return std::unique_ptr<ScratchDir>(new ScratchDir(pool, made->path));
}

ScratchDir::~ScratchDir() {
  pool_.Post([path = path_] {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  });
}

asio::awaitable<std::string> DownloadFile(storage::Backend& store, const backup::Manifest& manifest,
                                          std::string check, std::string name, std::string path) {
  const backup::ManifestFile* file = manifest.File(name);
  if (!file) co_return name + " is not in the manifest";
  // One byte more than the manifest says: a longer object is refused early.
  auto got = co_await store.GetToFile(backup::RunKey(check, manifest.run, name), path, file->size + 1);
  co_return got.error;
}

asio::awaitable<std::string> VerifyFile(BlockingPool& pool, const backup::Manifest& manifest, std::string name,
                                        std::string path) {
  const backup::ManifestFile* file = manifest.File(name);
  if (!file) co_return name + " is not in the manifest";
  auto hash = [path] { return backup::HashFileBlocking(path); };
  auto ignore = [](backup::DigestResult) {};
  auto digest = co_await RunBlocking(pool, hash, ignore);
  if (!digest) co_return std::string("cancelled");
  if (!digest->ok()) co_return digest->error;
  if (digest->size != file->size) {
    co_return "size mismatch: " + name + " is " + std::to_string(digest->size) + " bytes, the manifest says " +
        std::to_string(file->size);
  }
  if (digest->sha256 != file->sha256) co_return "checksum mismatch: " + name;
  co_return std::string();
}

std::uint64_t PlainSize(const backup::Manifest& manifest, std::string_view name) {
  const backup::ManifestFile* file = manifest.Stored(name);
  if (!file) return 0;
  return file->plaintext_size.value_or(file->size);
}

asio::awaitable<std::string> FetchFile(BlockingPool& pool, storage::Backend& store, const backup::Manifest& manifest,
                                       std::string check, std::string name, std::string path,
                                       const backup::KeyRing& keys, std::function<void(const std::string&)> step) {
  auto done = [&](const std::string& what) {
    if (step) step(what);
  };
  const backup::ManifestFile* file = manifest.Stored(name);
  if (!file) co_return name + " is not in the manifest";
  std::string stored = file->name;
  bool encrypted = stored != name;
  if (encrypted && manifest.encryption && !keys.Find(manifest.encryption->key_id)) {
    co_return stored + " was encrypted with key " + manifest.encryption->key_id + ", configured keys: " + keys.Ids();
  }
  std::string local = encrypted ? path + std::string(backup::kEncryptedSuffix) : path;
  std::string error = co_await DownloadFile(store, manifest, check, stored, local);
  if (!error.empty()) co_return error;
  done("download " + stored);
  error = co_await VerifyFile(pool, manifest, stored, local);
  if (!error.empty()) co_return error;
  done("verify checksums");
  if (!encrypted) co_return std::string();
  struct Decrypted {
    std::string error;
    std::uint64_t bytes = 0;
  };
  auto decrypt = [keys, stored, local, path] {  // copies: a cancelled run leaves this running
    Decrypted out;
    out.error = backup::DecryptFileBlocking(keys, stored, local, path, out.bytes);
    ::unlink(local.c_str());
    return out;
  };
  auto ignore = [](Decrypted) {};
  auto decrypted = co_await RunBlocking(pool, decrypt, ignore);
  if (!decrypted) co_return std::string("cancelled");
  if (!decrypted->error.empty()) co_return decrypted->error;
  if (file->plaintext_size && *file->plaintext_size != decrypted->bytes) {
    co_return "size mismatch: " + stored + " decrypts to " + std::to_string(decrypted->bytes) +
        " bytes, the manifest says " + std::to_string(*file->plaintext_size);
  }
  done("decrypt " + name);
  co_return std::string();
}

}  // namespace drwatch::restore
