#pragma once
// Small files that must survive a crash whole: written to a temporary file
// beside the target, fsync'ed, renamed over it, and the directory fsync'ed,
// so a reader finds the old file or the new one, never half of one. A file
// that turns out unreadable is set aside (renamed) rather than deleted, so an
// operator can look at it. These calls block: make them off the event loop
// (BlockingPool).

#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace drwatch {

/// Replaces `path` with `text` atomically, creating its directory (one level)
/// when missing. No temporary file is left either way. False with `error`
/// ("cannot write <path>: <why>").
bool WriteFileAtomically(const std::string& path, const std::string& text, std::string& error);

/// One file of WriteFilesAtomically.
struct FileWrite {
  std::string path;
  std::string text;
};

/// Replaces each file as WriteFileAtomically does, as one batch: every
/// temporary file is written first, then all are synced, renamed, and each
/// directory synced once. A journaling filesystem then commits the batch in
/// a few transactions instead of two a file, which is what keeps a hundred
/// check results a second cheap (bench/README.md, "Scale"). `errors[i]` is
/// empty when files[i] was replaced; a failed file leaves no temporary file
/// and does not stop the others.
std::vector<std::string> WriteFilesAtomically(const std::vector<FileWrite>& files);

/// Renames `path` to `<path>.corrupt-<UTC time>` and returns a sentence for
/// the log: "set aside as <new path>" or "could not set it aside: <why>".
std::string SetAside(const std::string& path);

/// What ReadSmallFile found.
enum class SmallFile { kRead, kMissing, kUnreadable, kTooLarge };

/// Reads `path` whole into `text` when it is at most `max_bytes`, with its
/// modification time. kUnreadable and kTooLarge set `error`
/// ("<path>: cannot read: <why>", "larger than N bytes").
SmallFile ReadSmallFile(const std::string& path, std::size_t max_bytes, std::string& text, std::int64_t& mtime_ns,
                        std::string& error);

/// The object of a per-check JSON file (a state or history file): `text`
/// must be an object whose "format" is `format` and whose "check" is `check`.
/// nullopt with `error` ("invalid JSON: …", "unsupported format 2", "it is
/// the <what> of check \"other\"") when it is not.
std::optional<boost::json::object> ParseCheckFile(std::string_view text, const std::string& check, int format,
                                                  std::string_view what, std::string& error);

}  // namespace drwatch
