#include "storage/s3_xml.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "common/iso8601.hpp"
#include "common/text.hpp"

namespace drwatch::storage {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

bool IsNameStart(char c) {
  auto u = static_cast<unsigned char>(c);
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' || u >= 0x80;
}

bool IsNameChar(char c) { return IsNameStart(c) || (c >= '0' && c <= '9') || c == '-' || c == '.'; }

void AppendUtf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

std::string_view Trim(std::string_view text) {
  while (!text.empty() && IsSpace(text.front())) text.remove_prefix(1);
  while (!text.empty() && IsSpace(text.back())) text.remove_suffix(1);
  return text;
}

// A recursive-descent reader; recursion is bounded by kMaxXmlDepth and every
// step consumes input, so any input ends in a document or an error.
class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  XmlDocument Run() {
    XmlDocument doc;
    if (text_.starts_with("\xEF\xBB\xBF")) pos_ = 3;
    bool ok = SkipMisc() && Expect('<', "expected an element") && Element(doc.root, 1) && SkipMisc();
    if (ok && pos_ < text_.size()) ok = Fail("content after the root element");
    if (!ok) doc.error = "malformed XML: " + error_;
    return doc;
  }

 private:
  bool Fail(std::string what) {
    auto line = std::count(text_.begin(), text_.begin() + static_cast<std::ptrdiff_t>(std::min(pos_, text_.size())), '\n');
    error_ = "line " + std::to_string(line + 1) + ": " + what;
    return false;
  }
  bool At(std::string_view s) const { return text_.substr(pos_).starts_with(s); }
  bool Expect(char c, const char* what) {
    if (pos_ >= text_.size() || text_[pos_] != c) return Fail(what);
    ++pos_;
    return true;
  }
  void SkipSpace() {
    while (pos_ < text_.size() && IsSpace(text_[pos_])) ++pos_;
  }
  // Skips past `end`, or fails.
  bool SkipPast(std::string_view end, const char* what) {
    auto at = text_.find(end, pos_);
    if (at == std::string_view::npos) return Fail(what);
    pos_ = at + end.size();
    return true;
  }

  // Whitespace, comments and processing instructions (the XML declaration)
  // outside the root element.
  bool SkipMisc() {
    for (;;) {
      SkipSpace();
      if (At("<!--")) {
        if (!SkipPast("-->", "unclosed comment")) return false;
      } else if (At("<?")) {
        if (!SkipPast("?>", "unclosed processing instruction")) return false;
      } else if (At("<!")) {
        return Fail("DOCTYPE and other declarations are not allowed");
      } else {
        return true;
      }
    }
  }

  bool Name(std::string& out) {
    std::size_t start = pos_;
    if (pos_ >= text_.size() || !IsNameStart(text_[pos_])) return Fail("expected a name");
    while (pos_ < text_.size() && IsNameChar(text_[pos_])) ++pos_;
    out = std::string(text_.substr(start, pos_ - start));
    return true;
  }

  // Reads the attributes (their values are checked, not kept) up to '>' or "/>".
  bool Attributes(bool& empty_element) {
    for (;;) {
      bool spaced = pos_ < text_.size() && IsSpace(text_[pos_]);
      SkipSpace();
      if (At("/>")) {
        pos_ += 2;
        empty_element = true;
        return true;
      }
      if (At(">")) {
        ++pos_;
        return true;
      }
      std::string name;
      if (!spaced) return Fail("expected whitespace, '>' or \"/>\" in a tag");
      if (!Name(name)) return false;
      SkipSpace();
      if (!Expect('=', "expected '=' after an attribute name")) return false;
      SkipSpace();
      if (pos_ >= text_.size() || (text_[pos_] != '"' && text_[pos_] != '\'')) return Fail("expected a quoted value");
      char quote = text_[pos_++];
      auto end = text_.find(quote, pos_);
      if (end == std::string_view::npos) return Fail("unclosed attribute value");
      if (text_.substr(pos_, end - pos_).find('<') != std::string_view::npos) return Fail("'<' in an attribute value");
      pos_ = end + 1;
    }
  }

