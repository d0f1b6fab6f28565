// The S3 backend: the requests it builds and signs (addressing style, key
// encoding, ListObjectsV2 pagination, multipart uploads, and on every request
// a fresh x-amz-date and the body's x-amz-content-sha256, which s3rver does
// not check), and the backend against scripted loopback servers: S3's error
// answers turned into reasons without secrets, malformed XML, paging,
// limits, TLS with a CA file, and a server that never answers.

#include "storage/s3_backend.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "common/crypto.hpp"
#include "common/iso8601.hpp"
#include "storage/s3_xml.hpp"
#include "support/pg_cluster.hpp"
#include "support/test_http_server.hpp"
#include "support/test_pki.hpp"

namespace drwatch::storage {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using test::RecordedRequest;
using test::ScriptedResponse;
using test::TestHttpServer;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

constexpr char kSecret[] = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

std::string Header(const S3Request& r, const std::string& name) {
  for (const auto& [n, v] : r.headers) {
    if (n == name) return v;
  }
  return "<absent>";
}

S3Config Local(const std::string& endpoint = "http://127.0.0.1:4569") {
  S3Config c;
  c.bucket = "prmcms-backups";
  c.prefix = "eu/daily";
  c.endpoint = endpoint;
  c.access_key_id = "AKIDEXAMPLE";
  c.secret_access_key = kSecret;
  c.path_style = true;
  return c;
}

// ---- requests ------------------------------------------------------------------

TEST(S3Requests, PathStyleAgainstAnEndpoint) {
  S3Requests requests(Local());
  requests.time = ParseCompactUtc("20240102T030405Z");
  S3Request put = requests.PutObject(".drwatch/probe 1", "data");
  EXPECT_EQ(put.method, "PUT");
  EXPECT_FALSE(put.tls);
  EXPECT_EQ(put.host, "127.0.0.1:4569");
  EXPECT_EQ(put.target, "/prmcms-backups/eu/daily/.drwatch/probe%201");
  EXPECT_EQ(Header(put, "Host"), "127.0.0.1:4569");
  EXPECT_EQ(Header(put, "X-Amz-Date"), "20240102T030405Z");
  EXPECT_EQ(Header(put, "x-amz-content-sha256"), Sha256Hex("data"));
  EXPECT_TRUE(Header(put, "Authorization")
                  .starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240102/us-east-1/s3/aws4_request, "
                               "SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature="));
  EXPECT_EQ(put.body, "data");

  S3Request head = requests.HeadBucket();
  EXPECT_EQ(head.method, "HEAD");
  EXPECT_EQ(head.target, "/prmcms-backups");
  EXPECT_EQ(Header(head, "x-amz-content-sha256"), Sha256Hex(""));
}

TEST(S3Requests, ListObjectsPaginates) {
  S3Requests requests(Local());
  S3Request first = requests.ListObjects("x/", "");
  EXPECT_EQ(first.target, "/prmcms-backups?list-type=2&prefix=eu%2Fdaily%2Fx%2F");
  S3Request next = requests.ListObjects("x/", "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=", 50);
  EXPECT_EQ(next.target,
            "/prmcms-backups?list-type=2&prefix=eu%2Fdaily%2Fx%2F&continuation-token="
            "1ueGcxLPRx1Tr%2FXYExHnhbYLgveDs2J%2Fwm36Hy4vbOwM%3D&max-keys=50");
}

TEST(S3Requests, VirtualHostedOnAws) {
  S3Config c = Local();
  c.endpoint.clear();
  c.path_style = false;
  c.region = "eu-central-1";
  S3Requests requests(c);
  S3Request get = requests.GetObject("a.dump");
  EXPECT_TRUE(get.tls);
  EXPECT_EQ(get.host, "prmcms-backups.s3.eu-central-1.amazonaws.com");
  EXPECT_EQ(get.target, "/eu/daily/a.dump");
  EXPECT_NE(Header(get, "Authorization").find("/eu-central-1/s3/aws4_request"), std::string::npos);
}

