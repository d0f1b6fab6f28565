// The backup manifest parser on arbitrary bytes (a manifest.json is read
// back from storage that others can write). What parses round-trips.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "backup/manifest.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view json(reinterpret_cast<const char*>(data), size);
  std::string error;
  auto manifest = drwatch::backup::ParseManifest(json, error);
  if (!manifest) {
    if (error.empty()) __builtin_trap();  // a refusal always says why
    return 0;
  }
  std::string text = drwatch::backup::ToJson(*manifest);
  auto again = drwatch::backup::ParseManifest(text, error);
  if (!again || drwatch::backup::ToJson(*again) != text) __builtin_trap();
  return 0;
}
