#pragma once
// State that outlives a restart: one small JSON file per check under
// <storage.path>/checks/<check>.json with its last result, timestamps, run
// counters and the probe's samples. Written atomically (temp file, fsync,
// rename, fsync of the directory), so a crash leaves the old file or the new
// one, never half of one. The command line writes the same files, and the
// daemon adopts what it wrote.
//
// StateStore's calls block (file I/O): the daemon makes them on the
// BlockingPool, never on the loop; StateWriter does that for the writes.

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/blocking.hpp"
#include "common/clock.hpp"
#include "catalogue/catalogue.hpp"
#include "engine/scheduler.hpp"
#include "run/context.hpp"

namespace drwatch::engine {

/// A check's state as read back from its file.
struct PersistedCheck {
  std::string kind;
  /// The result fields only (running, next_due, cancel are not kept); samples
  /// carry the probe's own labels, without check and target.
  CheckState state;
  std::int64_t mtime_ns = 0;  // of the file it came from
};

/// The file's text for `state` of check `check` of kind `kind`.
std::string EncodeState(const std::string& check, const std::string& kind, const CheckState& state);
/// Parses a state file's text; nullopt with `error` (one line) when it is not one.
std::optional<PersistedCheck> DecodeState(std::string_view text, const std::string& check, std::string& error);

class StateStore {
 public:
  /// `root` is --storage.path.
  explicit StateStore(std::string root);

  const std::string& root() const { return root_; }
  std::string ChecksDir() const;
  /// <root>/locks: the run locks of checks that run alone (run_lock.hpp).
  std::string LocksDir() const;
  std::string PathOf(const std::string& check) const;

  /// Creates <root>/checks if missing. False with `error` when it cannot.
  bool Prepare(std::string& error) const;
  /// Replaces the check's file atomically; on success sets `mtime_ns` to the
  /// new file's modification time. No temporary file is left either way.
  bool Write(const std::string& check, const std::string& text, std::int64_t& mtime_ns,
             std::string& error) const;
  /// Reads the check's file. Missing: nullopt, `error` empty. Unreadable or
  /// corrupt: nullopt, the file renamed to <file>.corrupt-<UTC time> when it
  /// can be, and `error` saying which file, why, and where it went.
  std::optional<PersistedCheck> Load(const std::string& check, std::string& error) const;
  /// Modification time of the check's file, 0 when missing.
  std::int64_t MtimeOf(const std::string& check) const;

 private:
  std::string root_;
};

/// The last run `check`'s file records, nullopt when there is none or it does
/// not decode. Blocking; reads only (a corrupt file is the scheduler's to set
/// aside).
std::optional<run::LastRun> ReadLastRun(const StateStore& store, const std::string& check);

/// Loads the state of every check in `catalogue` whose file exists and names
/// the same kind; logs (and sets aside) corrupt files. Blocking.
std::map<std::string, PersistedCheck> LoadStates(const StateStore& store, const catalogue::Catalogue& catalogue);

/// Writes check states from the loop, on the BlockingPool, in batches: a
/// saved state waits up to `delay` for others, then the batch is written at
/// once (WriteFilesAtomically: a few filesystem commits for the batch, not
/// two a file). A check's file is rewritten at most once every
/// `min_rewrite`: the states of a check that runs more often wait, and the
/// last one wins. At most one batch is in flight. FlushNow (shutdown)
/// writes everything that waits. A failing store is logged once per change
/// (failing, then writable again) and every failed write counted.
///
/// What a crash (not a stop) can lose: the last `delay` of results, and for
/// a check that runs more often than every `min_rewrite`, its results of the
/// last `min_rewrite`. Creating and renaming a file costs the filesystem an
/// inode allocation and free each time; at 1,000 checks every 10 s that was
/// most of the daemon's CPU (bench/README.md, "Scale").
class StateWriter {
 public:
  /// 250 ms: a result is on disk within about a quarter of a second, and at
  /// 100 results a second a batch holds about 25.
  static constexpr std::chrono::milliseconds kDefaultDelay{250};
  static constexpr std::chrono::seconds kDefaultMinRewrite{30};

  StateWriter(boost::asio::any_io_executor executor, BlockingPool& pool, std::shared_ptr<const StateStore> store,
              std::chrono::milliseconds delay = kDefaultDelay,
              std::chrono::milliseconds min_rewrite = kDefaultMinRewrite);
  ~StateWriter();
  StateWriter(const StateWriter&) = delete;
  StateWriter& operator=(const StateWriter&) = delete;

  void Save(const std::string& check, std::string text);
  /// Starts writing what waits now, without the delay (shutdown: the pool
  /// finishes it before the process exits).
  void FlushNow();
  /// The mtime of the newest file this process wrote or adopted for `check`.
  std::int64_t KnownMtime(const std::string& check) const;
  void SetKnownMtime(const std::string& check, std::int64_t mtime_ns);
  /// A write of `check` is in flight or waiting.
  bool Busy(const std::string& check) const;
  /// Bumped by every Save of `check`: an adoption decided before it is stale.
  std::uint64_t Generation(const std::string& check) const;
  std::uint64_t write_errors() const { return write_errors_; }
  const StateStore& store() const { return *store_; }

 private:
  struct Slot {
    bool writing = false;
    bool queued = false;
    std::optional<std::string> pending;
    std::int64_t known_mtime = 0;
    std::uint64_t generation = 0;
    std::optional<Clock::time_point> last_write;  // started, by this process
  };
  struct Outcome {
    bool ok = false;
    std::int64_t mtime = 0;
    std::string error;
  };
  /// Flushes at `at` (default: the delay from now), or earlier if already
  /// armed for earlier; nothing while a batch is in flight (its end arms).
  void Arm(std::optional<Clock::time_point> at = std::nullopt);
  void Flush();
  void Done(const std::string& check, const Outcome& outcome);

  boost::asio::any_io_executor executor_;
  BlockingPool& pool_;
  std::shared_ptr<const StateStore> store_;
  std::chrono::milliseconds delay_;
  std::chrono::milliseconds min_rewrite_;
  Timer timer_;
  bool armed_ = false;
  Clock::time_point armed_at_;
  bool flush_all_ = false;  // after FlushNow: min_rewrite no longer applies
  int batches_in_flight_ = 0;  // more than one only after FlushNow
  std::vector<std::string> queue_;  // checks with a waiting state, in the order saved
  std::map<std::string, Slot> slots_;
  bool failing_ = false;
  std::uint64_t write_errors_ = 0;
  std::shared_ptr<bool> alive_;
};

}  // namespace drwatch::engine
