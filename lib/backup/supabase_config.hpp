#pragma once
// What backup.supabase_config stores of a Supabase project, and how secret
// values are kept out of it: pure functions over the Management API's JSON
// answers, so the probe only fetches and stores.

#include <boost/json/value.hpp>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace drwatch::backup {

/// One documented v1 endpoint of the project, stored as `<name>.json`.
struct ConfigSection {
  std::string_view name;  // file name and the `section` label
  std::string_view path;  // under /v1/projects/{ref}
};

/// auth, postgrest, postgres, pooler, network_restrictions, ssl_enforcement,
/// functions (the list), secrets (names only).
const std::vector<ConfigSection>& SupabaseConfigSections();

/// True for an object key whose string value is a credential: its last
/// `_`-separated word is secret(s), password, pass, key(s) or token(s)
/// (`jwt_secret`, `smtp_pass`, `sms_twilio_auth_token`,
/// `hook_send_sms_secrets`), case-insensitive. `hook_custom_access_token_uri`
/// and `refresh_token_rotation_enabled` are not.
bool IsSecretKey(std::string_view key);

/// Replaces, in place, every secret string value with its fingerprint: by
/// key (IsSecretKey), and wherever the value looks like a JWT (`eyJ…`); in a
/// URL with a password (a pooler's connection string) only the password.
/// Returns how many were replaced.
std::size_t RedactSecretValues(boost::json::value& doc, std::string_view salt);

/// `fingerprint:` and 16 hex digits of HMAC-SHA-256(salt, value): equal
/// values give equal fingerprints under one salt, so a change is visible;
/// the salt stays on the daemon's host, so the stored file alone does not
/// allow guessing a short password offline.
std::string SecretFingerprint(std::string_view value, std::string_view salt);

/// The secrets endpoint's answer (`[{"name": …, "value": …}, …]`) reduced to
/// the sorted names; false when the answer has another shape.
bool SecretNamesOnly(boost::json::value& doc);

/// Pretty JSON with object keys sorted, so that equal configurations give
/// equal bytes (for diffs by hand and change detection).
std::string CanonicalJson(const boost::json::value& doc);

/// 32 random bytes for SecretFingerprint.
std::string NewFingerprintSalt();

}  // namespace drwatch::backup
