#include "config/expand.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <system_error>

namespace drwatch::config {
namespace {

bool IsEnvName(std::string_view name) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

// Strips one trailing newline ("\n" or "\r\n"), as `echo secret > file` adds.
void StripNewline(std::string& text) {
  if (!text.ends_with('\n')) return;
  text.pop_back();
  if (text.ends_with('\r')) text.pop_back();
}

// A credential name is a plain file name inside $CREDENTIALS_DIRECTORY, so a
// catalogue cannot use ${cred:} to reach files outside that directory.
bool IsCredentialName(std::string_view name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string_view::npos;
}

// ${cred:NAME}: systemd exports the unit's own credential directory as
// $CREDENTIALS_DIRECTORY, so the same catalogue works in drwatchd.service and
// in a `systemd-run -p LoadCredential=…` unit of the command-line tools.
std::string Credential(const std::string& name, std::string& error) {
  if (!IsCredentialName(name)) {
    error = "invalid credential name \"" + name + "\" in ${cred:" + name + "}";
    return {};
  }
  const char* dir = std::getenv("CREDENTIALS_DIRECTORY");
  if (dir == nullptr) {
    error = "credential " + name + ": $CREDENTIALS_DIRECTORY is not set (run under systemd with LoadCredential=" +
            name + ":/path, or use ${file:PATH})";
    return {};
  }
  std::string path = std::string(dir) + "/" + name;
  std::string reason;
  auto content = ReadSecretFile(path, reason);
  if (!content) {
    error = reason.starts_with("secret file ") ? reason
                                                 : "cannot read credential " + name + " (" + path + "): " + reason;
    return {};
  }
  StripNewline(*content);
  return *content;
}

// The value of one "${…}" body, or sets `error`.
std::string Substitute(std::string_view body, std::string& error) {
  if (body.starts_with("env:")) {
    std::string name(body.substr(4));
    if (!IsEnvName(name)) {
      error = "invalid environment variable name \"" + name + "\" in ${" + std::string(body) + "}";
      return {};
    }
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) error = "environment variable " + name + " is not set";
    return value == nullptr ? std::string() : std::string(value);
  }
  if (body.starts_with("file:")) {
    std::string path(body.substr(5));
    if (path.empty()) {
      error = "empty path in ${file:}";
      return {};
    }
    std::string reason;
    auto content = ReadSecretFile(path, reason);
    if (!content) {
      error = reason.starts_with("secret file ") ? reason : "cannot read file " + path + ": " + reason;
      return {};
    }
    StripNewline(*content);
    return *content;
  }
  if (body.starts_with("cred:")) return Credential(std::string(body.substr(5)), error);
  error = "unknown expansion ${" + std::string(body) + "} (use ${env:NAME}, ${file:PATH} or ${cred:NAME})";
  return {};
}

}  // namespace

namespace {

// Catalogues, web configs and secrets are small; a bound keeps a path such
// as /dev/zero from growing memory until the loader is killed.
constexpr std::size_t kMaxFileBytes = 16 * 1024 * 1024;

std::optional<std::string> ReadFile(const std::string& path, bool secret, std::string& reason) {
  // O_NONBLOCK: opening a FIFO nobody writes to would otherwise wait forever.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    reason = std::generic_category().message(errno);
    return std::nullopt;
  }
  struct stat kind {};
  if (::fstat(fd, &kind) == 0 && !S_ISREG(kind.st_mode) && !S_ISDIR(kind.st_mode)) {
    reason = "not a regular file";
    ::close(fd);
    return std::nullopt;
  }
  // Checked on the open file, so the answer is about what is read (as ssh
  // does for private keys). Only "other": a group of its own (the service's)
  // is how /etc/drwatch is meant to be shared.
  struct stat st {};
  if (secret && ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & (S_IROTH | S_IWOTH)) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    reason = "secret file " + path + " is " + ((st.st_mode & S_IROTH) ? "readable" : "writable") +
             " by every user (mode " + mode + "): run chmod 600 " + path + " (or chmod o-rw " + path + ")";
    ::close(fd);
    return std::nullopt;
  }
  std::string out;
  char buffer[8192];
  for (;;) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      reason = std::generic_category().message(errno);  // EISDIR for a directory
      ::close(fd);
      return std::nullopt;
    }
    if (n == 0) break;
    out.append(buffer, static_cast<std::size_t>(n));
    if (out.size() > kMaxFileBytes) {
      reason = "larger than 16 MiB";
      ::close(fd);
      return std::nullopt;
    }
  }
  ::close(fd);
  return out;
}

}  // namespace

std::optional<std::string> ReadWholeFile(const std::string& path, std::string& reason) {
  return ReadFile(path, false, reason);
}

std::optional<std::string> ReadSecretFile(const std::string& path, std::string& reason) {
  return ReadFile(path, true, reason);
}

Expansion Expand(std::string_view text) {
  Expansion out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t dollar = text.find('$', pos);
    if (dollar == std::string_view::npos) {
      out.value.append(text.substr(pos));
      break;
    }
    out.value.append(text.substr(pos, dollar - pos));
    std::string_view rest = text.substr(dollar);
    if (rest.starts_with("$${")) {
      out.value += "${";
      pos = dollar + 3;
    } else if (rest.starts_with("${")) {
      std::size_t close = text.find('}', dollar + 2);
      if (close == std::string_view::npos) {
        out.error = "unterminated \"${\" (write \"$${\" for a literal \"${\")";
        return out;
      }
      std::string value = Substitute(text.substr(dollar + 2, close - dollar - 2), out.error);
      if (!out.error.empty()) return out;
      out.value += value;
      out.secrets.push_back(std::move(value));
      pos = close + 1;
    } else {
      out.value += '$';
      pos = dollar + 1;
    }
  }
  return out;
}

}  // namespace drwatch::config
