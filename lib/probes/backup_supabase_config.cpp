// backup.supabase_config: one run = <check>/<run id>/ with the project's
// configuration read from the Management API, one canonical JSON file per
// section (backup/supabase_config.hpp: auth.json, postgrest.json, …), each
// edge function's deployed bundle (function-<slug>.body), sections.json (what
// was stored or skipped, and why) and manifest.json, like the other backup
// kinds (retention, encryption, metrics, `backup list`). Secret values never
// reach storage: they become salted fingerprints, and of the project's
// secrets only the names are kept. The salt lives on the daemon's host
// (<storage.path>/fingerprint.salt, 0600), not with the backups.
//
// 403 and 404 skip a section (the plan or token does not allow it); 401,
// other statuses and malformed JSON fail the run; a 429 waits Retry-After
// (up to a minute, three times) and then fails. The plaintext SHA-256 of each
// section is kept in the check's history file, so each run logs which
// sections changed and exports when (drwatch_supabase_config_changed_timestamp_seconds).

#include <fcntl.h>
#include <sodium.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <cerrno>
#include <cmath>
#include <cstring>

#include "backup/supabase_config.hpp"
#include "common/blocking.hpp"
#include "common/crypto.hpp"
#include "config/node_reader.hpp"
#include "metrics/families.hpp"
#include "probes/backup_common.hpp"
#include "probes/backup_probes.hpp"
#include "probes/history.hpp"
#include "targets/storage_target.hpp"
#include "targets/supabase_target.hpp"

namespace drwatch::probes {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;

constexpr std::size_t kSectionLimit = 4 * 1024 * 1024;
constexpr std::size_t kFunctionBodyLimit = 32 * 1024 * 1024;  // Supabase caps a bundle at 20 MB
constexpr std::size_t kMaxFunctions = 500;
constexpr int kAttempts = 3;
constexpr std::chrono::seconds kMaxWait{60};
constexpr std::size_t kSaltBytes = 32;

// A slug becomes part of a stored name: only what Supabase itself allows.
bool SafeSlug(std::string_view slug) {
  if (slug.empty() || slug.size() > 128) return false;
  return std::all_of(slug.begin(), slug.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
  });
}

// Reads <root>/fingerprint.salt, or creates it (0600, O_EXCL so two
// checks never make two salts). Blocking: call on the pool. Empty with
// `error` when neither works.
std::string LoadOrCreateSalt(const std::string& root, std::string& error) {
  std::string path = root + "/fingerprint.salt";
  for (int attempt = 0; attempt < 2; ++attempt) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd >= 0) {
      char hex[2 * kSaltBytes + 2];
      ssize_t n = ::read(fd, hex, sizeof hex);
      ::close(fd);
      std::string salt(kSaltBytes, '\0');
      std::size_t len = 0;
      if (n == 2 * kSaltBytes &&
          sodium_hex2bin(reinterpret_cast<unsigned char*>(salt.data()), salt.size(), hex, n, nullptr, &len,
                         nullptr) == 0 &&
          len == kSaltBytes) {
        return salt;
      }
      error = path + ": not 64 hex digits (remove it: a new salt changes every fingerprint once)";
      return "";
    }
    if (errno != ENOENT) break;
    std::string salt = backup::NewFingerprintSalt();
    char hex[2 * kSaltBytes + 1];
    sodium_bin2hex(hex, sizeof hex, reinterpret_cast<const unsigned char*>(salt.data()), salt.size());
    fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 && errno == EEXIST) continue;  // another check made it first
    if (fd < 0) break;
    bool ok = ::write(fd, hex, 2 * kSaltBytes) == static_cast<ssize_t>(2 * kSaltBytes) && ::fsync(fd) == 0;
    ::close(fd);
    if (ok) return salt;
    ::unlink(path.c_str());
    break;
  }
  error = "cannot read or create " + path + ": " + std::strerror(errno);
  return "";
}