  bool Entity(std::string& out) {
    auto semi = text_.find(';', pos_);
    if (semi == std::string_view::npos || semi - pos_ > 12) return Fail("unterminated entity reference");
    std::string_view name = text_.substr(pos_ + 1, semi - pos_ - 1);
    pos_ = semi + 1;
    static constexpr std::pair<std::string_view, char> kNamed[] = {
        {"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''}};
    for (auto [n, c] : kNamed) {
      if (name == n) {
        out += c;
        return true;
      }
    }
    if (!name.starts_with('#')) return Fail("unknown entity &" + std::string(name) + ";");
    bool hex = name.size() > 1 && (name[1] == 'x');
    std::string_view digits = name.substr(hex ? 2 : 1);
    std::uint32_t cp = 0;
    auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), cp, hex ? 16 : 10);
    bool valid = !digits.empty() && ec == std::errc() && ptr == digits.data() + digits.size() && cp != 0 &&
                 cp <= 0x10FFFF && (cp < 0xD800 || cp > 0xDFFF);
    if (!valid) return Fail("invalid character reference &" + std::string(name) + ";");
    AppendUtf8(out, cp);
    return true;
  }

  // One element; pos_ is just past its '<'.
  bool Element(XmlElement& out, int depth) {
    if (depth > kMaxXmlDepth) return Fail("nested deeper than " + std::to_string(kMaxXmlDepth) + " elements");
    bool empty_element = false;
    if (!Name(out.name) || !Attributes(empty_element)) return false;
    if (empty_element) return true;
    return Content(out, depth);
  }

  // Text, children and markup up to the matching end tag.
  bool Content(XmlElement& out, int depth) {
    for (;;) {
      if (pos_ >= text_.size()) return Fail("unclosed <" + out.name + ">");
      if (At("</")) {
        pos_ += 2;
        std::string close;
        if (!Name(close)) return false;
        if (close != out.name) return Fail("</" + close + "> closes <" + out.name + ">");
        SkipSpace();
        return Expect('>', "expected '>' in an end tag");
      }
      bool ok = true;
      if (At("<!--")) {
        ok = SkipPast("-->", "unclosed comment");
      } else if (At("<![CDATA[")) {
        auto end = text_.find("]]>", pos_);
        if (end == std::string_view::npos) return Fail("unclosed CDATA section");
        out.text += text_.substr(pos_ + 9, end - pos_ - 9);
        pos_ = end + 3;
      } else if (At("<?")) {
        ok = SkipPast("?>", "unclosed processing instruction");
      } else if (At("<!")) {
        ok = Fail("unexpected declaration inside <" + out.name + ">");
      } else if (At("<")) {
        ++pos_;
        out.children.emplace_back();
        ok = Element(out.children.back(), depth + 1);
      } else if (At("&")) {
        ok = Entity(out.text);
      } else {
        auto next = text_.find_first_of("<&", pos_);
        if (next == std::string_view::npos) next = text_.size();
        out.text += text_.substr(pos_, next - pos_);
        pos_ = next;
      }
      if (!ok) return false;
    }
  }

  std::string_view text_;
  std::size_t pos_ = 0;
  std::string error_;
};

std::optional<std::uint64_t> ParseU64(std::string_view text) {
  text = Trim(text);
  std::uint64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
  return value;
}

// Reads one <Contents>; "" or what is wrong with it.
std::string ReadEntry(const XmlElement& contents, ListPage::Entry& entry) {
  auto key = contents.ChildText("Key");
  auto size = contents.ChildText("Size");
  auto modified = contents.ChildText("LastModified");
  if (!key || key->empty()) return "Contents without a Key";
  entry.key = *key;
  auto bytes = size ? ParseU64(*size) : std::nullopt;
  if (!bytes) return "Contents of " + *key + " without a valid Size";
  entry.size = *bytes;
  auto when = modified ? ParseIso8601(Trim(*modified)) : std::nullopt;
  if (!when) return "Contents of " + *key + " without a valid LastModified";
  entry.last_modified = *when;
  return "";
}

}  // namespace

