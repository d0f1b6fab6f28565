// The SigV4 signer against the AWS SigV4 test suite (awslabs/aws-c-auth,
// tests/aws-signing-test-suite/v4, copied under tests/testdata/): for every
// case, header signing and presigning, the canonical request, the string to
// sign, the signature and the Authorization header / signed query must match
// byte for byte.

#include "aws/sigv4.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "common/crypto.hpp"
#include "common/iso8601.hpp"
#include "common/percent.hpp"

namespace drwatch::aws {
namespace {

namespace fs = std::filesystem;

std::string SuiteDir() { return std::string(DRWATCH_TESTDATA_DIR) + "/aws-sigv4-test-suite"; }

std::string Slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// Just enough JSON for context.json: "key": "string" | true | false | number.
std::string JsonField(const std::string& json, const std::string& key) {
  std::smatch m;
  std::regex string_re("\"" + key + "\"\\s*:\\s*\"([^\"]*)\"");
  if (std::regex_search(json, m, string_re)) return m[1];
  std::regex other_re("\"" + key + "\"\\s*:\\s*([a-z0-9]+)");
  if (std::regex_search(json, m, other_re)) return m[1];
  return "";
}

std::vector<std::pair<std::string, std::string>> ParseQuery(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view item = query.substr(0, amp);
    auto eq = item.find('=');
    out.emplace_back(PercentDecode(item.substr(0, eq)),
                     eq == std::string_view::npos ? "" : PercentDecode(item.substr(eq + 1)));
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return out;
}

// request.txt: "METHOD PATH HTTP/1.1", header lines (a line starting with
// whitespace continues the previous value), a blank line, the body.
Request ParseRequest(const std::string& text) {
  Request request;
  std::istringstream in(text);
  std::string line;
  std::getline(in, line);
  auto first_space = line.find(' ');
  auto last_space = line.rfind(' ');
  request.method = line.substr(0, first_space);
  std::string target = line.substr(first_space + 1, last_space - first_space - 1);
  auto question = target.find('?');
  request.path = target.substr(0, question);
  if (question != std::string::npos) request.query = ParseQuery(target.substr(question + 1));
  while (std::getline(in, line) && !line.empty()) {
    if ((line[0] == ' ' || line[0] == '\t') && !request.headers.empty()) {
      request.headers.back().second += "\n" + line;
      continue;
    }
    auto colon = line.find(':');
    request.headers.emplace_back(line.substr(0, colon), line.substr(colon + 1));
  }
  std::ostringstream body;
  body << in.rdbuf();
  request.body = body.str();
  return request;
}

SigningParams ParseContext(const std::string& json) {
  SigningParams params;
  params.credentials.access_key_id = JsonField(json, "access_key_id");
  params.credentials.secret_access_key = JsonField(json, "secret_access_key");
  params.credentials.session_token = JsonField(json, "token");
  params.region = JsonField(json, "region");
  params.service = JsonField(json, "service");
  params.normalize_path = JsonField(json, "normalize") == "true";
  params.sign_body = JsonField(json, "sign_body") == "true";
  params.omit_session_token = JsonField(json, "omit_session_token") == "true";
  std::string expires = JsonField(json, "expiration_in_seconds");
  if (!expires.empty()) params.expires = std::chrono::seconds(std::stoll(expires));
  auto time = ParseCompactUtc("20150830T123600Z");  // every case's "timestamp": 2015-08-30T12:36:00Z
  EXPECT_EQ(JsonField(json, "timestamp"), "2015-08-30T12:36:00Z");
  params.time = *time;
  return params;
}

// The line of a signed request that starts with `prefix`, without it.
std::string LineAfter(const std::string& text, const std::string& prefix) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with(prefix)) return line.substr(prefix.size());
  }
  return "<no line " + prefix + ">";
}