// Stores `data` (a section, a function bundle: bounded by the fetch limits)
// as one object of the run, encrypted with keys[0] when set, hashing what is
// stored.
asio::awaitable<StreamResult> StoreBytes(storage::Backend& store, const backup::Manifest& manifest, std::string name,
                                         std::string_view data, const backup::KeyRing& keys) {
  StreamResult out;
  std::optional<backup::StreamEncryptor> encryptor;
  if (keys.enabled()) {
    encryptor.emplace(keys.keys[0]);
    name += backup::kEncryptedSuffix;
  }
  auto opened = co_await store.OpenWriter(backup::RunKey(manifest.check, manifest.run, name));
  if (!opened.ok()) {
    out.error = opened.error;
    co_return out;
  }
  Sha256 sha;
  std::uint64_t size = 0;
  auto write = [&](std::string piece) -> asio::awaitable<bool> {
    sha.Update(piece);
    size += piece.size();
    storage::Status written = co_await opened.writer->Write(std::move(piece));
    if (!written.ok()) out.error = written.error;
    co_return written.ok();
  };
  // No conditional inside co_await's operand: GCC 12 miscompiles it (see
  // backup_common.cpp).
  std::vector<std::string> pieces;
  if (encryptor) pieces.push_back(encryptor->Begin());
  for (std::size_t at = 0; at < data.size(); at += kBackupChunkBytes) {
    std::string_view piece = data.substr(at, kBackupChunkBytes);
    if (encryptor) pieces.push_back(encryptor->Chunk(piece));
    else pieces.emplace_back(piece);
  }
  if (encryptor) pieces.push_back(encryptor->Final());
  for (auto& piece : pieces) {
    bool ok = co_await write(std::move(piece));
    if (!ok) co_return out;
  }
  storage::Status committed = co_await opened.writer->Commit();
  if (!committed.ok()) {
    out.error = committed.error;
    co_return out;
  }
  out.file.name = name;
  out.file.size = size;
  out.file.sha256 = sha.HexDigest();
  if (encryptor) out.file.plaintext_size = data.size();
  co_return out;
}

class BackupSupabaseConfig final : public BackupJob {
 public:
  BackupSupabaseConfig(std::string storage, backup::Keep keep)
      : BackupJob("backup.supabase_config", std::move(storage), keep) {}

  std::vector<TargetReference> ReferencedTargets() const override { return {{"storage", storage(), "storage"}}; }

 protected:
  // When each section last changed, as of the last run that got that far
  // (a failed run still shows them).
  void AddRunSamples(ProbeResult& result) const override {
    result.samples.insert(result.samples.end(), changed_samples_.begin(), changed_samples_.end());
  }

 private:
  struct Fetched {
    net::HttpResult response;
    std::string error;  // the run fails with it
    bool skipped = false;
  };

  // GET with the target's shared 429 back-off: waits out Retry-After up to
  // kMaxWait, kAttempts times, within the run's deadline.
  asio::awaitable<Fetched> Get(RunContext& ctx, targets::SupabaseTarget& target, const std::string& path,
                               std::size_t limit) {
    Fetched out;
    for (int attempt = 1;; ++attempt) {
      if (auto left = target.RetryIn(); left > Clock::duration::zero()) {
        if (left > kMaxWait || attempt > kAttempts) {
          out.error = "GET " + path + ": " + targets::SupabaseTarget::RateLimited(left);
          co_return out;
        }
        asio::steady_timer timer(ctx.executor, left);
        co_await timer.async_wait(asio::use_awaitable);
      }
      net::HttpRequestSpec request = target.ProjectRequest(path);
      request.body_limit = limit;
      out.response = co_await net::Fetch(ctx.executor, std::move(request));
      if (out.response.status != 429) break;
      target.BackOffUntil(Clock::now() + targets::SupabaseTarget::RetryAfter(out.response));
    }
    const auto& r = out.response;
    std::string status = std::to_string(r.status);
    if (!r.ok()) out.error = "GET " + path + ": " + r.error;
    else if (r.status == 401) out.error = "unauthorized: check access_token (status 401)";
    else if (r.status == 403 || r.status == 404) out.skipped = true;
    else if (r.status != 200) out.error = "GET " + path + ": status " + status + ", expected 200";
    else if (r.truncated) out.error = "GET " + path + ": response larger than " + std::to_string(limit >> 20) + " MiB";
    co_return out;
  }

