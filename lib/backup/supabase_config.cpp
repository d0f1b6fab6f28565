#include "backup/supabase_config.hpp"

#include <sodium.h>

#include <algorithm>
#include <boost/json.hpp>
#include <stdexcept>

#include "common/crypto.hpp"
#include "common/text.hpp"

namespace drwatch::backup {
namespace {

namespace json = boost::json;

void RequireSodium() {
  static const bool ready = sodium_init() >= 0;
  if (!ready) throw std::runtime_error("libsodium cannot be initialised");
}

bool LooksLikeJwt(std::string_view value) {
  return value.starts_with("eyJ") && std::count(value.begin(), value.end(), '.') == 2;
}

// The password of scheme://user:password@host…, as [begin, end) in `value`;
// npos when there is none.
std::pair<std::size_t, std::size_t> UrlPassword(std::string_view value) {
  constexpr auto npos = std::string_view::npos;
  auto scheme = value.find("://");
  if (scheme == npos) return {npos, npos};
  std::size_t start = scheme + 3;
  auto at = value.find('@', start);
  auto slash = value.find('/', start);
  if (at == npos || (slash != npos && slash < at)) return {npos, npos};
  auto colon = value.find(':', start);
  if (colon == npos || colon + 1 >= at) return {npos, npos};
  return {colon + 1, at};
}

std::size_t Redact(json::value& v, std::string_view salt, bool secret_key) {
  std::size_t replaced = 0;
  switch (v.kind()) {
    case json::kind::string: {
      std::string_view text = v.as_string();
      if (text.empty()) break;
      if (secret_key || LooksLikeJwt(text)) {
        v = json::string(SecretFingerprint(text, salt));
        ++replaced;
      } else if (auto [begin, end] = UrlPassword(text); begin != std::string_view::npos) {
        // A connection string keeps its host and user: only the password goes.
        std::string redacted(text.substr(0, begin));
        redacted += SecretFingerprint(text.substr(begin, end - begin), salt);
        redacted += text.substr(end);
        v = json::string(redacted);
        ++replaced;
      }
      break;
    }
    case json::kind::array:
      for (auto& item : v.as_array()) replaced += Redact(item, salt, secret_key);
      break;
    case json::kind::object:
      for (auto& [key, item] : v.as_object()) replaced += Redact(item, salt, IsSecretKey(key));
      break;
    default:
      break;  // numbers and booleans carry no secret
  }
  return replaced;
}

void Indent(std::string& out, int depth) {
  out += '\n';
  out.append(static_cast<std::size_t>(depth) * 2, ' ');
}

void Write(const json::value& v, std::string& out, int depth) {
  if (const auto* o = v.if_object(); o && !o->empty()) {
    std::vector<const json::key_value_pair*> items;
    for (const auto& kv : *o) items.push_back(&kv);
    std::sort(items.begin(), items.end(), [](auto* a, auto* b) { return a->key() < b->key(); });
    out += '{';
    for (std::size_t i = 0; i < items.size(); ++i) {
      Indent(out, depth + 1);
      out += json::serialize(json::string(items[i]->key())) + ": ";
      Write(items[i]->value(), out, depth + 1);
      if (i + 1 < items.size()) out += ',';
    }
    Indent(out, depth);
    out += '}';
  } else if (const auto* a = v.if_array(); a && !a->empty()) {
    out += '[';
    for (std::size_t i = 0; i < a->size(); ++i) {
      Indent(out, depth + 1);
      Write((*a)[i], out, depth + 1);
      if (i + 1 < a->size()) out += ',';
    }
    Indent(out, depth);
    out += ']';
  } else {
    out += json::serialize(v);
  }
}

}  // namespace

const std::vector<ConfigSection>& SupabaseConfigSections() {
  static const std::vector<ConfigSection> sections = {
      {"auth", "/config/auth"},
      {"postgrest", "/postgrest"},
      {"postgres", "/config/database/postgres"},
      {"pooler", "/config/database/pooler"},
      {"network_restrictions", "/network-restrictions"},
      {"ssl_enforcement", "/ssl-enforcement"},
      {"functions", "/functions"},
      {"secrets", "/secrets"},
  };
  return sections;
}

bool IsSecretKey(std::string_view key) {
  std::string lower = AsciiLower(key);
  std::string_view last = lower;
  if (auto cut = last.rfind('_'); cut != std::string_view::npos) last = last.substr(cut + 1);
  for (std::string_view word : {"secret", "secrets", "password", "pass", "key", "keys", "token", "tokens"}) {
    if (last == word) return true;
  }
  return false;
}

std::string SecretFingerprint(std::string_view value, std::string_view salt) {
  return "fingerprint:" + HexEncode(HmacSha256(salt, value).substr(0, 8));
}

std::size_t RedactSecretValues(json::value& doc, std::string_view salt) { return Redact(doc, salt, false); }

bool SecretNamesOnly(json::value& doc) {
  auto* list = doc.if_array();
  if (!list) return false;
  std::vector<std::string> names;
  for (const auto& item : *list) {
    const auto* o = item.if_object();
    const auto* name = o ? o->if_contains("name") : nullptr;
    if (!name || !name->is_string()) return false;
    names.emplace_back(name->as_string());
  }
  std::sort(names.begin(), names.end());
  json::array out;
  for (auto& n : names) out.emplace_back(json::string(n));
  doc = std::move(out);
  return true;
}

std::string CanonicalJson(const json::value& doc) {
  std::string out;
  Write(doc, out, 0);
  out += '\n';
  return out;
}

std::string NewFingerprintSalt() {
  RequireSodium();
  std::string salt(32, '\0');
  randombytes_buf(salt.data(), salt.size());
  return salt;
}

}  // namespace drwatch::backup
