// The S3 backend as far as it exists: requests built and signed for the HTTP
// client (addressing style, key encoding, ListObjectsV2 pagination, the
// x-amz-content-sha256 and x-amz-date headers), and the stub's clear failure.

#include "storage/s3_backend.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "support/pg_cluster.hpp"

namespace drwatch::storage {
namespace {

std::string Header(const S3Request& r, const std::string& name) {
  for (const auto& [n, v] : r.headers) {
    if (n == name) return v;
  }
  return "<absent>";
}

S3Config Local() {
  S3Config c;
  c.bucket = "prmcms-backups";
  c.prefix = "eu/daily";
  c.endpoint = "http://127.0.0.1:4569";
  c.access_key_id = "S3RVER";
  c.secret_access_key = "S3RVER";
  c.path_style = true;
  return c;
}

TEST(S3Requests, PathStyleAgainstAnEndpoint) {
  S3Requests requests(Local());
  requests.time = aws::ParseAmzDate("20240102T030405Z");
  S3Request put = requests.PutObject(".drwatch/probe 1", "data");
  EXPECT_EQ(put.method, "PUT");
  EXPECT_FALSE(put.tls);
  EXPECT_EQ(put.host, "127.0.0.1:4569");
  EXPECT_EQ(put.target, "/prmcms-backups/eu/daily/.drwatch/probe%201");
  EXPECT_EQ(Header(put, "Host"), "127.0.0.1:4569");
  EXPECT_EQ(Header(put, "X-Amz-Date"), "20240102T030405Z");
  EXPECT_EQ(Header(put, "x-amz-content-sha256"), aws::Sha256Hex("data"));
  EXPECT_TRUE(Header(put, "Authorization")
                  .starts_with("AWS4-HMAC-SHA256 Credential=S3RVER/20240102/us-east-1/s3/aws4_request, "
                               "SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature="));
  EXPECT_EQ(put.body, "data");

  S3Request head = requests.HeadBucket();
  EXPECT_EQ(head.method, "HEAD");
  EXPECT_EQ(head.target, "/prmcms-backups");
  EXPECT_EQ(Header(head, "x-amz-content-sha256"), aws::Sha256Hex(""));
}

TEST(S3Requests, ListObjectsPaginates) {
  S3Requests requests(Local());
  S3Request first = requests.ListObjects("x/", "");
  EXPECT_EQ(first.target, "/prmcms-backups?list-type=2&prefix=eu%2Fdaily%2Fx%2F");
  S3Request next = requests.ListObjects("x/", "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
  EXPECT_EQ(next.target,
            "/prmcms-backups?list-type=2&prefix=eu%2Fdaily%2Fx%2F&continuation-token="
            "1ueGcxLPRx1Tr%2FXYExHnhbYLgveDs2J%2Fwm36Hy4vbOwM%3D");
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

TEST(S3Requests, SignsEachRequestWithTheCurrentTime) {
  S3Requests requests(Local());
  auto now = std::chrono::system_clock::now();
  EXPECT_TRUE(aws::WithinSkew(Header(requests.HeadBucket(), "X-Amz-Date"), now, std::chrono::seconds(5)));
}

TEST(S3Backend, FailsClearlyUntilTheHttpClientIsWired) {
  boost::asio::io_context io;
  S3Backend backend(Local());
  EXPECT_EQ(backend.Describe(), "s3://prmcms-backups/eu/daily");
  EXPECT_EQ(backend.Locate("a.dump"), "s3://prmcms-backups/eu/daily/a.dump");
  auto check = test::RunWithDeadline(io, backend.Check());
  ASSERT_TRUE(check);
  EXPECT_EQ(check->error, "s3 backend not yet available");
  auto list = test::RunWithDeadline(io, backend.List("*.dump", 10));
  EXPECT_EQ(list->error, "s3 backend not yet available");
}

TEST(S3Backend, ValidatesBucketNames) {
  EXPECT_EQ(ValidateBucketName("prmcms-backups.eu"), "");
  EXPECT_NE(ValidateBucketName("ab"), "");
  EXPECT_NE(ValidateBucketName("Upper"), "");
  EXPECT_NE(ValidateBucketName("-dash"), "");
  EXPECT_NE(ValidateBucketName("a..b"), "");
}

}  // namespace
}  // namespace drwatch::storage
