#include "net/gzip.hpp"

#include <zlib.h>

#include <stdexcept>

namespace drwatch::net {
namespace {

void AppendLittleEndian32(std::string& out, std::uint32_t value) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

}  // namespace

DeflatedPart Deflate(std::string_view text, bool last) {
  z_stream zs{};
  // Negative windowBits: raw deflate, the gzip header and trailer are ours.
  if (deflateInit2(&zs, Z_BEST_SPEED, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    throw std::runtime_error("gzip: deflateInit2 failed");
  }
  DeflatedPart part;
  part.crc = crc32(crc32(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(text.data()),
                   static_cast<uInt>(text.size()));
  part.size = text.size();
  // The bound covers the data; a flush adds a few bytes: keep room for them.
  part.data.resize(deflateBound(&zs, text.size()) + 16);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  zs.avail_in = static_cast<uInt>(text.size());
  int rc = Z_OK;
  do {
    if (zs.total_out == part.data.size()) part.data.resize(part.data.size() * 2);
    zs.next_out = reinterpret_cast<Bytef*>(part.data.data() + zs.total_out);
    zs.avail_out = static_cast<uInt>(part.data.size() - zs.total_out);
    rc = deflate(&zs, last ? Z_FINISH : Z_SYNC_FLUSH);
  } while (rc == Z_OK && (last || zs.avail_out == 0));
  part.data.resize(zs.total_out);
  deflateEnd(&zs);
  if (last ? rc != Z_STREAM_END : rc != Z_OK && rc != Z_BUF_ERROR) {
    throw std::runtime_error("gzip: deflate failed");
  }
  return part;
}

std::string GzipJoin(const DeflatedPart& head, const DeflatedPart& tail) {
  // ID1 ID2, CM=8 (deflate), no flags, no mtime, XFL=4 (fastest), OS=3 (Unix).
  static constexpr char kHeader[] = {'\x1f', '\x8b', 8, 0, 0, 0, 0, 0, 4, 3};
  std::string out;
  out.reserve(sizeof kHeader + head.data.size() + tail.data.size() + 8);
  out.append(kHeader, sizeof kHeader);
  out += head.data;
  out += tail.data;
  auto crc = crc32_combine(head.crc, tail.crc, static_cast<z_off_t>(tail.size));
  AppendLittleEndian32(out, static_cast<std::uint32_t>(crc));
  AppendLittleEndian32(out, static_cast<std::uint32_t>(head.size + tail.size));  // ISIZE: mod 2^32
  return out;
}

std::string Gzip(std::string_view text) { return GzipJoin(DeflatedPart{}, Deflate(text, true)); }

const DeflatedPart& SharedText::Deflated() const {
  if (!deflated_) deflated_ = Deflate(text_, false);
  return *deflated_;
}

}  // namespace drwatch::net
