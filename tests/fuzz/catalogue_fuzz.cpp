// The catalogue loader on arbitrary text: YAML → validated catalogue or a
// list of errors, never a crash, a hang or a leak.

#include <cstddef>
#include <cstdint>
#include <string>

#include "common/redact.hpp"
#include "catalogue/catalogue.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto loaded = drwatch::catalogue::LoadCatalogueText(text, "fuzz.yml");
  // Either a catalogue or errors, each naming the file.
  if (!loaded.catalogue && loaded.errors.empty()) __builtin_trap();
  for (const auto& e : loaded.errors) {
    if (e.rfind("fuzz.yml", 0) != 0) __builtin_trap();
  }
  drwatch::Redactor::Global().Clear();  // secrets found in one input must not pile up
  return 0;
}
