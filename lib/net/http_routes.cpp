// HttpServer's routing and handlers: /metrics (gzip), /-/healthy, /-/ready,
// /-/reload and the status page.
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <string_view>

#include "common/text.hpp"
#include "drwatch/version.hpp"
#include "net/http_server_internal.hpp"

namespace drwatch::net {

namespace server_detail {

Response TextResponse(http::status status, std::string body,
                      std::string_view content_type) {
  Response response{status, 11};
  response.set(http::field::content_type, content_type);
  response.body() = std::move(body);
  return response;
}

}  // namespace server_detail

using namespace server_detail;

namespace {

constexpr std::string_view kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

Response MethodNotAllowed(std::string_view allow) {
  Response response = TextResponse(http::status::method_not_allowed, "Method Not Allowed");
  response.set(http::field::allow, allow);
  return response;
}

bool IsGetOrHead(http::verb method) {
  return method == http::verb::get || method == http::verb::head;
}

std::string IndexPage(std::string_view telemetry_path) {
  std::string path = EscapeMarkup(telemetry_path);
  return "<!DOCTYPE html>\n<html><head><title>drwatch</title></head><body>\n"
         "<h1>drwatch</h1>\n<p>Backup and disaster-recovery health checks.</p>\n<ul>\n"
         "<li><a href=\"" + path + "\">" + path + "</a></li>\n"
         "<li><a href=\"/-/healthy\">/-/healthy</a></li>\n"
         "<li><a href=\"/-/ready\">/-/ready</a></li>\n"
         "</ul>\n</body></html>\n";
}

// ---- gzip ------------------------------------------------------------------

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// "gzip", "x-gzip" or "*" in the list, unless refused with q=0.
bool AcceptsGzip(std::string_view header) {
  while (!header.empty()) {
    std::size_t comma = header.find(',');
    std::string_view item = header.substr(0, comma);
    header = comma == std::string_view::npos ? std::string_view{} : header.substr(comma + 1);
    std::size_t semicolon = item.find(';');
    std::string_view coding = Trim(item.substr(0, semicolon));
    if (!beast::iequals(coding, "gzip") && !beast::iequals(coding, "x-gzip") && coding != "*") {
      continue;
    }
    if (semicolon == std::string_view::npos) return true;
    std::string_view params = Trim(item.substr(semicolon + 1));
    if (params.size() < 2 || (params[0] != 'q' && params[0] != 'Q') || params[1] != '=') {
      return true;
    }
    return std::strtod(std::string(params.substr(2)).c_str(), nullptr) > 0;
  }
  return false;
}

}  // namespace

Response HttpServer::Impl::Handle(const Request& request) {
  Response response;
  try {
    response = Route(request);
  } catch (const std::exception& e) {
    spdlog::error("http: {} {}: {}", std::string_view(request.method_string()),
                  std::string_view(request.target()), e.what());
    response = TextResponse(http::status::internal_server_error, "Internal Server Error");
  }
  return Finish(request, std::move(response));
}

Response HttpServer::Impl::Finish(const Request& request, Response response) {
  response.version(request.version());
  response.keep_alive(request.keep_alive());
  response.set(http::field::server, std::string("drwatch/") + kVersion);
  response.prepare_payload();
  // HEAD: the headers of the GET answer (Content-Length included), no body.
  if (request.method() == http::verb::head) response.body().clear();
  return response;
}

Response HttpServer::Impl::Route(const Request& request) {
  std::string_view target = request.target();
  std::string_view path = target.substr(0, target.find('?'));
  http::verb method = request.method();
  if (path == options_.telemetry_path) {
    return IsGetOrHead(method) ? Metrics(request) : MethodNotAllowed("GET, HEAD");
  }
  if (path == "/-/healthy") {
    return IsGetOrHead(method) ? TextResponse(http::status::ok, "OK")
                               : MethodNotAllowed("GET, HEAD");
  }
  if (path == "/-/ready") {
    if (!IsGetOrHead(method)) return MethodNotAllowed("GET, HEAD");
    bool ready = !handlers_.ready || handlers_.ready();
    return ready ? TextResponse(http::status::ok, "Ready")
                 : TextResponse(http::status::service_unavailable, "Not Ready");
  }
  if (path == "/-/reload") return Reload(request);
  if (path == "/") {
    if (!IsGetOrHead(method)) return MethodNotAllowed("GET, HEAD");
    std::string page = handlers_.status_page ? handlers_.status_page() : IndexPage(options_.telemetry_path);
    return TextResponse(http::status::ok, std::move(page), "text/html; charset=utf-8");
  }
  if (path == "/status.json" && handlers_.status_json) {
    if (!IsGetOrHead(method)) return MethodNotAllowed("GET, HEAD");
    return TextResponse(http::status::ok, handlers_.status_json(), "application/json");
  }
  return TextResponse(http::status::not_found, "Not Found");
}

Response HttpServer::Impl::Metrics(const Request& request) {
  MetricsBody body = handlers_.metrics ? handlers_.metrics() : MetricsBody();
  Response response = TextResponse(http::status::ok, std::string(), kMetricsContentType);
  response.set(http::field::vary, "Accept-Encoding");
  if (AcceptsGzip(request[http::field::accept_encoding])) {
    response.set(http::field::content_encoding, "gzip");
    // Only the tail is compressed per scrape; the head's deflate is kept.
    response.body() = GzipJoin(body.head ? body.head->Deflated() : DeflatedPart{}, Deflate(body.tail, true));
  } else if (body.head) {
    response.body().reserve(body.head->text().size() + body.tail.size());
    response.body() = body.head->text();
    response.body() += body.tail;
  } else {
    response.body() = std::move(body.tail);
  }
  return response;
}

Response HttpServer::Impl::Reload(const Request& request) {
  if (request.method() != http::verb::post && request.method() != http::verb::put) {
    return MethodNotAllowed("POST, PUT");
  }
  if (!options_.enable_lifecycle) {
    return TextResponse(http::status::forbidden, "Lifecycle API is not enabled.");
  }
  // Allowed reloads are asynchronous and never get here (see RunReload).
  return TextResponse(http::status::internal_server_error, "reload is not supported");
}

bool HttpServer::Impl::IsAllowedReload(const Request& request) const {
  std::string_view target = request.target();
  return options_.enable_lifecycle && handlers_.reload &&
         target.substr(0, target.find('?')) == "/-/reload" &&
         (request.method() == http::verb::post || request.method() == http::verb::put);
}

asio::awaitable<Response> HttpServer::Impl::RunReload(const Request& request) {
  std::string error;
  try {
    std::string result = co_await handlers_.reload();
    error = std::move(result);
  } catch (const std::exception& e) {
    spdlog::error("http: reload: {}", e.what());
    error = "Internal Server Error";
  }
  Response response = error.empty() ? TextResponse(http::status::ok, std::string())
                                    : TextResponse(http::status::internal_server_error, error);
  co_return Finish(request, std::move(response));
}

}  // namespace drwatch::net
