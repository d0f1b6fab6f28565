#include "aws/sigv4.hpp"

#include <algorithm>
#include <map>

#include "common/crypto.hpp"
#include "common/iso8601.hpp"
#include "common/percent.hpp"
#include "common/text.hpp"

namespace drwatch::aws {
namespace {

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";

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
  for (const auto& [name, value] : query) encoded.emplace_back(PercentEncode(name), PercentEncode(value));
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
  return FormatCompactUtc(params.time.value_or(std::chrono::system_clock::now()));
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
  return PercentEncode(path, false);
}

std::string EncodedQuery(const std::vector<std::pair<std::string, std::string>>& query) {
  std::string out;
  for (const auto& [name, value] : query) {
    if (!out.empty()) out += '&';
    out += PercentEncode(name) + "=" + PercentEncode(value);
  }
  return out;
}

bool WithinSkew(std::string_view amz_date, std::chrono::system_clock::time_point now,
                std::chrono::seconds tolerance) {
  auto when = ParseCompactUtc(amz_date);
  if (!when) return false;
  auto diff = *when > now ? *when - now : now - *when;
  return diff <= tolerance;
}

std::string SigningKey(std::string_view secret, std::string_view date, std::string_view region,
                       std::string_view service) {
  std::string key = HmacSha256("AWS4" + std::string(secret), date);
  key = HmacSha256(key, region);
  key = HmacSha256(key, service);
  return HmacSha256(key, "aws4_request");
}

}  // namespace drwatch::aws
