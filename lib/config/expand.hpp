#pragma once
// ${env:NAME}, ${file:PATH} and ${cred:NAME} expansion inside catalogue strings.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace drwatch::config {

struct Expansion {
  std::string value;                 // the expanded text
  std::vector<std::string> secrets;  // every substituted value (to redact)
  std::string error;                 // empty on success
};

/// Expands every ${env:NAME}, ${file:PATH} and ${cred:NAME} in `text`;
/// ${cred:NAME} reads "$CREDENTIALS_DIRECTORY/NAME" (systemd's LoadCredential=).
/// A file's or credential's content has one trailing newline removed. "$${"
/// is a literal "${". An unset variable, an unreadable file or an unterminated
/// "${" sets `error`, e.g. "environment variable PRMCMS_DSN is not set",
/// "cannot read file /run/x: No such file or directory", "credential x:
/// $CREDENTIALS_DIRECTORY is not set (…)", "unknown expansion ${foo:bar} (…)";
/// files and credentials are secrets: see ReadSecretFile.
Expansion Expand(std::string_view text);

/// Reads a whole file. On failure returns nullopt and sets `reason` to the
/// system's text ("No such file or directory").
std::optional<std::string> ReadWholeFile(const std::string& path, std::string& reason);

/// ReadWholeFile for a file holding a secret (${file:}, ${cred:}, a key, a
/// DSN file): refused when any user may read or write it, the way ssh refuses
/// such a private key; `reason` is then the whole sentence with the fix:
/// "secret file /etc/drwatch/dsn is readable by every user (mode 0644): run
/// chmod 600 /etc/drwatch/dsn (or chmod o-rw /etc/drwatch/dsn)".
std::optional<std::string> ReadSecretFile(const std::string& path, std::string& reason);

}  // namespace drwatch::config
