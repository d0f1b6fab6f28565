#pragma once
// Credentials travel over https only. A target that would send a bearer
// token, an API key, a password or S3 keys over plain http:// to another
// machine is a catalogue error unless it says `insecure: true`: anyone on
// the path could read the secret. Loopback is exempt (a local proxy, a test
// double), since nothing leaves the machine.

#include <string_view>

#include "config/node_reader.hpp"
#include "net/http_client.hpp"

namespace drwatch::targets {

/// True when `url` is https, its host is loopback (localhost, 127.0.0.0/8,
/// ::1) or the target sets `insecure: true`; else records on `url_key`
/// "plain http:// would send WHAT in clear text to HOST: use https://, or set
/// insecure: true on this target to accept that" and returns false. Reads
/// (and so accepts) the target's `insecure` key either way.
bool AllowsCredentialsOver(config::NodeReader& node, std::string_view url_key, const net::Url& url,
                           std::string_view what);

/// Reads `insecure` (default false) for a target that sends no credential
/// over `url`, so that the key is accepted on every http(s) target alike.
bool ReadInsecure(config::NodeReader& node, bool& insecure);

/// A header that carries a credential: Authorization, Proxy-Authorization,
/// Cookie, or a name holding "key", "token" or "secret" (apikey, X-Api-Key).
bool IsSecretHeader(std::string_view name);

}  // namespace drwatch::targets
