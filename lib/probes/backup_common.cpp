#include "probes/backup_common.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstdio>

#include "common/clock.hpp"
#include "common/crypto.hpp"
#include "common/redact.hpp"
#include "config/node_reader.hpp"
#include "drwatch/version.hpp"
#include "metrics/families.hpp"
#include "probes/backup_probes.hpp"
#include "probes/history.hpp"
#include "targets/storage_target.hpp"

namespace drwatch::probes {
namespace {

namespace asio = boost::asio;
using namespace boost::asio::experimental::awaitable_operators;

constexpr std::size_t kMaxReasonLine = 300;

std::string FirstLine(std::string_view text) {
  while (!text.empty() && (text.front() == '\n' || text.front() == '\r')) text.remove_prefix(1);
  std::string line(text.substr(0, text.find_first_of("\r\n")));
  if (line.size() > kMaxReasonLine) line = line.substr(0, kMaxReasonLine) + "…";
  return line.empty() ? "(no message on stderr)" : line;
}

// Copies the child's stdout into the writer in 64 KiB chunks, each write
// awaited before the next read (back-pressure: a slow store slows the child
// instead of filling memory). On a storage error the child's group is killed,
// so its stderr closes and the run ends now rather than at the deadline.
// Encryption happens here, on the loop, next to the hashing: a 64 KiB chunk
// takes tens of microseconds (bench/README.md).
class Pumped {
 public:
  Pumped(storage::Writer& writer, const backup::KeyRing& keys) : writer_(writer) {
    if (keys.enabled()) encryptor_.emplace(keys.keys[0]);
  }

  asio::awaitable<std::string> Run(Subprocess& child) {
    if (encryptor_) {
      std::string error = co_await Store(encryptor_->Begin());
      if (!error.empty()) co_return Kill(child, error);
    }
    for (;;) {
      std::string chunk(kBackupChunkBytes, '\0');
      boost::system::error_code ec;
      std::size_t n = co_await asio::async_read(child.stdout_pipe(), asio::buffer(chunk),
                                                asio::redirect_error(asio::use_awaitable, ec));
      if (ec == asio::error::operation_aborted) throw boost::system::system_error(ec);
      chunk.resize(n);
      plain_bytes_ += n;
      if (n > 0) {
        // Not a conditional inside co_await's operand: GCC 12 miscompiled that here
        // (a plain run took the encrypting branch).
        if (encryptor_) chunk = encryptor_->Chunk(chunk);
        std::string error = co_await Store(std::move(chunk));
        if (!error.empty()) co_return Kill(child, error);
      }
      if (ec == asio::error::eof) break;
      if (ec) co_return Kill(child, "read from the child: " + ec.message());
    }
    if (!encryptor_) co_return "";
    std::string error = co_await Store(encryptor_->Final());
    if (!error.empty()) child.Kill(SIGKILL);
    co_return error;
  }

  std::string HexDigest() { return sha_.HexDigest(); }
  std::uint64_t plain_bytes() const { return plain_bytes_; }

 private:
  asio::awaitable<std::string> Store(std::string data) {
    sha_.Update(data);
    storage::Status written = co_await writer_.Write(std::move(data));
    co_return written.error;
  }
  static std::string Kill(Subprocess& child, std::string error) {
    child.Kill(SIGKILL);
    return error;
  }

