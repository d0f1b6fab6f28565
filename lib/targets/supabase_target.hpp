#pragma once
// type: supabase. Keys: project_ref (required), access_token (required, a
// secret), api_url (default https://api.supabase.com). Probed by kind
// supabase.backups through the Management API.

#include <memory>
#include <string>

#include "common/clock.hpp"
#include "net/http_client.hpp"
#include "targets/target.hpp"

namespace drwatch::targets {

class SupabaseTargetSpec final : public TargetSpec {
 public:
  std::string project_ref;
  std::string access_token;  // a secret
  std::string api_url = "https://api.supabase.com";
  net::Url parsed_api_url;
  std::shared_ptr<const net::TlsClientConfig> tls;  // built at load; null for http://

  std::shared_ptr<TargetRuntime> MakeRuntime(boost::asio::any_io_executor executor,
                                             BlockingPool& pool) const override;
};

std::shared_ptr<TargetSpec> ParseSupabaseTarget(config::NodeReader& node);

/// Run-time state of a supabase target: the API's address and token, and the
/// Retry-After window its checks share (the API limits requests per token).
class SupabaseTarget final : public TargetRuntime {
 public:
  explicit SupabaseTarget(const SupabaseTargetSpec& spec);

  /// An authorized GET of `path` below /v1/projects/{ref}.
  net::HttpRequestSpec ProjectRequest(std::string_view path) const;

  /// A 429's Retry-After, in seconds or as an HTTP date: 60 s when absent or
  /// unreadable, between 1 s and 1 h.
  static std::chrono::seconds RetryAfter(const net::HttpResult& response);

  /// The reason of a run refused during the back-off: "rate limited, retry in 30s".
  static std::string RateLimited(Clock::duration left);

  /// After a 429: no request to the API until `until`.
  void BackOffUntil(Clock::time_point until) { retry_at_ = until; }
  /// Time left of the Retry-After window; zero or less when requests may go.
  Clock::duration RetryIn() const { return retry_at_ - Clock::now(); }

 private:
  std::string project_ref_;
  std::string access_token_;
  net::Url api_url_;
  std::shared_ptr<const net::TlsClientConfig> tls_;
  Clock::time_point retry_at_{};
};

}  // namespace drwatch::targets
