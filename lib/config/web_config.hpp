#pragma once
// Loads and validates the web configuration file (--web.config.file, the
// exporter-toolkit format). Unknown keys and bad values are refused as
// "FILE:LINE:COL: key.path: message", like the catalogue.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "common/blocking.hpp"
#include "net/web_settings.hpp"
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

/// Keeps the web configuration current so certificates rotate without a
/// restart. Current() is called on the loop for each new connection: it
/// answers at once with the configuration in force and, at most once per
/// second, has the pool compare the modification time, size and inode of the
/// file and of the certificate, key and CA files it names; when one changed,
/// the file is loaded there too and swapped in when valid. An invalid file
/// is logged once and the previous configuration stays.
class WebConfigWatcher {
 public:
  /// Loads `path` now (blocking: for start-up). Returns nullptr and fills
  /// `errors` when the file is invalid.
  static std::unique_ptr<WebConfigWatcher> Create(boost::asio::any_io_executor executor,
                                                  BlockingPool& pool, std::string path,
                                                  std::vector<std::string>& errors);
  ~WebConfigWatcher();
  std::shared_ptr<const net::WebSecurity> Current();

 private:
  struct State;
  explicit WebConfigWatcher(std::shared_ptr<State> state);
  std::shared_ptr<State> state_;
};

}  // namespace drwatch::config