  storage::Writer& writer_;
  std::optional<backup::StreamEncryptor> encryptor_;
  Sha256 sha_;
  std::uint64_t plain_bytes_ = 0;
};

double UnixSeconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

std::string Fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

// Samples describing the newest complete run, as of `now`.
void AddSamples(const backup::Manifest& m, std::chrono::system_clock::time_point now, ProbeResult& out) {
  double age = std::max(0.0, std::chrono::duration<double>(now - m.started_at).count());
  double duration = std::chrono::duration<double>(m.finished_at - m.started_at).count();
  out.observed = age;
  out.samples.push_back(metrics::kBackupLastSuccessTimestampSeconds.Make(UnixSeconds(m.finished_at)));
  out.samples.push_back(metrics::kBackupDurationSeconds.Make(duration));
  double bytes = 0;
  for (const auto& f : m.files) {
    bytes += static_cast<double>(f.size);
    out.samples.push_back(metrics::kBackupSizeBytes.Make(static_cast<double>(f.size), {{"file", f.name}}));
  }
  if (duration > 0) {
    out.samples.push_back(metrics::kBackupThroughputBytesPerSecond.Make(bytes / duration));
  }
  out.samples.push_back(metrics::kDataAgeSeconds.Make(age));
}

std::string Details(const std::string& location, const backup::Manifest& m) {
  double duration = std::chrono::duration<double>(m.finished_at - m.started_at).count();
  std::string out = "run " + m.run + " at " + location + "\n";
  for (const auto& f : m.files) {
    char line[200];
    std::snprintf(line, sizeof line, "  %-14s %14llu bytes  sha256 %s…\n", f.name.c_str(),
                  static_cast<unsigned long long>(f.size), f.sha256.substr(0, 16).c_str());
    out += line;
  }
  for (const auto& t : m.tables) out += "  table " + t.name + ": " + std::to_string(t.rows) + " rows\n";
  out += "  duration " + Fixed(duration, 1) + "s";
  if (!m.server_version.empty()) out += ", PostgreSQL " + m.server_version + ", database " + m.database;
  if (!m.source_path.empty()) out += ", source " + m.source_path;
  out += "\n";
  return out;
}

}  // namespace

std::optional<backup::Keep> ParseKeep(config::NodeReader& check) {
  backup::Keep keep;
  if (!check.Has("keep")) return keep;
  auto map = check.Map("keep");
  if (!map) return std::nullopt;
  auto last = map->Int("last", 1, 100000);
  auto daily = map->Int("daily", 0, 100000);
  auto weekly = map->Int("weekly", 0, 100000);
  map->Finish();
  if ((map->Has("last") && !last) || (map->Has("daily") && !daily) || (map->Has("weekly") && !weekly)) {
    return std::nullopt;
  }
  if (last) keep.last = static_cast<int>(*last);
  if (daily) keep.daily = static_cast<int>(*daily);
  if (weekly) keep.weekly = static_cast<int>(*weekly);
  return keep;
}

std::optional<backup::KeyRing> ParseEncryption(config::NodeReader& check) {
  backup::KeyRing ring;
  if (!check.Has("encryption")) return ring;
  auto enc = check.Map("encryption");
  if (!enc) return std::nullopt;
  auto key = enc->String("key", true);
  auto old_keys = enc->StringList("old_keys");
  enc->Finish();
  if (!key || (!old_keys && enc->Has("old_keys"))) return std::nullopt;
  constexpr std::string_view kBad = "not a base64-encoded 32-byte key (make one with drwatchd backup keygen)";
  bool ok = true;
  auto add = [&](const std::string& text) {
    Redactor::Global().Add(text);  // a secret even when written literally
    auto parsed = backup::BackupKey::FromBase64(text);
    if (parsed) ring.keys.push_back(std::move(*parsed));
    ok = ok && parsed.has_value();
    return parsed.has_value();
  };
  if (!add(*key)) enc->Error("key", kBad);
  const auto& olds = old_keys.value_or(std::vector<std::string>{});
  for (std::size_t i = 0; i < olds.size(); ++i) {
    std::string item = "old_keys[" + std::to_string(i) + "]";
    if (!add(olds[i])) enc->diag().Error(enc->node()["old_keys"][i].Mark(), enc->PathOf(item), kBad);
  }
  if (!ok) return std::nullopt;
  return ring;
}

asio::awaitable<StreamResult> StreamChildToObject(asio::any_io_executor executor, SpawnSpec spec,
                                                  storage::Backend& store, std::string key, std::string name,
                                                  std::string program, std::string check,
                                                  const backup::KeyRing& keys) {
  StreamResult out;
  if (keys.enabled()) {
    key += backup::kEncryptedSuffix;
    name += backup::kEncryptedSuffix;
  }
  storage::WriterResult opened = co_await store.OpenWriter(key);
  if (!opened.ok()) {
    out.error = Redactor::Global().Apply(opened.error);
    co_return out;
  }
  std::string error;
  std::unique_ptr<Subprocess> child = Subprocess::Spawn(executor, spec, error);
  if (!child) {
    out.error = Redactor::Global().Apply(error);
    co_return out;
  }
  Pumped pump(*opened.writer, keys);
  auto both = co_await (pump.Run(*child) && ReadAllCapped(child->stderr_pipe(), kMaxChildStderr));
  std::string pump_error = std::move(std::get<0>(both));
  std::string stderr_text = Redactor::Global().Apply(std::get<1>(both));
  ExitStatus status = co_await child->Wait();
  if (!pump_error.empty()) {
    out.error = Redactor::Global().Apply(pump_error);
    co_return out;
  }
  if (!status.ok()) {
    spdlog::warn("check {}: {} failed ({}); its stderr:\n{}", check, program, status.Describe(), stderr_text);
    out.error = program + " failed (" + status.Describe() + "): " + FirstLine(stderr_text);
    co_return out;
  }
  if (!stderr_text.empty()) spdlog::info("check {}: {} said: {}", check, program, stderr_text);
  storage::Status committed = co_await opened.writer->Commit();
  if (!committed.ok()) {
    out.error = Redactor::Global().Apply(committed.error);
    co_return out;
  }
  out.file.name = std::move(name);
  out.file.size = opened.writer->written();
  out.file.sha256 = pump.HexDigest();
  if (keys.enabled()) out.file.plaintext_size = pump.plain_bytes();
  co_return out;
}

namespace {

// What the manifest of a run encrypted with `keys` records; nullopt when the
// ring is empty.
std::optional<backup::ManifestEncryption> EncryptionOf(const backup::KeyRing& keys) {
  if (!keys.enabled()) return std::nullopt;
  return backup::ManifestEncryption{std::string(backup::kCipherName), keys.keys[0].id()};
}

// Sets manifest.started_at and manifest.run for a run starting now, with a
// run id no run of the check in `store` has yet: a `backup run` next to a
// scheduled run in the same second would otherwise share a directory. When
// the id is taken it waits for the next second (at most a few times).
asio::awaitable<void> StartRun(storage::Backend& store, backup::Manifest& manifest) {
  for (int attempt = 0;; ++attempt) {
    manifest.started_at = std::chrono::system_clock::now();
    manifest.run = backup::RunId(manifest.started_at);
    if (attempt == 3) co_return;  // let the write report the clash
    bool taken = false;
    // Hidden names too: a run in flight on file:// has only ".NAME.partial-…" files.
    for (const char* pattern : {"/*", "/.*"}) {
      storage::ListResult found = co_await store.List(manifest.check + "/" + manifest.run + pattern, 16);
      taken = taken || (found.ok() && !found.objects.empty());
    }
    if (!taken) co_return;
    auto next = std::chrono::ceil<std::chrono::seconds>(manifest.started_at + std::chrono::milliseconds(1));
    Timer timer(co_await asio::this_coro::executor);
    timer.expires_after(next - manifest.started_at);
    co_await timer.async_wait(asio::use_awaitable);
  }
}

// Ends a run whose files are stored: writes manifest.json (last: it makes the
// run complete), applies retention, and returns success with the samples,
// observed age and details.
asio::awaitable<ProbeResult> FinishBackup(RunContext& ctx, storage::Backend& store, backup::Manifest manifest,
                                          backup::Keep keep) {
  manifest.finished_at = std::chrono::system_clock::now();
  manifest.drwatch_version = kVersion;
  std::string check(ctx.check_name);
  storage::Status put =
      co_await store.Put(backup::RunKey(check, manifest.run, backup::kManifestName), backup::ToJson(manifest));
  if (!put.ok()) co_return ProbeResult::Fail(Redactor::Global().Apply(put.error));
  // Only now, with a newer complete run in place, may older ones go.
  backup::RetentionResult kept = co_await backup::ApplyRetention(store, check, keep, manifest.run, ctx.timeout);
  ProbeResult out = ProbeResult::Ok();
  AddSamples(manifest, std::chrono::system_clock::now(), out);
  std::uint64_t bytes = 0;
  for (const auto& f : manifest.files) bytes += f.size;
  double took = std::chrono::duration<double>(manifest.finished_at - manifest.started_at).count();
  out.reason = "run " + manifest.run + ": " + std::to_string(bytes) + " bytes in " + Fixed(took, 1) + "s";
  out.details = Details(store.Locate(backup::RunKey(check, manifest.run, "")), manifest);
  co_await AddDurationRatio(ctx, took, "backup run", out);
  if (!kept.ok()) {
    std::string why = Redactor::Global().Apply(kept.error);
    spdlog::warn("check {}: retention: {}", check, why);
    out.reason += "; retention failed: " + why;
  } else if (!kept.plan.remove.empty() || kept.leftovers_removed > 0 || !kept.plan.young.empty()) {
    out.details += "  retention removed " + std::to_string(kept.plan.remove.size()) + " run(s) and " +
                   std::to_string(kept.leftovers_removed) + " leftover temp file(s), kept " +
                   std::to_string(kept.plan.keep.size()) + " complete run(s) and " +
                   std::to_string(kept.plan.young.size()) + " incomplete run(s) younger than the timeout\n";
  }
  co_return out;
}

// A failed run: the reason, plus the samples of the newest complete run
// already in `store` (so its age keeps being exported while runs fail).
asio::awaitable<ProbeResult> FailBackup(RunContext& ctx, storage::Backend& store, std::string reason) {
  ProbeResult out = ProbeResult::Fail(Redactor::Global().Apply(reason));
  backup::LatestResult latest = co_await backup::LatestComplete(store, std::string(ctx.check_name));
  if (latest.ok()) AddSamples(latest.manifest, std::chrono::system_clock::now(), out);
  co_return out;
}

}  // namespace

targets::TargetRuntime* BackupJob::StorageOf(RunContext& ctx) const {
  return ctx.find_target ? ctx.find_target(storage_) : nullptr;
}

asio::awaitable<ProbeResult> BackupJob::Run(RunContext& ctx) {
  targets::TargetRuntime* found = StorageOf(ctx);
  if (!found) co_return ProbeResult::Fail("storage target \"" + storage_ + "\" is not available");
  auto& store = static_cast<targets::StorageTarget&>(*found).backend();
  backup::Manifest manifest;
  manifest.kind = kind_;
  manifest.check = std::string(ctx.check_name);
  manifest.encryption = EncryptionOf(keys());
  co_await StartRun(store, manifest);
  std::string error = co_await WriteFiles(ctx, store, manifest);
  if (error.empty()) {
    ProbeResult done = co_await FinishBackup(ctx, store, std::move(manifest), keep_);
    if (done.success) {
      AddRunSamples(done);
      co_return done;
    }
    error = std::move(done.reason);
  }
  ProbeResult failed = co_await FailBackup(ctx, store, std::move(error));
  AddRunSamples(failed);
  co_return failed;
}

}  // namespace drwatch::probes
