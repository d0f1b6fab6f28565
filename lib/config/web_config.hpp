#pragma once
// Loads and validates the web configuration file (--web.config.file, the
// exporter-toolkit format). Unknown keys and bad values are refused as
// "FILE:LINE:COL: key.path: message", like the catalogue.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "net/web_config.hpp"
#include "net/web_security.hpp"

namespace drwatch::config {

struct WebConfigLoad {
  std::optional<net::WebConfig> config;  // set only when errors is empty
  std::shared_ptr<const net::WebSecurity> security;  // config, ready to serve
  std::vector<std::string> errors;
};

/// Parses `text` as the web config named `file` (used in messages) and loads
/// the certificates and keys it names (blocking: file system).
WebConfigLoad LoadWebConfigText(const std::string& text, const std::string& file);
/// Reads and parses `path` (blocking).
WebConfigLoad LoadWebConfigFile(const std::string& path);

}  // namespace drwatch::config