TEST(S3Requests, MultipartUploadShape) {
  S3Requests requests(Local());
  requests.time = ParseCompactUtc("20240102T030405Z");
  S3Request create = requests.CreateMultipartUpload("big.dump");
  EXPECT_EQ(create.method, "POST");
  EXPECT_EQ(create.target, "/prmcms-backups/eu/daily/big.dump?uploads=");
  EXPECT_EQ(create.body, "");

  S3Request part = requests.UploadPart("big.dump", "VXBsb2Fk+ID/x", 3, "part three");
  EXPECT_EQ(part.method, "PUT");
  EXPECT_EQ(part.target, "/prmcms-backups/eu/daily/big.dump?partNumber=3&uploadId=VXBsb2Fk%2BID%2Fx");
  EXPECT_EQ(part.body, "part three");
  EXPECT_EQ(Header(part, "x-amz-content-sha256"), Sha256Hex("part three"));

  S3Request complete = requests.CompleteMultipartUpload("big.dump", "U1", {"\"e1\"", "\"e2\""});
  EXPECT_EQ(complete.method, "POST");
  EXPECT_EQ(complete.target, "/prmcms-backups/eu/daily/big.dump?uploadId=U1");
  EXPECT_EQ(complete.body, CompleteMultipartUploadXml({"\"e1\"", "\"e2\""}));
  EXPECT_EQ(Header(complete, "x-amz-content-sha256"), Sha256Hex(complete.body));

  S3Request abort = requests.AbortMultipartUpload("big.dump", "U1");
  EXPECT_EQ(abort.method, "DELETE");
  EXPECT_EQ(abort.target, "/prmcms-backups/eu/daily/big.dump?uploadId=U1");
  for (const S3Request* r : {&create, &part, &complete, &abort}) {
    EXPECT_THAT(Header(*r, "Authorization"),
                StartsWith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240102/us-east-1/s3/aws4_request, "
                           "SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature="))
        << r->target;
  }
  // The query is part of what is signed: another upload id, another signature.
  EXPECT_NE(Header(abort, "Authorization"), Header(requests.AbortMultipartUpload("big.dump", "U2"), "Authorization"));
}

TEST(S3Requests, ServerSideEncryptionIsSentAndSignedOnPutAndCreateOnly) {
  S3Config kms = Local();
  kms.sse = "aws:kms";
  kms.sse_kms_key_id = "arn:aws:kms:us-east-1:111122223333:key/abc";
  S3Requests requests(kms);
  requests.time = ParseCompactUtc("20240102T030405Z");
  S3Request put = requests.PutObject("x.dump.enc", "data");
  S3Request create = requests.CreateMultipartUpload("big.dump.enc");
  for (const S3Request* r : {&put, &create}) {
    EXPECT_EQ(Header(*r, "x-amz-server-side-encryption"), "aws:kms") << r->target;
    EXPECT_EQ(Header(*r, "x-amz-server-side-encryption-aws-kms-key-id"), kms.sse_kms_key_id) << r->target;
    EXPECT_THAT(Header(*r, "Authorization"),
                HasSubstr("SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-server-side-encryption;"
                          "x-amz-server-side-encryption-aws-kms-key-id, Signature="))
        << r->target;
  }
  // S3 refuses SSE headers on a part (the upload's setting applies), and
  // they mean nothing on reads.
  for (const S3Request& r : {requests.UploadPart("big.dump.enc", "U1", 1, "p"), requests.GetObject("x.dump.enc"),
                             requests.CompleteMultipartUpload("big.dump.enc", "U1", {"\"e1\""})}) {
    EXPECT_EQ(Header(r, "x-amz-server-side-encryption"), "<absent>") << r.method << " " << r.target;
  }

  S3Config aes = Local();
  aes.sse = "AES256";
  S3Request plain_put = S3Requests(aes).PutObject("x", "data");
  EXPECT_EQ(Header(plain_put, "x-amz-server-side-encryption"), "AES256");
  EXPECT_EQ(Header(plain_put, "x-amz-server-side-encryption-aws-kms-key-id"), "<absent>");
  EXPECT_EQ(Header(S3Requests(Local()).PutObject("x", "data"), "x-amz-server-side-encryption"), "<absent>");
}

