#pragma once
// gzip (RFC 1952) for response bodies, in parts: a part deflated once can
// start many bodies. A body is one gzip member whose deflate stream is the
// parts' streams back to back (each but the last ends with a sync flush, on
// a byte boundary, without a final block) and whose CRC-32 is combined from
// the parts' (crc32_combine): the way pigz compresses in pieces. Any gzip
// reader decodes it; no reader needs multi-member support.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace drwatch::net {

/// One piece of a gzip body: raw deflate data, and the CRC-32 and length of
/// the text it holds.
struct DeflatedPart {
  std::string data;
  unsigned long crc = 0;
  std::uint64_t size = 0;
};

/// Deflates `text` (fastest level). `last`: ends the deflate stream (the
/// part goes last); else ends with a sync flush so another part can follow.
/// Throws std::runtime_error if zlib fails (out of memory).
DeflatedPart Deflate(std::string_view text, bool last);

/// A gzip member of `head` (not last) followed by `tail` (last).
std::string GzipJoin(const DeflatedPart& head, const DeflatedPart& tail);

/// gzip of `text` in one part.
std::string Gzip(std::string_view text);

/// Text that many responses share; its deflated form is made on first use
/// and kept. Not thread-safe: use on one loop.
class SharedText {
 public:
  explicit SharedText(std::string text) : text_(std::move(text)) {}
  const std::string& text() const { return text_; }
  /// Deflate(text(), false), computed once.
  const DeflatedPart& Deflated() const;

 private:
  std::string text_;
  mutable std::optional<DeflatedPart> deflated_;
};

}  // namespace drwatch::net
