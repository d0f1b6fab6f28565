#pragma once
// The few XML documents S3 answers with, read by a small strict parser:
// elements, attributes (read and ignored), text, the five predefined entities
// and numeric character references, comments, CDATA and the XML declaration.
// Anything else (a DOCTYPE, an unknown entity, a mismatched tag, a document
// deeper than kMaxXmlDepth) is an error with a reason, never a crash; the
// input is already bounded by the HTTP client's body limit.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace drwatch::storage {

inline constexpr int kMaxXmlDepth = 32;

struct XmlElement {
  std::string name;  // as written, with any namespace prefix
  std::string text;  // the element's own character data, entities decoded
  std::vector<XmlElement> children;

  /// The first child named `name`, or nullptr.
  const XmlElement* Child(std::string_view name) const;
  /// The text of the first child named `name`, or nullopt when absent.
  std::optional<std::string> ChildText(std::string_view name) const;
};

struct XmlDocument {
  std::string error;  // "line 3: expected '>' after </Key"
  XmlElement root;
  bool ok() const { return error.empty(); }
};

/// Parses one XML document.
XmlDocument ParseXml(std::string_view text);

/// Escapes &, <, >, " and ' for element text.
std::string XmlEscape(std::string_view text);

/// An S3 error body: <Error><Code>NoSuchKey</Code><Message>…</Message></Error>.
struct S3ErrorBody {
  std::string code;
  std::string message;
};
/// The error in `body`, or nullopt when it is not an S3 error document.
std::optional<S3ErrorBody> ParseS3Error(std::string_view body);

/// One page of ListObjectsV2.
struct ListPage {
  std::string error;
  struct Entry {
    std::string key;  // the full key, as stored
    std::uint64_t size = 0;
    std::chrono::system_clock::time_point last_modified;
  };
  std::vector<Entry> entries;
  bool truncated = false;
  std::string next_token;  // NextContinuationToken when truncated
  bool ok() const { return error.empty(); }
};
/// Parses a ListBucketResult; every Contents needs Key, Size and LastModified.
ListPage ParseListObjects(std::string_view body);

/// The UploadId of an InitiateMultipartUploadResult, or an error text.
struct UploadIdResult {
  std::string error;
  std::string upload_id;
};
UploadIdResult ParseInitiateMultipartUpload(std::string_view body);

/// The body of CompleteMultipartUpload for parts 1..N with these ETags.
std::string CompleteMultipartUploadXml(const std::vector<std::string>& etags);

}  // namespace drwatch::storage
