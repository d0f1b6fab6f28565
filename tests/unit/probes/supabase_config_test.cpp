// What backup.supabase_config keeps of a project's configuration: secret
// values never, their fingerprints and everything else always.

#include "backup/supabase_config.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace drwatch::backup {
namespace {

namespace json = boost::json;
using ::testing::HasSubstr;
using ::testing::Not;

// The shape of GET /v1/projects/{ref}/config/auth, cut down, with values a
// real project would have.
constexpr char kAuthConfig[] = R"({
  "site_url": "https://cms.example.com",
  "jwt_exp": 3600,
  "jwt_secret": "super-secret-jwt-signing-key-with-at-least-32-characters",
  "smtp_host": "smtp.example.com",
  "smtp_user": "apikey",
  "smtp_pass": "SG.smtp-password-4711",
  "external_github_enabled": true,
  "external_github_client_id": "Iv1.0123456789abcdef",
  "external_github_secret": "github-oauth-secret-0815",
  "sms_twilio_auth_token": "twilio-token-1234",
  "sms_textlocal_api_key": "textlocal-key-5678",
  "hook_send_sms_secrets": "v1,whsec_c2VjcmV0LXdlYmhvb2s=",
  "hook_custom_access_token_uri": "pg-functions://postgres/public/custom_claims",
  "refresh_token_rotation_enabled": true,
  "password_min_length": 12,
  "saml_providers": [{"id": "p1", "private_key": "-----BEGIN PRIVATE KEY-----abc"}],
  "webhook_url": "https://hooks:webhook-password-99@hooks.example.com/auth",
  "custom_header": "eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoic2VydmljZV9yb2xlIn0.c2lnbmF0dXJl",
  "smtp_pass_empty": ""
})";

constexpr const char* kSecrets[] = {"super-secret-jwt-signing-key-with-at-least-32-characters",
                                    "SG.smtp-password-4711",
                                    "github-oauth-secret-0815",
                                    "twilio-token-1234",
                                    "textlocal-key-5678",
                                    "whsec_c2VjcmV0LXdlYmhvb2s",
                                    "BEGIN PRIVATE KEY",
                                    "webhook-password-99",
                                    "eyJhbGciOiJIUzI1NiJ9"};

TEST(SupabaseConfig, SecretKeysByTheirLastWord) {
  for (const char* key : {"jwt_secret", "smtp_pass", "external_github_secret", "sms_twilio_auth_token",
                          "sms_textlocal_api_key", "hook_send_sms_secrets", "private_key", "password", "DB_PASSWORD",
                          "service_role_keys"}) {
    EXPECT_TRUE(IsSecretKey(key)) << key;
  }
  for (const char* key : {"hook_custom_access_token_uri", "refresh_token_rotation_enabled", "password_min_length",
                          "smtp_user", "external_github_client_id", "keyword", "passphrase_hint", "site_url", ""}) {
    EXPECT_FALSE(IsSecretKey(key)) << key;
  }
}

TEST(SupabaseConfig, SecretValuesBecomeFingerprintsAndNothingElseChanges) {
  json::value doc = json::parse(kAuthConfig);
  EXPECT_EQ(RedactSecretValues(doc, "salt-one"), 9u);
  std::string text = CanonicalJson(doc);
  for (const char* secret : kSecrets) EXPECT_THAT(text, Not(HasSubstr(secret))) << secret;
  const auto& o = doc.as_object();
  EXPECT_EQ(o.at("jwt_secret").as_string(), SecretFingerprint("super-secret-jwt-signing-key-with-at-least-32-characters",
                                                              "salt-one"));
  EXPECT_THAT(std::string(o.at("smtp_pass").as_string()), ::testing::MatchesRegex("fingerprint:[0-9a-f]{16}"));
  EXPECT_EQ(o.at("site_url").as_string(), "https://cms.example.com");
  EXPECT_EQ(o.at("hook_custom_access_token_uri").as_string(), "pg-functions://postgres/public/custom_claims");
  EXPECT_EQ(o.at("external_github_client_id").as_string(), "Iv1.0123456789abcdef");
  EXPECT_EQ(o.at("refresh_token_rotation_enabled").as_bool(), true);
  EXPECT_EQ(o.at("password_min_length").as_int64(), 12);
  EXPECT_EQ(o.at("smtp_pass_empty").as_string(), "");
  EXPECT_EQ(o.at("webhook_url").as_string(),
            "https://hooks:" + SecretFingerprint("webhook-password-99", "salt-one") + "@hooks.example.com/auth");  // an unset secret stays visibly unset
}

TEST(SupabaseConfig, FingerprintsShowAChangeButNotTheValue) {
  // HMAC-SHA-256 under the salt, first 8 bytes in hex (RFC 2104, as Python's hmac computes it).
  EXPECT_EQ(SecretFingerprint("hunter2", "salt"), "fingerprint:d03a122c2d18fa87");
  EXPECT_EQ(SecretFingerprint("hunter2", "salt"), SecretFingerprint("hunter2", "salt"));
  EXPECT_NE(SecretFingerprint("hunter2", "salt"), SecretFingerprint("hunter3", "salt"));
  EXPECT_NE(SecretFingerprint("hunter2", "salt"), SecretFingerprint("hunter2", "other salt"));
  std::string salt = NewFingerprintSalt();
  EXPECT_EQ(salt.size(), 32u);
  EXPECT_NE(salt, NewFingerprintSalt());
}

TEST(SupabaseConfig, SecretsKeepOnlyTheirNames) {
  json::value doc = json::parse(
      R"([{"name": "STRIPE_KEY", "value": "sk_live_0123"}, {"name": "OPENAI_API_KEY", "value": "sk-proj-4567"}])");
  ASSERT_TRUE(SecretNamesOnly(doc));
  EXPECT_EQ(CanonicalJson(doc), "[\n  \"OPENAI_API_KEY\",\n  \"STRIPE_KEY\"\n]\n");
  for (const char* bad : {R"({"name": "X"})", R"([{"value": "v"}])", R"([{"name": 5}])", "null"}) {
    json::value v = json::parse(bad);
    EXPECT_FALSE(SecretNamesOnly(v)) << bad;
  }
}

TEST(SupabaseConfig, CanonicalJsonIsIndependentOfKeyOrder) {
  auto a = CanonicalJson(json::parse(R"({"b": [1, {"y": 2, "x": 1}], "a": "é\"", "c": {}, "d": []})"));
  auto b = CanonicalJson(json::parse(R"({"d": [], "c": {}, "a": "é\"", "b": [1, {"x": 1, "y": 2}]})"));
  EXPECT_EQ(a, b);
  EXPECT_EQ(a,
            "{\n  \"a\": \"é\\\"\",\n  \"b\": [\n    1,\n    {\n      \"x\": 1,\n      \"y\": 2\n    }\n  ],\n"
            "  \"c\": {},\n  \"d\": []\n}\n");
}

TEST(SupabaseConfig, TheSectionsAreTheDocumentedEndpoints) {
  std::vector<std::string> paths;
  for (const auto& s : SupabaseConfigSections()) paths.emplace_back(s.path);
  EXPECT_EQ(paths, (std::vector<std::string>{"/config/auth", "/postgrest", "/config/database/postgres",
                                             "/config/database/pooler", "/network-restrictions", "/ssl-enforcement",
                                             "/functions", "/secrets"}));
}

}  // namespace
}  // namespace drwatch::backup