// Real S3 requires both on every request and refuses a date 15 minutes off;
// s3rver checks neither, so every builder is checked here.
TEST(S3Requests, EveryRequestCarriesAFreshDateAndTheBodysHash) {
  S3Requests requests(Local());
  std::string big(3 * 1024 * 1024 + 7, 'b');
  std::vector<S3Request> all = {
      requests.HeadBucket(),
      requests.PutObject("a", "payload"),
      requests.GetObject("a"),
      requests.DeleteObject("a"),
      requests.ListObjects("", "token"),
      requests.CreateMultipartUpload("a"),
      requests.UploadPart("a", "U", 1, big),
      requests.CompleteMultipartUpload("a", "U", {"\"e\""}),
      requests.AbortMultipartUpload("a", "U"),
  };
  auto now = std::chrono::system_clock::now();
  for (const auto& r : all) {
    EXPECT_TRUE(aws::WithinSkew(Header(r, "X-Amz-Date"), now, 5s)) << r.method << " " << r.target;
    EXPECT_EQ(Header(r, "x-amz-content-sha256"), Sha256Hex(r.body)) << r.method << " " << r.target;
  }
  EXPECT_EQ(all[6].body.size(), big.size());
}

// The streaming writer hashes its parts off the loop and hands the hash in:
// the request is then the same, signature included, as one that hashed here.
TEST(S3Requests, AGivenPayloadHashIsSignedAsTheComputedOne) {
  S3Requests requests(Local());
  requests.time = ParseCompactUtc("20240102T030405Z");
  std::string body(1024 * 1024 + 3, 'p');
  std::string hash = Sha256Hex(body);
  S3Request computed = requests.UploadPart("big.dump", "U", 2, body);
  S3Request given = requests.UploadPart("big.dump", "U", 2, body, hash);
  EXPECT_EQ(given.headers, computed.headers);
  EXPECT_EQ(given.body, body);
  EXPECT_EQ(Header(given, "x-amz-content-sha256"), hash);
  S3Request put = requests.PutObject("small.dump", "abc", Sha256Hex("abc"));
  EXPECT_EQ(put.headers, requests.PutObject("small.dump", "abc").headers);
}

TEST(S3Requests, ValidatesBucketNames) {
  EXPECT_EQ(ValidateBucketName("prmcms-backups.eu"), "");
  EXPECT_NE(ValidateBucketName("ab"), "");
  EXPECT_NE(ValidateBucketName("Upper"), "");
  EXPECT_NE(ValidateBucketName("-dash"), "");
  EXPECT_NE(ValidateBucketName("a..b"), "");
}

// ---- the backend against scripted servers ---------------------------------------

std::string ErrorXml(const std::string& code, const std::string& message) {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>" + code + "</Code><Message>" + message +
         "</Message><RequestId>R1</RequestId></Error>";
}

// The query parameter `name` of a request target, still encoded.
std::string Query(const std::string& target, const std::string& name) {
  auto q = target.find('?');
  std::istringstream in(q == std::string::npos ? "" : target.substr(q + 1));
  for (std::string pair; std::getline(in, pair, '&');) {
    if (pair.starts_with(name + "=")) return pair.substr(name.size() + 1);
  }
  return "";
}

std::string Contents(const std::string& key, std::uint64_t size, const std::string& modified) {
  return "<Contents><Key>" + XmlEscape(key) + "</Key><LastModified>" + modified + "</LastModified><Size>" +
         std::to_string(size) + "</Size></Contents>";
}

