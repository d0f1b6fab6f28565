#include "aws/sigv4.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <time.h>

#include <algorithm>
#include <cctype>
#include <map>

#include "common/text.hpp"

namespace drwatch::aws {
namespace {

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";

bool IsUnreserved(unsigned char c) {
  return std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

// Trims and collapses every run of whitespace (folded continuation lines
// included) to one space, as the canonical header value requires.
std::string CanonicalValue(std::string_view value) {
  std::string out;
  bool pending_space = false;
  for (char c : value) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out += ' ';
    pending_space = false;
    out += c;
  }
  return out;
}

struct CanonicalHeaders {
  std::string text;    // "name:value\n" lines, sorted
  std::string signed_names;  // "host;x-amz-date"
};

CanonicalHeaders Canonicalize(const Headers& headers) {
  std::map<std::string, std::string> joined;  // sorted by lower-case name
  for (const auto& [name, value] : headers) {
    auto [it, inserted] = joined.emplace(AsciiLower(name), CanonicalValue(value));
    if (!inserted) it->second += "," + CanonicalValue(value);
  }
  CanonicalHeaders out;
  for (const auto& [name, value] : joined) {
    out.text += name + ":" + value + "\n";
    if (!out.signed_names.empty()) out.signed_names += ';';
    out.signed_names += name;
  }
  return out;
}

std::string CanonicalQuery(const std::vector<std::pair<std::string, std::string>>& query) {
  std::vector<std::pair<std::string, std::string>> encoded;
  for (const auto& [name, value] : query) encoded.emplace_back(UriEncode(name), UriEncode(value));
  std::sort(encoded.begin(), encoded.end());
  std::string out;
  for (const auto& [name, value] : encoded) {
    if (!out.empty()) out += '&';
    out += name + "=" + value;
  }
  return out;
}

std::string PayloadHash(const Request& request) {
  return request.payload_hash.empty() ? Sha256Hex(request.body) : request.payload_hash;
}

std::string Scope(std::string_view date, const SigningParams& params) {
  return std::string(date) + "/" + params.region + "/" + params.service + "/aws4_request";
}

// Fills canonical_request, string_to_sign and signature of `out`.
void Sign(const Request& request, const SigningParams& params, const Headers& headers,
          const std::vector<std::pair<std::string, std::string>>& query, Signed& out,
          std::string& signed_names) {
  CanonicalHeaders canonical = Canonicalize(headers);
  signed_names = canonical.signed_names;
  out.canonical_request = request.method + "\n" + EncodedPath(request, params) + "\n" +
                          CanonicalQuery(query) + "\n" + canonical.text + "\n" +
                          canonical.signed_names + "\n" + PayloadHash(request);
  std::string date = out.amz_date.substr(0, 8);
  out.string_to_sign = std::string(kAlgorithm) + "\n" + out.amz_date + "\n" + Scope(date, params) + "\n" +
                       Sha256Hex(out.canonical_request);
  std::string key = SigningKey(params.credentials.secret_access_key, date, params.region, params.service);
  out.signature = HexEncode(HmacSha256(key, out.string_to_sign));
}

std::string AmzDate(const SigningParams& params) {
  return FormatAmzDate(params.time.value_or(std::chrono::system_clock::now()));
}

}  // namespace

Signed SignHeaders(const Request& request, const SigningParams& params) {
  Signed out;
  out.amz_date = AmzDate(params);
  const std::string& token = params.credentials.session_token;
  out.add_headers.emplace_back("X-Amz-Date", out.amz_date);
  if (params.sign_body) out.add_headers.emplace_back("x-amz-content-sha256", PayloadHash(request));
  if (!token.empty() && !params.omit_session_token) out.add_headers.emplace_back("X-Amz-Security-Token", token);
  Headers headers = request.headers;
  headers.insert(headers.end(), out.add_headers.begin(), out.add_headers.end());
  std::string signed_names;
  Sign(request, params, headers, request.query, out, signed_names);
  if (!token.empty() && params.omit_session_token) out.add_headers.emplace_back("X-Amz-Security-Token", token);
  out.authorization = std::string(kAlgorithm) + " Credential=" + params.credentials.access_key_id + "/" +
                      Scope(out.amz_date.substr(0, 8), params) + ", SignedHeaders=" + signed_names +
                      ", Signature=" + out.signature;
  out.add_headers.emplace_back("Authorization", out.authorization);
  return out;
}

Signed Presign(const Request& request, const SigningParams& params) {
  Signed out;
  out.amz_date = AmzDate(params);
  const std::string& token = params.credentials.session_token;
  std::string signed_names = Canonicalize(request.headers).signed_names;
  out.add_query = {
      {"X-Amz-Algorithm", std::string(kAlgorithm)},
      {"X-Amz-Credential",
       params.credentials.access_key_id + "/" + Scope(out.amz_date.substr(0, 8), params)},
      {"X-Amz-Date", out.amz_date},
      {"X-Amz-SignedHeaders", signed_names},
      {"X-Amz-Expires", std::to_string(params.expires.count())},
  };
  if (!token.empty() && !params.omit_session_token) out.add_query.emplace_back("X-Amz-Security-Token", token);
  auto query = request.query;
  query.insert(query.end(), out.add_query.begin(), out.add_query.end());
  Sign(request, params, request.headers, query, out, signed_names);
  if (!token.empty() && params.omit_session_token) out.add_query.emplace_back("X-Amz-Security-Token", token);
  out.add_query.emplace_back("X-Amz-Signature", out.signature);
  return out;
}

std::string UriEncode(std::string_view text, bool encode_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    if (IsUnreserved(c) || (c == '/' && !encode_slash)) {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
  }
  return out;
}

std::string UriDecode(std::string_view text) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && hex(text[i + 1]) >= 0 && hex(text[i + 2]) >= 0) {
      out += static_cast<char>(hex(text[i + 1]) * 16 + hex(text[i + 2]));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

std::string NormalizePath(std::string_view path) {
  std::vector<std::string_view> segments;
  std::string_view last;
  for (std::size_t start = 0; start <= path.size();) {
    auto end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view segment = path.substr(start, end - start);
    last = segment;
    if (segment == "..") {
      if (!segments.empty()) segments.pop_back();
    } else if (!segment.empty() && segment != ".") {
      segments.push_back(segment);
    }
    start = end + 1;
  }
  std::string out;
  for (auto segment : segments) out += "/" + std::string(segment);
  bool trailing = path.ends_with('/') || last == "." || last == "..";
  if (out.empty() || trailing) out += '/';
  return out;
}

std::string EncodedPath(const Request& request, const SigningParams& params) {
  std::string path = request.path.empty() ? "/" : request.path;
  if (params.normalize_path) path = NormalizePath(path);
  return UriEncode(path, false);
}

std::string EncodedQuery(const std::vector<std::pair<std::string, std::string>>& query) {
  std::string out;
  for (const auto& [name, value] : query) {
    if (!out.empty()) out += '&';
    out += UriEncode(name) + "=" + UriEncode(value);
  }
  return out;
}

std::string FormatAmzDate(std::chrono::system_clock::time_point t) {
  std::time_t seconds = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y%m%dT%H%M%SZ", &tm);
  return buffer;
}

std::optional<std::chrono::system_clock::time_point> ParseAmzDate(std::string_view text) {
  if (text.size() != 16 || text[8] != 'T' || text[15] != 'Z') return std::nullopt;
  for (std::size_t i : {0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14}) {
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) return std::nullopt;
  }
  auto num = [&](std::size_t at, std::size_t len) { return std::stoi(std::string(text.substr(at, len))); };
  std::tm tm{};
  tm.tm_year = num(0, 4) - 1900;
  tm.tm_mon = num(4, 2) - 1;
  tm.tm_mday = num(6, 2);
  tm.tm_hour = num(9, 2);
  tm.tm_min = num(11, 2);
  tm.tm_sec = num(13, 2);
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

bool WithinSkew(std::string_view amz_date, std::chrono::system_clock::time_point now,
                std::chrono::seconds tolerance) {
  auto when = ParseAmzDate(amz_date);
  if (!when) return false;
  auto diff = *when > now ? *when - now : now - *when;
  return diff <= tolerance;
}

std::string HexEncode(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char ch : bytes) {
    auto c = static_cast<unsigned char>(ch);
    out += kHex[c >> 4];
    out += kHex[c & 0xF];
  }
  return out;
}

std::string Sha256Hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr);
  return HexEncode(std::string_view(reinterpret_cast<char*>(digest), length));
}

std::string HmacSha256(std::string_view key, std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest, &length);
  return std::string(reinterpret_cast<char*>(digest), length);
}

std::string SigningKey(std::string_view secret, std::string_view date, std::string_view region,
                       std::string_view service) {
  std::string key = HmacSha256("AWS4" + std::string(secret), date);
  key = HmacSha256(key, region);
  key = HmacSha256(key, service);
  return HmacSha256(key, "aws4_request");
}

}  // namespace drwatch::aws