const XmlElement* XmlElement::Child(std::string_view child) const {
  for (const auto& c : children) {
    if (c.name == child) return &c;
  }
  return nullptr;
}

std::optional<std::string> XmlElement::ChildText(std::string_view child) const {
  const XmlElement* c = Child(child);
  if (!c) return std::nullopt;
  return c->text;
}

XmlDocument ParseXml(std::string_view text) { return Parser(text).Run(); }

std::string XmlEscape(std::string_view text) { return EscapeMarkup(text); }

// The Code of an <Error> that is not well-formed XML (s3rver echoes a key
// with '&' unescaped): only a code of letters and digits is believed.
std::optional<S3ErrorBody> ScrapeS3Error(std::string_view body) {
  std::string_view rest = Trim(body);
  if (rest.starts_with("<?xml")) {
    auto end = rest.find("?>");
    if (end == std::string_view::npos) return std::nullopt;
    rest = Trim(rest.substr(end + 2));
  }
  if (!rest.starts_with("<Error>")) return std::nullopt;
  auto start = rest.find("<Code>");
  auto end = start == std::string_view::npos ? start : rest.find("</Code>", start);
  if (end == std::string_view::npos) return std::nullopt;
  std::string_view code = rest.substr(start + 6, end - start - 6);
  bool plain = !code.empty() && code.size() <= 64 &&
               std::all_of(code.begin(), code.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)); });
  if (!plain) return std::nullopt;
  return S3ErrorBody{std::string(code), ""};
}

std::optional<S3ErrorBody> ParseS3Error(std::string_view body) {
  XmlDocument doc = ParseXml(body);
  if (!doc.ok()) return ScrapeS3Error(body);
  if (doc.root.name != "Error") return std::nullopt;
  S3ErrorBody out;
  out.code = std::string(Trim(doc.root.ChildText("Code").value_or("")));
  out.message = std::string(Trim(doc.root.ChildText("Message").value_or("")));
  return out;
}

ListPage ParseListObjects(std::string_view body) {
  ListPage page;
  XmlDocument doc = ParseXml(body);
  auto fail = [&page](const std::string& why) {
    page.error = "malformed ListObjectsV2 response: " + why;
    page.entries.clear();
    return page;
  };
  if (!doc.ok()) return fail(doc.error);
  if (doc.root.name != "ListBucketResult") return fail("expected <ListBucketResult>, got <" + doc.root.name + ">");
  for (const auto& child : doc.root.children) {
    if (child.name != "Contents") continue;
    ListPage::Entry entry;
    if (auto error = ReadEntry(child, entry); !error.empty()) return fail(error);
    page.entries.push_back(std::move(entry));
  }
  std::string truncated(Trim(doc.root.ChildText("IsTruncated").value_or("false")));
  if (truncated != "true" && truncated != "false") return fail("IsTruncated is \"" + truncated + "\"");
  page.truncated = truncated == "true";
  page.next_token = doc.root.ChildText("NextContinuationToken").value_or("");
  if (page.truncated && page.next_token.empty()) return fail("truncated without a NextContinuationToken");
  return page;
}

UploadIdResult ParseInitiateMultipartUpload(std::string_view body) {
  XmlDocument doc = ParseXml(body);
  if (!doc.ok()) return {"malformed CreateMultipartUpload response: " + doc.error, ""};
  std::string id(Trim(doc.root.ChildText("UploadId").value_or("")));
  if (doc.root.name != "InitiateMultipartUploadResult" || id.empty()) {
    return {"malformed CreateMultipartUpload response: no UploadId", ""};
  }
  return {"", id};
}

std::string CompleteMultipartUploadXml(const std::vector<std::string>& etags) {
  std::string out = "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">";
  for (std::size_t i = 0; i < etags.size(); ++i) {
    out += "<Part><PartNumber>" + std::to_string(i + 1) + "</PartNumber><ETag>" + XmlEscape(etags[i]) +
           "</ETag></Part>";
  }
  out += "</CompleteMultipartUpload>";
  return out;
}

}  // namespace drwatch::storage