class S3BackendTest : public ::testing::Test {
 protected:
  std::unique_ptr<S3Backend> Backend(const TestHttpServer& server) {
    return std::make_unique<S3Backend>(Local("http://127.0.0.1:" + std::to_string(server.port())), nullptr,
                                       io_.get_executor(), pool_);
  }
  template <typename T>
  T Run(boost::asio::awaitable<T> task, std::chrono::milliseconds deadline = 5s) {
    auto result = test::RunWithDeadline(io_, std::move(task), deadline);
    EXPECT_TRUE(result) << "timed out";
    if (result) return std::move(*result);
    T out;
    out.error = "timed out";
    return out;
  }
  // Every request the server saw carries the hash of the body it received
  // and a date within seconds of now.
  static void ExpectSignedFreshly(const TestHttpServer& server) {
    auto now = std::chrono::system_clock::now();
    for (const auto& r : server.Requests()) {
      EXPECT_EQ(r.Header("x-amz-content-sha256"), Sha256Hex(r.body)) << r.method << " " << r.target;
      EXPECT_TRUE(aws::WithinSkew(r.Header("X-Amz-Date"), now, 10s)) << r.method << " " << r.target;
      EXPECT_THAT(r.Header("Authorization"), StartsWith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"));
    }
  }

  boost::asio::io_context io_;
  BlockingPool pool_{2};  // destroyed first: its last jobs may still post to io_
};

TEST_F(S3BackendTest, PutGetDeleteCheckSendWhatTheySigned) {
  TestHttpServer server;
  std::map<std::string, std::string> objects;
  server.SetHandler([&](const RecordedRequest& r) -> ScriptedResponse {
    if (r.method == "PUT") objects[r.target] = r.body;
    if (r.method == "GET") return {200, {}, objects[r.target]};
    if (r.method == "DELETE") return {204, {}, ""};
    return {200, {}, ""};
  });
  auto backend = Backend(server);
  EXPECT_EQ(backend->Describe(), "s3://prmcms-backups/eu/daily");
  EXPECT_EQ(backend->Locate("a.dump"), "s3://prmcms-backups/eu/daily/a.dump");
  EXPECT_EQ(Run(backend->Check()).error, "");
  EXPECT_EQ(Run(backend->Put(".drwatch/p 1", "hello")).error, "");
  EXPECT_EQ(objects["/prmcms-backups/eu/daily/.drwatch/p%201"], "hello");
  GetResult got = Run(backend->Get(".drwatch/p 1", 5));
  EXPECT_EQ(got.error, "");
  EXPECT_EQ(got.data, "hello");
  EXPECT_EQ(Run(backend->Get(".drwatch/p 1", 4)).error,
            "GET s3://prmcms-backups/eu/daily/.drwatch/p 1: larger than 4 bytes");
  EXPECT_EQ(Run(backend->Delete(".drwatch/p 1")).error, "");
  auto space = test::RunWithDeadline(io_, backend->FreeSpace());
  ASSERT_TRUE(space);
  EXPECT_FALSE(*space);
  auto methods = server.Requests();
  ASSERT_EQ(methods.size(), 5u);
  EXPECT_EQ(methods[0].method, "HEAD");
  EXPECT_EQ(methods[0].target, "/prmcms-backups");
  ExpectSignedFreshly(server);
}

struct Answer {
  ScriptedResponse response;
  std::string reason;  // of Check (HEAD) or Get when `get`
  bool get = false;
};

TEST_F(S3BackendTest, MapsS3ErrorsToReasonsWithoutSecrets) {
  const std::string head = "HEAD bucket prmcms-backups: ";
  const std::string get = "GET s3://prmcms-backups/eu/daily/a.dump: ";
  const std::vector<Answer> answers = {
      {{403, {}, ""}, head + "access denied (403): check access_key_id/secret_access_key and the bucket policy"},
      {{403, {}, ErrorXml("AccessDenied", "Access Denied")},
       get + "access denied (403 AccessDenied): check access_key_id/secret_access_key and the bucket policy", true},
      {{403, {}, ErrorXml("InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist")},
       get + "access denied (403 InvalidAccessKeyId): check access_key_id/secret_access_key and the bucket policy",
       true},
      {{403, {}, ErrorXml("SignatureDoesNotMatch", "The request signature we calculated does not match")},
       get + "access denied (403 SignatureDoesNotMatch): check secret_access_key", true},
      {{403, {}, ErrorXml("RequestTimeTooSkewed", "The difference between the request time and the current time "
                                                  "is too large.")},
       get + "clock skew: S3 refused this host's time (403 RequestTimeTooSkewed); synchronise the clock (NTP)", true},
      {{404, {}, ""}, head + "bucket prmcms-backups does not exist (404)"},
      {{404, {}, ErrorXml("NoSuchBucket", "The specified bucket does not exist")},
       get + "bucket prmcms-backups does not exist (404 NoSuchBucket)", true},
      {{404, {}, ErrorXml("NoSuchKey", "The specified key does not exist.")}, get + "no such object (404 NoSuchKey)",
       true},
      {{301, {{"x-amz-bucket-region", "eu-west-1"}}, ""},
       head + "wrong region (301): the bucket is in eu-west-1, set region: eu-west-1"},
      {{307, {}, ErrorXml("TemporaryRedirect", "Please re-send this request to the specified temporary endpoint.")},
       get + "wrong region or endpoint (307 TemporaryRedirect): check the target's region and endpoint", true},
      {{400, {}, ErrorXml("AuthorizationHeaderMalformed", "the region 'us-east-1' is wrong; expecting 'eu-west-1'")},
       get + "wrong region or endpoint (400 AuthorizationHeaderMalformed: the region 'us-east-1' is wrong; "
             "expecting 'eu-west-1'): check the target's region and endpoint",
       true},
      {{503, {}, ErrorXml("SlowDown", "Please reduce your request rate.")},
       get + "S3 server error (503 SlowDown: Please reduce your request rate.)", true},
      {{502, {}, "<html><body>Bad Gateway</body></html>"}, get + "S3 server error (502)", true},
      {{409, {}, "not xml at all"}, get + "unexpected answer (409)", true},
  };
  TestHttpServer server;
  auto backend = Backend(server);
  for (const auto& a : answers) {
    server.Respond(a.response);
    std::string reason = a.get ? Run(backend->Get("a.dump", 100)).error : Run(backend->Check()).error;
    EXPECT_EQ(reason, a.reason);
    EXPECT_THAT(reason, Not(HasSubstr(kSecret)));
    EXPECT_THAT(reason, Not(HasSubstr("Signature=")));
    EXPECT_THAT(reason, Not(HasSubstr("AWS4-HMAC")));
  }
}

TEST_F(S3BackendTest, ATransportErrorNamesTheRequest) {
  int port = test::pgproc::FreeLoopbackPort();  // nothing listens there
  S3Backend backend(Local("http://127.0.0.1:" + std::to_string(port)), nullptr, io_.get_executor(), pool_);
  EXPECT_EQ(Run(backend.Check()).error, "HEAD bucket prmcms-backups: connect: Connection refused");
}

// A scripted bucket of `count` keys under the prefix, served `page` at a time.
void ServeBucket(TestHttpServer& server, int count, int page) {
  server.SetHandler([count, page](const RecordedRequest& r) -> ScriptedResponse {
    std::string token = Query(r.target, "continuation-token");
    int start = token.empty() ? 0 : std::stoi(token);
    std::string body = "<ListBucketResult>";
    for (int i = start; i < std::min(count, start + page); ++i) {
      std::string name = i % 2 ? "daily/" + std::to_string(i) + ".dump" : "daily/" + std::to_string(i) + ".log";
      body += Contents("eu/daily/" + name, static_cast<std::uint64_t>(i), "2024-01-02T03:04:05.000Z");
    }
    bool more = start + page < count;
    body += std::string("<IsTruncated>") + (more ? "true" : "false") + "</IsTruncated>";
    if (more) body += "<NextContinuationToken>" + std::to_string(start + page) + "</NextContinuationToken>";
    return {200, {}, body + "</ListBucketResult>"};
  });
}

TEST_F(S3BackendTest, ListFollowsContinuationTokensAndMatchesThePattern) {
  TestHttpServer server;
  ServeBucket(server, 25, 10);
  auto backend = Backend(server);
  ListResult list = Run(backend->List("daily/*.dump", 1000));
  ASSERT_EQ(list.error, "");
  EXPECT_EQ(list.objects.size(), 12u);  // the odd ones
  for (const auto& o : list.objects) EXPECT_THAT(o.key, StartsWith("daily/"));
  auto requests = server.Requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(Query(requests[0].target, "prefix"), "eu%2Fdaily%2Fdaily%2F");  // the pattern's literal part
  EXPECT_EQ(Query(requests[0].target, "continuation-token"), "");
  EXPECT_EQ(Query(requests[2].target, "continuation-token"), "20");
  ExpectSignedFreshly(server);

  ListResult narrow = Run(backend->List("daily/1*.dump", 1000));
  EXPECT_EQ(narrow.error, "");
  EXPECT_EQ(Query(server.Requests().back().target, "prefix"), "eu%2Fdaily%2Fdaily%2F1");

  backend->set_list_page_size(7);
  Run(backend->List("daily/*.dump", 1000));
  EXPECT_EQ(Query(server.Requests().back().target, "max-keys"), "7");
}

TEST_F(S3BackendTest, ListRefusesToAnswerFromPartOfTheBucket) {
  TestHttpServer server;
  ServeBucket(server, 25, 10);
  auto backend = Backend(server);
  ListResult list = Run(backend->List("daily/*.dump", 24));
  EXPECT_EQ(list.error, "more than 24 objects under s3://prmcms-backups/eu/daily/daily/ (narrow the pattern)");
  EXPECT_TRUE(list.objects.empty());
}

TEST_F(S3BackendTest, ListFailsOnMalformedOrLoopingPages) {
  TestHttpServer server;
  auto backend = Backend(server);
  server.Respond({200, {}, "<ListBucketResult><Contents><Key>eu/daily/a</Key></Contents>"});
  EXPECT_EQ(Run(backend->List("*", 100)).error,
            "list s3://prmcms-backups/eu/daily/: malformed ListObjectsV2 response: malformed XML: line 1: unclosed "
            "<ListBucketResult>");
  server.Respond({200, {}, "<ListBucketResult><IsTruncated>true</IsTruncated>"
                           "<NextContinuationToken>same</NextContinuationToken></ListBucketResult>"});
  EXPECT_EQ(Run(backend->List("*", 100)).error,
            "list s3://prmcms-backups/eu/daily/: the server repeated the continuation token");
  server.Respond({404, {}, ErrorXml("NoSuchBucket", "The specified bucket does not exist")});
  EXPECT_EQ(Run(backend->List("*", 100)).error,
            "list s3://prmcms-backups/eu/daily/: bucket prmcms-backups does not exist (404 NoSuchBucket)");
}

TEST_F(S3BackendTest, ASmallWriterIsOnePutAndAnUncommittedOneSendsNothing) {
  TestHttpServer server;
  auto backend = Backend(server);
  {
    WriterResult opened = Run(backend->OpenWriter("w/small.dump"));
    ASSERT_EQ(opened.error, "");
    EXPECT_EQ(Run(opened.writer->Write("abc")).error, "");
    EXPECT_EQ(Run(opened.writer->Write("def")).error, "");
    EXPECT_EQ(opened.writer->written(), 6u);
    EXPECT_EQ(Run(opened.writer->Commit()).error, "");
    EXPECT_EQ(Run(opened.writer->Write("x")).error, "write s3://prmcms-backups/eu/daily/w/small.dump: already committed");
  }
  {
    WriterResult abandoned = Run(backend->OpenWriter("w/never.dump"));
    EXPECT_EQ(Run(abandoned.writer->Write("abc")).error, "");
  }
  test::TurnLoop(io_, 50ms);
  auto requests = server.Requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "PUT");
  EXPECT_EQ(requests[0].target, "/prmcms-backups/eu/daily/w/small.dump");
  EXPECT_EQ(requests[0].body, "abcdef");
  ExpectSignedFreshly(server);
}

