#pragma once
// Percent-encoding (RFC 3986) for URLs: SigV4's canonical request and the
// userinfo of an HTTP target's URL.

#include <string>
#include <string_view>

namespace drwatch {

/// Encodes everything but A-Z a-z 0-9 - . _ ~ (and '/' unless
/// `encode_slash`) as %XX, upper-case hex.
std::string PercentEncode(std::string_view text, bool encode_slash = true);
/// Decodes %XX (either case); an invalid or cut-off escape is kept as
/// written, and '+' stays '+'.
std::string PercentDecode(std::string_view text);

}  // namespace drwatch
