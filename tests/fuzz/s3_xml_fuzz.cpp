// The S3 answer parsers (ListObjectsV2, errors, multipart initiation) on
// arbitrary bytes, as a hostile or broken S3 server could send them.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "storage/s3_xml.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  auto doc = drwatch::storage::ParseXml(body);
  if (doc.ok()) {
    // What parsed escapes and parses back to the same text.
    auto again = drwatch::storage::ParseXml("<a>" + drwatch::storage::XmlEscape(doc.root.text) + "</a>");
    if (!again.ok() || again.root.text != doc.root.text) __builtin_trap();
  }
  drwatch::storage::ParseS3Error(body);
  drwatch::storage::ParseListObjects(body);
  drwatch::storage::ParseInitiateMultipartUpload(body);
  return 0;
}