TEST_F(S3BackendTest, AFailedWriterStaysDead) {
  TestHttpServer server;
  server.Respond({403, {}, ErrorXml("AccessDenied", "Access Denied")});
  auto backend = Backend(server);
  WriterResult opened = Run(backend->OpenWriter("w.dump"));
  std::string denied = "PUT s3://prmcms-backups/eu/daily/w.dump: access denied (403 AccessDenied): check "
                       "access_key_id/secret_access_key and the bucket policy";
  EXPECT_EQ(Run(opened.writer->Commit()).error, denied);
  EXPECT_EQ(Run(opened.writer->Write("x")).error, denied);
  EXPECT_EQ(Run(opened.writer->Commit()).error, denied);
  EXPECT_EQ(server.requests(), 1);
}

class TempDir {
 public:
  TempDir() {
    std::string templ = (fs::temp_directory_path() / "drwatch-s3-XXXXXX").string();
    if (!::mkdtemp(templ.data())) throw std::runtime_error("mkdtemp failed");
    path_ = templ;
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST_F(S3BackendTest, GetToFileStreamsIntoTheFileAndKeepsLimits) {
  TestHttpServer server;
  std::string object;
  for (int i = 0; object.size() < 3 * 1024 * 1024 + 11; ++i) object += std::to_string(i) + ",";
  server.Respond({200, {}, object});
  auto backend = Backend(server);
  TempDir dir;
  EXPECT_EQ(Run(backend->GetToFile("big.dump", dir.File("copy"), object.size())).error, "");
  EXPECT_EQ(ReadFile(dir.File("copy")), object);
  EXPECT_EQ(fs::status(dir.File("copy")).permissions() & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write);

  EXPECT_EQ(Run(backend->GetToFile("big.dump", dir.File("small"), object.size() - 1)).error,
            "GET s3://prmcms-backups/eu/daily/big.dump: larger than " + std::to_string(object.size() - 1) + " bytes");
  EXPECT_EQ(fs::file_size(dir.File("small")), 0u);  // refused on Content-Length, before any write

  server.Respond({404, {}, ErrorXml("NoSuchKey", "The specified key does not exist.")});
  EXPECT_EQ(Run(backend->GetToFile("gone.dump", dir.File("gone"), 100)).error,
            "GET s3://prmcms-backups/eu/daily/gone.dump: no such object (404 NoSuchKey)");
  EXPECT_EQ(Run(backend->GetToFile("x", "/nonexistent/dir/x", 100)).error,
            "open /nonexistent/dir/x: No such file or directory");
  ExpectSignedFreshly(server);
}

TEST_F(S3BackendTest, HttpsWithTheTargetsCaFile) {
  test::TestPki pki;
  TestHttpServer server({.tls = &pki});
  std::string error;
  auto tls = net::TlsClientConfig::Make(pki.ca_file(), false, error);
  ASSERT_TRUE(tls) << error;
  S3Config config = Local("https://127.0.0.1:" + std::to_string(server.port()));
  S3Backend trusted(config, tls, io_.get_executor(), pool_);
  EXPECT_EQ(Run(trusted.Check()).error, "");
  test::TestPki other;
  auto wrong = net::TlsClientConfig::Make(other.ca_file(), false, error);
  S3Backend untrusted(config, wrong, io_.get_executor(), pool_);
  EXPECT_THAT(Run(untrusted.Check()).error, HasSubstr("tls: certificate verify failed"));
}

// The server never answers: only a deadline, fired on the loop while the
// request still waits, can end a call; one that ignored it, or blocked the
// loop, would never return.
TEST_F(S3BackendTest, AStalledServerEndsAtTheDeadlineWithoutBlockingTheLoop) {
  TestHttpServer server({.stall = true});
  auto backend = Backend(server);
  auto expect_deadline = [](auto run) {
    auto start = std::chrono::steady_clock::now();
    EXPECT_FALSE(run());
    auto elapsed = test::Since(start);
    EXPECT_GE(elapsed, 290ms);
    EXPECT_LT(elapsed, test::WellWithin(300ms));
  };
  expect_deadline([&] { return test::RunWithDeadline(io_, backend->List("*.dump", 10), 300ms).has_value(); });
  expect_deadline([&] { return test::RunWithDeadline(io_, backend->Check(), 300ms).has_value(); });
  expect_deadline([&] { return test::RunWithDeadline(io_, backend->GetToFile("a", "/dev/null", 10), 300ms).has_value(); });
  // A detached delete returns without the loop turning (a delete that waited
  // for its answer would never return, the loop being this thread); its
  // request goes out once the loop turns, and is dropped with the loop.
  backend->DeleteDetached("a");
  backend.reset();
  EXPECT_TRUE(test::PollUntil(io_, [&] { return server.connections() == 4; }, 10s)) << server.connections();
}

// Loop lag is the point here: the suite is labelled `timing` (CTest runs it
// alone) and compares with the same loop's idle baseline.
class S3BackendTiming : public S3BackendTest {};

TEST_F(S3BackendTiming, AStalledServerDoesNotLagTheLoop) {
  TestHttpServer server({.stall = true});
  auto backend = Backend(server);
  auto lag = test::MeasureLoopLag(io_, [&] {
    EXPECT_FALSE(test::RunWithDeadline(io_, backend->List("*.dump", 10), 1s));
    EXPECT_FALSE(test::RunWithDeadline(io_, backend->GetToFile("a", "/dev/null", 10), 1s));
  });
  EXPECT_LT(lag.busy, lag.idle + test::kLagSlack) << "idle baseline " << lag.idle.count() << " ms";
}

}  // namespace
}  // namespace drwatch::storage
