// The web config file (--web.config.file): the good forms, and one bad
// fixture per rule under tests/testdata/web/ with its exact message.

#include "config/web_config.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "support/bad_fixtures.hpp"

namespace drwatch::config {
namespace {

using test::BadCase;
using test::TestDataPath;

TEST(WebConfig, FullFileParses) {
  std::string path = TestDataPath("web/good_full.yml");
  auto loaded = LoadWebConfigFile(path);
  ASSERT_TRUE(loaded.errors.empty()) << loaded.errors.front();
  ASSERT_TRUE(loaded.config);
  const net::WebConfig& web = *loaded.config;
  ASSERT_TRUE(web.tls);
  EXPECT_EQ(web.tls->cert_file, TestDataPath("web/server.pem"));  // relative to the file
  EXPECT_EQ(web.tls->key_file, TestDataPath("web/server.key"));
  EXPECT_EQ(web.tls->client_auth, net::ClientAuth::kRequireAndVerifyClientCert);
  EXPECT_EQ(web.tls->client_ca_file, TestDataPath("web/server.pem"));
  EXPECT_EQ(web.tls->min_version, net::TlsVersion::kTls12);
  EXPECT_EQ(web.tls->max_version, net::TlsVersion::kTls13);
  ASSERT_EQ(web.basic_auth_users.size(), 1u);
  EXPECT_EQ(web.basic_auth_users.at("alice"),
            "$2b$05$abcdefghijklmnopqrstuuOQiyCxlgf/oeuTqixKmWdcYUh4Hjl0a");
  ASSERT_EQ(web.headers.size(), 1u);
  EXPECT_EQ(web.headers[0].first, "X-Frame-Options");
  EXPECT_EQ(web.headers[0].second, "deny");
}

TEST(WebConfig, EmptyFileMeansNoTlsAndNoAuth) {
  auto loaded = LoadWebConfigFile(TestDataPath("web/good_empty.yml"));
  ASSERT_TRUE(loaded.config);
  EXPECT_FALSE(loaded.config->tls);
  EXPECT_TRUE(loaded.config->basic_auth_users.empty());
}

// The TLS key is a secret: refused when every user may read it, like ssh.
TEST(WebConfig, AKeyFileEveryUserCanReadIsRefused) {
  namespace fs = std::filesystem;
  std::string dir = ::testing::TempDir() + "/drwatch_web_key_mode";
  fs::remove_all(dir);
  fs::create_directories(dir);
  fs::copy_file(TestDataPath("web/server.pem"), dir + "/server.pem");
  fs::copy_file(TestDataPath("web/server.key"), dir + "/server.key");
  fs::permissions(dir + "/server.key", fs::perms::owner_read | fs::perms::owner_write | fs::perms::others_read);
  std::ofstream(dir + "/web.yml") << "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n";
  auto loaded = LoadWebConfigFile(dir + "/web.yml");
  ASSERT_EQ(loaded.errors.size(), 1u);
  std::string key = dir + "/server.key";
  EXPECT_EQ(loaded.errors[0], dir + "/web.yml:3:13: tls_server_config.key_file: secret file " + key +
                                  " is readable by every user (mode 0604): run chmod 600 " + key + " (or chmod o-rw " +
                                  key + ")");
  fs::permissions(key, fs::perms::others_read, fs::perm_options::remove);
  EXPECT_TRUE(LoadWebConfigFile(dir + "/web.yml").errors.empty());
  fs::remove_all(dir);
}

TEST(WebConfig, MissingFile) {
  auto loaded = LoadWebConfigFile(TestDataPath("web/absent.yml"));
  EXPECT_FALSE(loaded.config);
  EXPECT_EQ(loaded.errors, std::vector<std::string>{TestDataPath("web/absent.yml") +
                                                    ": cannot read: No such file or directory"});
}

class BadWebConfig : public testing::TestWithParam<BadCase> {};

TEST_P(BadWebConfig, IsRefusedWithTheExactMessage) {
  const BadCase& c = GetParam();
  std::string path = TestDataPath(c.file);
  std::vector<std::string> expected;
  for (const auto& e : c.errors) expected.push_back(path + e);
  auto loaded = LoadWebConfigFile(path);
  EXPECT_FALSE(loaded.config);
  EXPECT_EQ(loaded.errors, expected);
}

std::string Missing(const std::string& name) { return "cannot read \"" + TestDataPath("web/" + name) + "\""; }

INSTANTIATE_TEST_SUITE_P(
    Fixtures, BadWebConfig,
    testing::Values(
        BadCase{"web/bad_unknown_key.yml", {":4:1: basic_auth_user: unknown key"}},
        BadCase{"web/bad_cert_missing.yml",
                {":2:14: tls_server_config.cert_file: " + Missing("missing.pem") + ": No such file or directory"}},
        BadCase{"web/bad_key_file_missing.yml", {":2:3: tls_server_config.key_file: missing required key"}},
        BadCase{"web/bad_client_auth_type.yml",
                {":4:21: tls_server_config.client_auth_type: unknown client_auth_type \"RequireCert\" (use "
                 "NoClientCert, RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven or "
                 "RequireAndVerifyClientCert)"}},
        BadCase{"web/bad_client_ca_required.yml",
                {":4:21: tls_server_config.client_auth_type: client_ca_file is required to verify client "
                 "certificates"}},
        BadCase{"web/bad_min_version.yml",
                {":4:16: tls_server_config.min_version: unsupported TLS version \"TLS11\" (use TLS12 or TLS13)"}},
        BadCase{"web/bad_max_below_min.yml",
                {":5:16: tls_server_config.max_version: max_version is older than min_version"}},
        BadCase{"web/bad_cipher_suites.yml",
                {":4:18: tls_server_config.cipher_suites: not supported by drwatchd (OpenSSL's defaults "
                 "apply); remove it"}},
        BadCase{"web/bad_user_hash.yml",
                {":2:10: basic_auth_users.alice: expected a bcrypt hash ($2y$…, $2b$… or $2a$…, 60 characters)"}},
        BadCase{"web/bad_user_colon.yml",
                {":2:13: basic_auth_users.al:ice: a user name must be non-empty and contain no ':'"}},
        BadCase{"web/bad_header.yml",
                {":3:13: http_server_config.headers.Server: header not allowed (use Strict-Transport-Security, "
                 "X-Content-Type-Options, X-Frame-Options, X-XSS-Protection or Content-Security-Policy)"}},
        BadCase{"web/bad_key_mismatch.yml",
                {":2:3: tls_server_config.key_file: cannot load \"" + TestDataPath("web/other.key") +
                 "\": key values mismatch (x509 certificate routines)"}},
        BadCase{"web/bad_yaml.yml", {":3:1: invalid YAML: end of sequence flow not found"}},
        BadCase{"web/bad_not_mapping.yml", {":1:20: tls_server_config: expected a mapping"}},
        // Found by web_config_fuzz: a whole file that is one scalar threw
        // YAML::BadSubscript out of the loader and killed the daemon.
        BadCase{"web/bad_scalar_document.yml", {":1:1: expected a mapping"}}),
    [](const testing::TestParamInfo<BadCase>& info) {
      std::string name = info.param.file.substr(4);
      return name.substr(0, name.find('.'));
    });

}  // namespace
}  // namespace drwatch::config
