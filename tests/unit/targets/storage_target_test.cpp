// type: storage and the storage kinds' keys, through the catalogue: every key
// read, defaults, and one bad fixture per rule with its exact message.

#include "targets/storage_target.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include "common/redact.hpp"
#include "catalogue/catalogue.hpp"
#include "support/bad_fixtures.hpp"

namespace drwatch::targets {
namespace {

using Errors = std::vector<std::string>;
using test::TestDataPath;

const std::vector<test::BadCase> kBadCases = {
    {"bad_storage_url.yml", {":4:10: targets.backups.url: expected a URL starting with file:// or s3://"}},
    {"bad_storage_relative_path.yml",
     {":4:10: targets.backups.url: expected file:///absolute/path (the path must be absolute; a file URL has no "
      "host)"}},
    {"bad_storage_s3_key_for_file.yml",
     {":5:5: targets.backups.region: only for s3:// URLs, not file://",
      ":6:5: targets.backups.secret_access_key: only for s3:// URLs, not file://"}},
    {"bad_storage_bucket.yml",
     {":4:10: targets.offsite.url: invalid bucket name \"Backups_Bucket\" (3 to 63 of a-z, 0-9, '.', '-', "
      "starting and ending with a letter or digit)"}},
    {"bad_storage_s3_missing_secret.yml", {":3:5: targets.offsite.secret_access_key: missing required key"}},
    {"bad_storage_sse.yml",
     {":7:10: targets.backups.sse: expected AES256 or aws:kms", ":11:5: targets.plain.sse: only for s3:// URLs, not file://",
      ":18:21: targets.kms.sse_kms_key_id: only with sse: aws:kms"}},
    {"bad_storage_endpoint.yml",
     {":5:15: targets.offsite.endpoint: expected a URL starting with http:// or https:// and a host"}},
    {"bad_storage_endpoint_port.yml", {":5:15: targets.offsite.endpoint: invalid URL: invalid port \"99999\""}},
    {"bad_storage_ca_file.yml",
     {":8:14: targets.offsite.ca_file: cannot read CA file /nonexistent/s3-ca.pem: No such file or directory"}},
    {"bad_storage_pattern.yml",
     {":9:14: checks[0].pattern: the pattern must be relative to the target's path or prefix"}},
    {"bad_storage_max_shrink.yml",
     {":11:17: checks[0].max_shrink: expected a fraction above 0 and at most 1 (0.5: fail below half the "
      "previous)",
      ":17:17: checks[1].max_shrink: expected a number between 0 and 1",
      ":18:15: checks[1].min_size: expected an integer between 0 and 9223372036854775807"}},
    {"bad_storage_replica_unknown.yml",
     {":12:14: checks[0].replica: unknown target \"offsite_eu\" (declared: backups, offsite)"}},
    {"bad_storage_replica_type.yml",
     {":12:14: checks[0].replica: kind storage.replication needs a storage target, \"primary\" is postgres"}},
    {"bad_storage_replica_self.yml",
     {":9:14: checks[0].replica: \"backups\" is the check's own target (name another one)"}},
};

class BadStorageCatalogue : public testing::TestWithParam<test::BadCase> {};

TEST_P(BadStorageCatalogue, ReportsExactErrors) {
  setenv("DRWATCH_TEST_S3_SECRET", "s3-secret-from-env", 1);
  test::ExpectRefused(GetParam());
}

INSTANTIATE_TEST_SUITE_P(Fixtures, BadStorageCatalogue, testing::ValuesIn(kBadCases), test::BadCaseName);

TEST(StorageTarget, ReadsEveryKey) {
  setenv("DRWATCH_TEST_S3_SECRET", "s3-secret-from-env", 1);
  catalogue::LoadResult result = catalogue::LoadCatalogueFile(TestDataPath("good_storage.yml"));
  ASSERT_EQ(result.errors, Errors{});
  const auto& cat = *result.catalogue;

  const auto& local = dynamic_cast<const StorageTargetSpec&>(*cat.targets.at("backups"));
  EXPECT_FALSE(local.s3);
  EXPECT_EQ(local.path, "/var/backups/prmcms");  // trailing slash dropped

  const auto& offsite = dynamic_cast<const StorageTargetSpec&>(*cat.targets.at("offsite"));
  EXPECT_TRUE(offsite.s3);
  EXPECT_EQ(offsite.s3_config.bucket, "prmcms-backups");
  EXPECT_EQ(offsite.s3_config.prefix, "eu/daily");
  EXPECT_EQ(offsite.s3_config.endpoint, "http://127.0.0.1:4569");
  EXPECT_EQ(offsite.s3_config.region, "eu-central-1");
  EXPECT_EQ(offsite.s3_config.access_key_id, "S3RVER");
  EXPECT_EQ(offsite.s3_config.secret_access_key, "s3-secret-from-env");
  EXPECT_TRUE(offsite.s3_config.path_style);  // an endpoint is given
  EXPECT_EQ(offsite.s3_config.ca_file, "/etc/ssl/certs/ca-certificates.crt");

  const auto& aws = dynamic_cast<const StorageTargetSpec&>(*cat.targets.at("aws"));
  EXPECT_EQ(aws.s3_config.prefix, "");
  EXPECT_EQ(aws.s3_config.region, "us-east-1");
  EXPECT_FALSE(aws.s3_config.path_style);  // AWS itself: virtual-hosted style
  // A literal secret access key is a secret too.
  EXPECT_EQ(Redactor::Global().Apply("key wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"), "key <redacted>");

  ASSERT_EQ(cat.checks.size(), 4u);
  EXPECT_EQ(cat.checks[3].kind, "storage.replication");
  auto refs = cat.checks[3].probe->ReferencedTargets();
  ASSERT_EQ(refs.size(), 1u);
  EXPECT_EQ(refs[0].key, "replica");
  EXPECT_EQ(refs[0].target, "offsite");
  EXPECT_EQ(refs[0].type, "storage");
}

TEST(StorageTarget, ReplicaChangesTheCheckFingerprint) {
  auto text = [](const std::string& replica_url) {
    return "targets:\n"
           "  a: {type: storage, url: \"file:///a\"}\n"
           "  b: {type: storage, url: \"" + replica_url + "\"}\n"
           "checks:\n"
           "  - {name: copy, kind: storage.replication, target: a, replica: b, pattern: \"*\", max_lag: 1h}\n";
  };
  auto one = catalogue::LoadCatalogueText(text("file:///b"), "f.yml");
  auto two = catalogue::LoadCatalogueText(text("file:///c"), "f.yml");
  ASSERT_EQ(one.errors, Errors{});
  ASSERT_EQ(two.errors, Errors{});
  EXPECT_NE(one.catalogue->checks[0].fingerprint, two.catalogue->checks[0].fingerprint);
}

TEST(StorageTarget, FileRootIsAllowed) {
  auto result = catalogue::LoadCatalogueText(
      "targets:\n  root: {type: storage, url: \"file:///\"}\n"
      "checks:\n  - {name: r, kind: storage.reachable, target: root, write_test: false}\n",
      "f.yml");
  ASSERT_EQ(result.errors, Errors{});
  EXPECT_EQ(dynamic_cast<const StorageTargetSpec&>(*result.catalogue->targets.at("root")).path, "/");
}

}  // namespace
}  // namespace drwatch::targets