  asio::awaitable<std::string> WriteFiles(RunContext& ctx, storage::Backend& store,
                                          backup::Manifest& manifest) override {
    auto& target = static_cast<targets::SupabaseTarget&>(ctx.target);
    std::string salt = co_await Salt(ctx);
    if (salt.empty()) co_return "no fingerprint salt under --storage.path (see the log)";
    json::object sections;
    std::map<std::string, std::string> digests;  // section -> SHA-256 of its plaintext
    std::vector<std::string> slugs;
    for (const auto& section : backup::SupabaseConfigSections()) {
      std::string path(section.path);
      Fetched got = co_await Get(ctx, target, path, kSectionLimit);
      if (!got.error.empty()) co_return got.error;
      std::string name(section.name);
      if (got.skipped) {
        std::string why = "skipped: status " + std::to_string(got.response.status) +
                          " (not available to this plan or token)";
        spdlog::info("check {}: {} {}", ctx.check_name, name, why);
        sections[name] = why;
        continue;
      }
      boost::system::error_code ec;
      json::value doc = json::parse(got.response.body, ec);
      if (ec) co_return "GET " + path + ": malformed JSON: " + ec.message();
      if (name == "secrets" && !backup::SecretNamesOnly(doc)) {
        co_return "GET " + path + ": malformed response: expected a list of {name, value}";
      }
      if (name == "functions") slugs = FunctionSlugs(doc);
      backup::RedactSecretValues(doc, salt);
      std::string text = backup::CanonicalJson(doc);
      digests[name] = Sha256Hex(text);
      StreamResult stored = co_await StoreBytes(store, manifest, name + ".json", text, keys());
      if (!stored.ok()) co_return stored.error;
      manifest.files.push_back(std::move(stored.file));
      sections[name] = "stored";
    }
    std::string bodies = co_await StoreFunctionBodies(ctx, target, store, manifest, slugs, sections, digests);
    if (!bodies.empty()) co_return bodies;
    StreamResult index = co_await StoreBytes(store, manifest, "sections.json", backup::CanonicalJson(sections), keys());
    if (!index.ok()) co_return index.error;
    manifest.files.push_back(std::move(index.file));
    co_await NoteChanges(ctx, digests);
    co_return "";
  }

  static std::vector<std::string> FunctionSlugs(const json::value& list) {
    std::vector<std::string> slugs;
    if (const auto* items = list.if_array()) {
      for (const auto& item : *items) {
        const auto* o = item.if_object();
        const auto* slug = o ? o->if_contains("slug") : nullptr;
        if (slug && slug->is_string()) slugs.emplace_back(slug->as_string());
      }
    }
    return slugs;
  }

  // The deployed bundles are code, stored as they come (no secret belongs
  // in code; the project's secrets are read from its environment).
  asio::awaitable<std::string> StoreFunctionBodies(RunContext& ctx, targets::SupabaseTarget& target,
                                                   storage::Backend& store, backup::Manifest& manifest,
                                                   const std::vector<std::string>& slugs, json::object& sections,
                                                   std::map<std::string, std::string>& digests) {
    if (slugs.size() > kMaxFunctions) {
      co_return "GET /functions: " + std::to_string(slugs.size()) + " functions, more than " +
                std::to_string(kMaxFunctions);
    }
    Sha256 all;
    for (const auto& slug : slugs) {
      std::string key = "function:" + slug;
      if (!SafeSlug(slug)) {
        spdlog::warn("check {}: function slug {:?} is not [A-Za-z0-9_-]: not stored", ctx.check_name, slug);
        sections[key] = "skipped: unsafe slug";
        continue;
      }
      std::string path = "/functions/" + slug + "/body";
      Fetched got = co_await Get(ctx, target, path, kFunctionBodyLimit);
      if (!got.error.empty()) co_return got.error;
      if (got.skipped) {
        sections[key] = "skipped: status " + std::to_string(got.response.status);
        continue;
      }
      all.Update(slug + '\n' + Sha256Hex(got.response.body) + '\n');
      StreamResult stored =
          co_await StoreBytes(store, manifest, "function-" + slug + ".body", got.response.body, keys());
      if (!stored.ok()) co_return stored.error;
      manifest.files.push_back(std::move(stored.file));
      sections[key] = "stored";
    }
    if (!slugs.empty()) digests["function_bodies"] = all.HexDigest();
    co_return "";
  }

