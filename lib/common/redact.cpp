#include "common/redact.hpp"

#include <algorithm>
#include <mutex>
#include <shared_mutex>
#include <vector>

namespace drwatch {
namespace {
struct Store {
  mutable std::shared_mutex mu;
  std::vector<std::string> secrets;  // longest first, so overlaps mask fully
};
Store& StoreFor(const Redactor* r) {
  static Store global;
  (void)r;
  return global;
}
}  // namespace

Redactor& Redactor::Global() {
  static Redactor r;
  return r;
}

void Redactor::Add(std::string_view secret) {
  if (secret.size() < kMinLength) return;
  Store& s = StoreFor(this);
  std::unique_lock lock(s.mu);
  if (std::find(s.secrets.begin(), s.secrets.end(), secret) != s.secrets.end()) return;
  s.secrets.emplace_back(secret);
  std::sort(s.secrets.begin(), s.secrets.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
}

std::string Redactor::Apply(std::string_view text) const {
  std::string out(text);
  Store& s = StoreFor(this);
  std::shared_lock lock(s.mu);
  for (const auto& secret : s.secrets) {
    for (auto pos = out.find(secret); pos != std::string::npos; pos = out.find(secret, pos)) {
      out.replace(pos, secret.size(), "<redacted>");
      pos += 10;
    }
  }
  return out;
}

void Redactor::Clear() {
  Store& s = StoreFor(this);
  std::unique_lock lock(s.mu);
  s.secrets.clear();
}

}  // namespace drwatch
