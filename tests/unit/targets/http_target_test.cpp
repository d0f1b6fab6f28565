#include "targets/http_target.hpp"

#include <gtest/gtest.h>

#include "common/redact.hpp"
#include "catalogue/catalogue.hpp"

namespace drwatch::targets {
namespace {

using Errors = std::vector<std::string>;

// A catalogue with the http target `web` (its keys indented by four spaces)
// and one postgres check, so only the target's own errors remain.
std::string WithWebTarget(const std::string& keys) {
  return "targets:\n  web:\n    type: http\n" + keys +
         "  primary:\n    type: postgres\n    dsn: \"host=127.0.0.1 dbname=x\"\n"
         "checks:\n  - {name: ping, kind: postgres.ping, target: primary}\n";
}

TEST(HttpTarget, ReadsEveryKey) {
  auto result = catalogue::LoadCatalogueText(WithWebTarget("    url: http://127.0.0.1:8080/healthz\n"
                                                        "    headers: {Accept: application/json}\n"
                                                        "    ca_file: /etc/ssl/certs/ca-certificates.crt\n"
                                                        "    insecure_skip_verify: true\n"),
                                          "f.yml");
  ASSERT_EQ(result.errors, Errors{});
  const auto& web = dynamic_cast<const HttpTargetSpec&>(*result.catalogue->targets.at("web"));
  EXPECT_EQ(web.url, "http://127.0.0.1:8080/healthz");
  EXPECT_EQ(web.headers, (std::vector<std::pair<std::string, std::string>>{{"Accept", "application/json"}}));
  EXPECT_EQ(web.ca_file, "/etc/ssl/certs/ca-certificates.crt");
  EXPECT_TRUE(web.insecure_skip_verify);
  BlockingPool pool(1);
  EXPECT_NE(web.MakeRuntime({}, pool), nullptr);
}

TEST(HttpTarget, DefaultsOptionalKeys) {
  auto result = catalogue::LoadCatalogueText(WithWebTarget("    url: https://example.com\n"), "f.yml");
  ASSERT_EQ(result.errors, Errors{});
  const auto& web = dynamic_cast<const HttpTargetSpec&>(*result.catalogue->targets.at("web"));
  EXPECT_TRUE(web.headers.empty());
  EXPECT_EQ(web.ca_file, "");
  EXPECT_FALSE(web.insecure_skip_verify);
}

TEST(HttpTarget, RequiresAUrl) {
  auto result = catalogue::LoadCatalogueText(WithWebTarget("    ca_file: /etc/ca.pem\n"), "f.yml");
  EXPECT_EQ(result.errors, Errors{"f.yml:3:5: targets.web.url: missing required key"});
}

TEST(HttpTarget, RejectsAUrlWithoutHost) {
  auto result = catalogue::LoadCatalogueText(WithWebTarget("    url: https://\n"), "f.yml");
  EXPECT_EQ(result.errors,
            Errors{"f.yml:4:10: targets.web.url: expected a URL starting with http:// or https://"});
}

TEST(HttpTarget, RejectsHeadersThatDifferOnlyInCase) {
  auto result = catalogue::LoadCatalogueText(WithWebTarget("    url: https://example.com\n"
                                                        "    headers:\n"
                                                        "      X-A: one\n"
                                                        "      x-a: two\n"),
                                          "f.yml");
  EXPECT_EQ(result.errors, Errors{"f.yml:7:7: targets.web.headers.x-a: duplicate header (header names "
                                  "ignore case; first as \"X-A\")"});
}

TEST(HttpTarget, RejectsLineBreaksInHeaderValues) {
  auto result = catalogue::LoadCatalogueText(WithWebTarget("    url: https://example.com\n"
                                                        "    headers: {X-A: \"one\\r\\nX-B: two\"}\n"),
                                          "f.yml");
  EXPECT_EQ(result.errors,
            Errors{"f.yml:5:20: targets.web.headers.X-A: header value must not contain a line break"});
}

TEST(HttpTarget, RejectsWrongTypes) {
  auto result = catalogue::LoadCatalogueText(WithWebTarget("    url: https://example.com\n"
                                                        "    headers: [a]\n"
                                                        "    ca_file: [b]\n"),
                                          "f.yml");
  EXPECT_EQ(result.errors, (Errors{"f.yml:5:14: targets.web.headers: expected a mapping",
                                   "f.yml:6:14: targets.web.ca_file: expected a string"}));
}

TEST(HttpTarget, RegistersLiteralCredentials) {
  auto result =
      catalogue::LoadCatalogueText(WithWebTarget("    url: https://user:url-password-1@example.com/x\n"
                                              "    headers: {authorization: Basic aHR0cC1zZWNyZXQ=}\n"),
                                "f.yml");
  ASSERT_EQ(result.errors, Errors{});
  EXPECT_EQ(Redactor::Global().Apply("url-password-1 Basic aHR0cC1zZWNyZXQ="), "<redacted> <redacted>");
}

}  // namespace
}  // namespace drwatch::targets