  asio::awaitable<std::string> Salt(RunContext& ctx) {
    if (!salt_.empty()) co_return salt_;
    if (ctx.storage_path.empty()) {
      salt_ = backup::NewFingerprintSalt();  // commands without a state directory: fingerprints of this run only
      co_return salt_;
    }
    struct Loaded {
      std::string salt, error;
    };
    auto load = [root = ctx.storage_path] {
      Loaded l;
      l.salt = LoadOrCreateSalt(root, l.error);
      return l;
    };
    std::optional<Loaded> loaded = co_await RunBlocking(ctx.pool, std::move(load), [](Loaded) {}, asio::use_awaitable);
    if (!loaded) co_return "";
    if (!loaded->error.empty()) spdlog::error("check {}: {}", ctx.check_name, loaded->error);
    salt_ = loaded->salt;
    co_return salt_;
  }

  // Which sections differ from the previous run (by the SHA-256 of their
  // stored plaintext, kept in the check's history file: 52 bits of it, as
  // exactly as a double holds them), logged, and since when.
  asio::awaitable<void> NoteChanges(RunContext& ctx, const std::map<std::string, std::string>& digests) {
    History history = co_await LoadHistoryOffLoop(ctx);
    // Whole seconds, so the time read back from the history file is the one
    // exported: Boost.JSON 1.81 reads a double of 17 significant digits back
    // to within one unit in the last place, and an unchanged section's
    // timestamp moved by a few hundred nanoseconds (seen under ASan).
    double now = std::floor(std::chrono::duration<double>(Clock::WallNow().time_since_epoch()).count());
    std::vector<std::string> changed;
    bool first = true;
    changed_samples_.clear();
    for (const auto& [section, digest] : digests) {
      double short_digest = static_cast<double>(std::stoull(digest.substr(0, 13), nullptr, 16));
      double& seen = history.counters["config_sha:" + section];
      double& since = history.counters["config_changed:" + section];
      first = first && seen == 0;
      if (seen != short_digest) {
        if (seen != 0) changed.push_back(section);
        seen = short_digest;
        since = now;
      }
      changed_samples_.push_back(metrics::kSupabaseConfigChangedTimestampSeconds.Make(since, {{"section", section}}));
    }
    co_await SaveHistoryOffLoop(ctx, std::move(history));
    if (first) {
      spdlog::info("check {}: first run: {} sections of the project configuration recorded", ctx.check_name,
                   digests.size());
    } else if (changed.empty()) {
      spdlog::info("check {}: project configuration unchanged since the previous run", ctx.check_name);
    } else {
      std::string list;
      for (const auto& s : changed) list += (list.empty() ? "" : ", ") + s;
      spdlog::warn("check {}: project configuration changed since the previous run: {}", ctx.check_name, list);
    }
  }

  std::string salt_;
  std::vector<metrics::Sample> changed_samples_;
};

}  // namespace

std::unique_ptr<Probe> ParseBackupSupabaseConfig(config::NodeReader& check) {
  auto storage = check.String("storage", true);
  auto keep = ParseKeep(check);
  auto keys = ParseEncryption(check);
  if (!storage || !keep || !keys) return nullptr;
  auto job = std::make_unique<BackupSupabaseConfig>(*storage, *keep);
  job->set_keys(std::move(*keys));
  return job;
}

}  // namespace drwatch::probes
