// HttpServer's basic auth: which requests need a password and checking it
// off the loop.
#include "common/blocking.hpp"
#include "net/http_server_internal.hpp"

namespace drwatch::net {

using namespace server_detail;

namespace {

constexpr int kMaxPasswordChecks = 2;

Response Unauthorized() {
  Response response = TextResponse(http::status::unauthorized, "Unauthorized");
  response.set(http::field::www_authenticate, "Basic realm=\"drwatch\"");
  return response;
}

// Probes of liveness and readiness carry no data: orchestrators call them
// without credentials.
bool IsOpenPath(std::string_view target) {
  std::string_view path = target.substr(0, target.find('?'));
  return path == "/-/healthy" || path == "/-/ready";
}

}  // namespace

// The answer refusing `request` when basic auth requires it and it lacks
// the right password; nullopt to serve it. bcrypt takes about 100 ms: it runs
// on the blocking pool, never on the loop, and only kMaxPasswordChecks at a
// time, so a flood of guesses cannot take the pool from the checks (the
// excess is told to retry); credentials that matched before skip bcrypt, so
// Prometheus keeps scraping during such a flood.
asio::awaitable<std::optional<Response>> HttpServer::Impl::Refusal(const Session& session,
                                                                  const Request& request) {
  if (!session.security || !session.security->requires_auth() || IsOpenPath(request.target())) {
    co_return std::nullopt;
  }
  std::string user, password;
  if (!ParseBasicAuth(request[http::field::authorization], user, password)) co_return Unauthorized();
  if (session.security->IsKnownGood(user, password)) co_return std::nullopt;
  if (password_checks_ >= kMaxPasswordChecks) {
    Response busy = TextResponse(http::status::service_unavailable, "Too many password checks; retry");
    busy.set(http::field::retry_after, "1");
    co_return busy;
  }
  auto check = [security = session.security, user = std::move(user), password = std::move(password)] {
    return security->CheckPassword(user, password);
  };
  ++password_checks_;
  std::optional<bool> ok = co_await RunBlocking(*options_.blocking_pool, std::move(check), [](bool) {});
  --password_checks_;
  if (ok.value_or(false)) co_return std::nullopt;
  co_return Unauthorized();
}

}  // namespace drwatch::net
