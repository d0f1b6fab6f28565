// The web config loader (--web.config.file) on arbitrary text.

#include <cstddef>
#include <cstdint>
#include <string>

#include "config/web_config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto loaded = drwatch::config::LoadWebConfigText(text, "web.yml");
  if (!loaded.config && loaded.errors.empty()) __builtin_trap();
  return 0;
}
