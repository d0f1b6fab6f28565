// The strict XML reader of S3's answers: what S3 sends, what it might send
// (entities, CDATA, comments, namespaces), and malformed input, which must be
// a failure with a reason and never a crash.

#include "storage/s3_xml.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/iso8601.hpp"

namespace drwatch::storage {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kListPage[] = R"(<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>prmcms-backups</Name>
  <Prefix>eu/daily/</Prefix>
  <KeyCount>2</KeyCount>
  <MaxKeys>2</MaxKeys>
  <IsTruncated>true</IsTruncated>
  <Contents>
    <Key>eu/daily/a&amp;b &lt;1&gt; &quot;q&quot; &apos;s&apos; &#233;&#x20AC;.dump</Key>
    <LastModified>2024-01-02T03:04:05.000Z</LastModified>
    <ETag>&quot;9b2cf535f27731c974343645a3985328&quot;</ETag>
    <Size>1234</Size>
    <StorageClass>STANDARD</StorageClass>
  </Contents>
  <Contents><Key><![CDATA[eu/daily/<raw>.dump]]></Key><Size>0</Size><LastModified>2024-01-03T00:00:00Z</LastModified></Contents>
  <NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>
</ListBucketResult>
)";

TEST(S3Xml, ReadsAListPageWithEntitiesAndCdata) {
  ListPage page = ParseListObjects(kListPage);
  ASSERT_TRUE(page.ok()) << page.error;
  ASSERT_EQ(page.entries.size(), 2u);
  EXPECT_EQ(page.entries[0].key, "eu/daily/a&b <1> \"q\" 's' \xC3\xA9\xE2\x82\xAC.dump");
  EXPECT_EQ(page.entries[0].size, 1234u);
  EXPECT_EQ(page.entries[0].last_modified, *ParseIso8601("2024-01-02T03:04:05Z"));
  EXPECT_EQ(page.entries[1].key, "eu/daily/<raw>.dump");
  EXPECT_EQ(page.entries[1].size, 0u);
  EXPECT_TRUE(page.truncated);
  EXPECT_EQ(page.next_token, "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
}

TEST(S3Xml, ReadsTheLastAndAnEmptyPage) {
  ListPage page = ParseListObjects("<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>");
  ASSERT_TRUE(page.ok()) << page.error;
  EXPECT_TRUE(page.entries.empty());
  EXPECT_FALSE(page.truncated);
  page = ParseListObjects("<ListBucketResult/>");
  EXPECT_TRUE(page.ok()) << page.error;
}

TEST(S3Xml, RefusesListPagesItCannotTrust) {
  auto error = [](std::string_view body) { return ParseListObjects(body).error; };
  EXPECT_EQ(error("<Error><Code>x</Code></Error>"),
            "malformed ListObjectsV2 response: expected <ListBucketResult>, got <Error>");
  EXPECT_EQ(error("<ListBucketResult><Contents><Size>1</Size></Contents></ListBucketResult>"),
            "malformed ListObjectsV2 response: Contents without a Key");
  EXPECT_EQ(error("<ListBucketResult><Contents><Key>k</Key><Size>-1</Size>"
                  "<LastModified>2024-01-02T03:04:05Z</LastModified></Contents></ListBucketResult>"),
            "malformed ListObjectsV2 response: Contents of k without a valid Size");
  EXPECT_EQ(error("<ListBucketResult><Contents><Key>k</Key><Size>1</Size>"
                  "<LastModified>yesterday</LastModified></Contents></ListBucketResult>"),
            "malformed ListObjectsV2 response: Contents of k without a valid LastModified");
  EXPECT_EQ(error("<ListBucketResult><IsTruncated>yes</IsTruncated></ListBucketResult>"),
            "malformed ListObjectsV2 response: IsTruncated is \"yes\"");
  EXPECT_EQ(error("<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>"),
            "malformed ListObjectsV2 response: truncated without a NextContinuationToken");
  EXPECT_EQ(error("<ListBucketResult><Contents>"), "malformed ListObjectsV2 response: malformed XML: line 1: "
                                                   "unclosed <Contents>");
}

TEST(S3Xml, ReportsMalformedDocumentsWithALine) {
  auto error = [](std::string_view text) { return ParseXml(text).error; };
  EXPECT_EQ(error(""), "malformed XML: line 1: expected an element");
  EXPECT_EQ(error("not xml"), "malformed XML: line 1: expected an element");
  EXPECT_EQ(error("<a>\n<b></a>"), "malformed XML: line 2: </a> closes <b>");
  EXPECT_EQ(error("<a>&nbsp;</a>"), "malformed XML: line 1: unknown entity &nbsp;");
  EXPECT_EQ(error("<a>&#0;</a>"), "malformed XML: line 1: invalid character reference &#0;");
  EXPECT_EQ(error("<a>&#xD800;</a>"), "malformed XML: line 1: invalid character reference &#xD800;");
  EXPECT_EQ(error("<a>&#x110000;</a>"), "malformed XML: line 1: invalid character reference &#x110000;");
  EXPECT_EQ(error("<a>& b</a>"), "malformed XML: line 1: unterminated entity reference");
  EXPECT_EQ(error("<a>&amp</a>"), "malformed XML: line 1: unterminated entity reference");
  EXPECT_EQ(error("<!DOCTYPE a [<!ENTITY x \"y\">]><a/>"),
            "malformed XML: line 1: DOCTYPE and other declarations are not allowed");
  EXPECT_EQ(error("<a/><b/>"), "malformed XML: line 1: content after the root element");
  EXPECT_EQ(error("<a x=1/>"), "malformed XML: line 1: expected a quoted value");
  EXPECT_EQ(error("<a x=\"1\"y=\"2\"/>"), "malformed XML: line 1: expected whitespace, '>' or \"/>\" in a tag");
  EXPECT_EQ(error("<a><!-- open"), "malformed XML: line 1: unclosed comment");
  EXPECT_EQ(error("<a><![CDATA[x"), "malformed XML: line 1: unclosed CDATA section");
  EXPECT_EQ(error("<1a/>"), "malformed XML: line 1: expected a name");
}

TEST(S3Xml, BoundsTheDepthInsteadOfTheStack) {
  std::string deep;
  for (int i = 0; i < 1000000; ++i) deep += "<a>";
  EXPECT_EQ(ParseXml(deep).error, "malformed XML: line 1: nested deeper than 32 elements");
  std::string ok;
  for (int i = 0; i < kMaxXmlDepth; ++i) ok += "<a>";
  for (int i = 0; i < kMaxXmlDepth; ++i) ok += "</a>";
  EXPECT_TRUE(ParseXml(ok).ok());
}

// "Billion laughs" and external entities: no declaration is read at all.
TEST(S3Xml, RefusesEntityDeclarationsOfAnyKind) {
  std::string laughs = "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol0 \"lol\">";
  for (int i = 1; i < 10; ++i) {
    laughs += "<!ENTITY lol" + std::to_string(i) + " \"";
    for (int j = 0; j < 10; ++j) laughs += "&lol" + std::to_string(i - 1) + ";";
    laughs += "\">";
  }
  laughs += "]><lolz>&lol9;</lolz>";
  EXPECT_EQ(ParseXml(laughs).error, "malformed XML: line 1: DOCTYPE and other declarations are not allowed");
  EXPECT_EQ(ParseXml("<!DOCTYPE a [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><a>&x;</a>").error,
            "malformed XML: line 1: DOCTYPE and other declarations are not allowed");
  EXPECT_EQ(ParseXml("<a><!ENTITY x \"y\"></a>").error, "malformed XML: line 1: unexpected declaration inside <a>");
}

TEST(S3Xml, ReadsHugeTextInOnePass) {
  std::string text(8 * 1024 * 1024, 'x');
  XmlDocument doc = ParseXml("<a>" + text + "</a>");
  ASSERT_TRUE(doc.ok()) << doc.error;
  EXPECT_EQ(doc.root.text.size(), text.size());
}

TEST(S3Xml, SurvivesEveryTruncationOfAPage) {
  // Each prefix of a valid page is an error or a page, never a crash.
  std::string page = kListPage;
  for (std::size_t n = 0; n < page.size(); ++n) {
    ListPage p = ParseListObjects(std::string_view(page).substr(0, n));
    if (n + 1 < page.size()) {
      EXPECT_FALSE(p.ok()) << n;  // only the final newline may go
    }
  }
}

TEST(S3Xml, SkipsCommentsAndProcessingInstructionsAndAttributes) {
  XmlDocument doc = ParseXml(
      "\xEF\xBB\xBF<?xml version='1.0'?><!-- c --><r a='1' b=\"2\"><x>1<!-- no -->2<?pi?>3</x><y/></r> <!-- end -->");
  ASSERT_TRUE(doc.ok()) << doc.error;
  EXPECT_EQ(doc.root.name, "r");
  EXPECT_EQ(doc.root.ChildText("x"), "123");
  EXPECT_EQ(doc.root.ChildText("y"), "");
  EXPECT_EQ(doc.root.ChildText("z"), std::nullopt);
}

TEST(S3Xml, ReadsErrorBodies) {
  auto error = ParseS3Error(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchKey</Code><Message>The specified key does "
      "not exist.</Message><Key>a.dump</Key><RequestId>4442587FB7D0A2F9</RequestId></Error>");
  ASSERT_TRUE(error);
  EXPECT_EQ(error->code, "NoSuchKey");
  EXPECT_EQ(error->message, "The specified key does not exist.");
  EXPECT_FALSE(ParseS3Error(""));
  EXPECT_FALSE(ParseS3Error("<html>502 Bad Gateway</html>"));
  EXPECT_FALSE(ParseS3Error("<Error><Code>"));
  // Not well-formed (s3rver echoes keys unescaped): only a plain Code is taken.
  error = ParseS3Error("<?xml version=\"1.0\"?>\n<Error><Code>NoSuchKey</Code><Key>a&b</Key></Error>");
  ASSERT_TRUE(error);
  EXPECT_EQ(error->code, "NoSuchKey");
  EXPECT_EQ(error->message, "");
  EXPECT_FALSE(ParseS3Error("<Error><Code>No Such</Code><Key>a&b</Key></Error>"));
  EXPECT_FALSE(ParseS3Error("<html><Error><Code>X</Code>&</html>"));
}

TEST(S3Xml, MultipartDocuments) {
  auto id = ParseInitiateMultipartUpload(
      "<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><UploadId>VXBsb2FkIElE</UploadId>"
      "</InitiateMultipartUploadResult>");
  EXPECT_EQ(id.error, "");
  EXPECT_EQ(id.upload_id, "VXBsb2FkIElE");
  EXPECT_EQ(ParseInitiateMultipartUpload("<InitiateMultipartUploadResult/>").error,
            "malformed CreateMultipartUpload response: no UploadId");
  EXPECT_THAT(ParseInitiateMultipartUpload("<x").error, StartsWith("malformed CreateMultipartUpload response: "));
  EXPECT_EQ(CompleteMultipartUploadXml({"\"a1\"", "\"b2\""}),
            "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
            "<Part><PartNumber>1</PartNumber><ETag>&quot;a1&quot;</ETag></Part>"
            "<Part><PartNumber>2</PartNumber><ETag>&quot;b2&quot;</ETag></Part></CompleteMultipartUpload>");
  EXPECT_EQ(XmlEscape("a&<>\"'"), "a&amp;&lt;&gt;&quot;&apos;");
}

}  // namespace
}  // namespace drwatch::storage