std::vector<std::string> Cases() {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(SuiteDir())) {
    if (entry.is_directory()) names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

class SigV4Vector : public testing::TestWithParam<std::string> {
 protected:
  fs::path dir() const { return fs::path(SuiteDir()) / GetParam(); }
  std::string File(const std::string& name) const { return Slurp(dir() / name); }
};

TEST_P(SigV4Vector, HeaderSigning) {
  Request request = ParseRequest(File("request.txt"));
  SigningParams params = ParseContext(File("context.json"));
  Signed out = SignHeaders(request, params);
  EXPECT_EQ(out.canonical_request, File("header-canonical-request.txt"));
  EXPECT_EQ(out.string_to_sign, File("header-string-to-sign.txt"));
  EXPECT_EQ(out.signature, File("header-signature.txt"));
  std::string signed_request = File("header-signed-request.txt");
  EXPECT_EQ(out.authorization, LineAfter(signed_request, "Authorization:"));
  // Every header the signer adds is in the expected signed request, as sent.
  for (const auto& [name, value] : out.add_headers) {
    EXPECT_EQ(value, LineAfter(signed_request, name + ":")) << name;
  }
  // The request line of the signed request is what EncodedPath would send
  // once decoded (the suite writes it unencoded).
  EXPECT_EQ(PercentDecode(EncodedPath(request, params)),
            params.normalize_path ? NormalizePath(request.path) : request.path);
}

TEST_P(SigV4Vector, Presigning) {
  Request request = ParseRequest(File("request.txt"));
  SigningParams params = ParseContext(File("context.json"));
  Signed out = Presign(request, params);
  EXPECT_EQ(out.canonical_request, File("query-canonical-request.txt"));
  EXPECT_EQ(out.string_to_sign, File("query-string-to-sign.txt"));
  EXPECT_EQ(out.signature, File("query-signature.txt"));
  // The signed query string, as the suite sends it: the request's own
  // parameters as written, then ours encoded.
  std::string line = File("query-signed-request.txt");
  line = line.substr(0, line.find('\n'));
  auto question = line.find('?');
  std::string expected_query = line.substr(question + 1, line.rfind(' ') - question - 1);
  std::string request_line = Slurp(dir() / "request.txt");
  request_line = request_line.substr(0, request_line.find('\n'));
  auto own_question = request_line.find('?');
  std::string own = own_question == std::string::npos
                        ? ""
                        : request_line.substr(own_question + 1, request_line.rfind(' ') - own_question - 1);
  EXPECT_EQ((own.empty() ? "" : own + "&") + EncodedQuery(out.add_query), expected_query);
}

INSTANTIATE_TEST_SUITE_P(Suite, SigV4Vector, testing::ValuesIn(Cases()),
                         [](const testing::TestParamInfo<std::string>& info) {
                           std::string name = info.param;
                           for (char& c : name) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return name;
                         });

TEST(SigV4, SuiteIsComplete) { EXPECT_EQ(Cases().size(), 38u); }

TEST(SigV4, SigningKeyMatchesTheDocumentedExample) {
  // docs.aws.amazon.com, "Examples of how to derive a signing key for Signature Version 4".
  EXPECT_EQ(HexEncode(SigningKey("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20120215", "us-east-1", "iam")),
            "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d");
}

TEST(SigV4, S3RequestCarriesContentSha256AndDate) {
  Request request;
  request.method = "PUT";
  request.path = "/bucket/backups/.drwatch/probe-1";
  request.headers = {{"Host", "127.0.0.1:4569"}};
  request.body = "drwatch probe";
  SigningParams params;
  params.credentials = {"S3RVER", "S3RVER", ""};
  params.time = *ParseCompactUtc("20240102T030405Z");
  Signed out = SignHeaders(request, params);
  EXPECT_EQ(out.add_headers[0], (std::pair<std::string, std::string>{"X-Amz-Date", "20240102T030405Z"}));
  EXPECT_EQ(out.add_headers[1],
            (std::pair<std::string, std::string>{"x-amz-content-sha256", Sha256Hex("drwatch probe")}));
  EXPECT_NE(out.authorization.find("SignedHeaders=host;x-amz-content-sha256;x-amz-date,"), std::string::npos)
      << out.authorization;
  EXPECT_NE(out.authorization.find("Credential=S3RVER/20240102/us-east-1/s3/aws4_request"), std::string::npos);

  request.payload_hash = std::string(kUnsignedPayload);
  out = SignHeaders(request, params);
  EXPECT_EQ(out.add_headers[1].second, "UNSIGNED-PAYLOAD");
  EXPECT_TRUE(out.canonical_request.ends_with("\nUNSIGNED-PAYLOAD"));
}

TEST(SigV4, S3KeysAreEncodedOnceAndNotNormalised) {
  Request request;
  request.path = "/bucket/a b//c/../d+e";
  request.query = {{"list-type", "2"}, {"prefix", "daily/x y"}, {"continuation-token", "1/2=="}};
  request.headers = {{"Host", "s3.example"}};
  SigningParams params;
  params.time = *ParseCompactUtc("20240102T030405Z");
  Signed out = SignHeaders(request, params);
  EXPECT_EQ(EncodedPath(request, params), "/bucket/a%20b//c/../d%2Be");
  EXPECT_EQ(EncodedQuery(request.query), "list-type=2&prefix=daily%2Fx%20y&continuation-token=1%2F2%3D%3D");
  EXPECT_TRUE(out.canonical_request.starts_with(
      "GET\n/bucket/a%20b//c/../d%2Be\ncontinuation-token=1%2F2%3D%3D&list-type=2&prefix=daily%2Fx%20y\n"))
      << out.canonical_request;
}

TEST(SigV4, UsesTheCurrentTimeUnlessInjected) {
  Request request;
  request.headers = {{"Host", "s3.example"}};
  SigningParams params;
  auto now = std::chrono::system_clock::now();
  Signed fresh = SignHeaders(request, params);
  EXPECT_TRUE(WithinSkew(fresh.amz_date, now, std::chrono::seconds(5))) << fresh.amz_date;
  // A request signed 16 minutes ago is what S3 refuses (RequestTimeTooSkewed):
  // the skew is detectable, and signing anew fixes it.
  params.time = now - std::chrono::minutes(16);
  Signed stale = SignHeaders(request, params);
  EXPECT_FALSE(WithinSkew(stale.amz_date, now));
  params.time = now - std::chrono::minutes(14);
  EXPECT_TRUE(WithinSkew(SignHeaders(request, params).amz_date, now));
  EXPECT_FALSE(WithinSkew("2015-08-30", now));
}

TEST(SigV4, NormalizesPaths) {
  EXPECT_EQ(NormalizePath(""), "/");
  EXPECT_EQ(NormalizePath("/a/b/.."), "/a/");
  EXPECT_EQ(NormalizePath("/a/./b"), "/a/b");
  EXPECT_EQ(NormalizePath("/../a"), "/a");
  EXPECT_EQ(NormalizePath("//a//b//"), "/a/b/");
}

}  // namespace
}  // namespace drwatch::aws
