#include "support/alerting_stack.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <stdexcept>

#include "common/percent.hpp"
#include "support/http_client.hpp"
#include "support/pg_cluster.hpp"

namespace drwatch::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::vector<std::string> WithParentDeathSignal(std::vector<std::string> argv) {
  if (access(argv.at(0).c_str(), X_OK) != 0) pgproc::Fail("not executable: " + argv[0]);
  argv.insert(argv.begin(), {"/usr/bin/setpriv", "--pdeathsig", "TERM", "--"});
  return argv;
}

namespace {

std::string MakeDir(const std::string& prefix) {
  std::string tmpl = "/tmp/drwatch-" + prefix + ".XXXXXX";
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  return tmpl;
}

void RemoveDir(const std::string& dir) {
  if (!dir.empty()) std::system(("rm -rf '" + dir + "'").c_str());
}

// Starts `argv` and polls GET /-/ready on `port` until it answers 200.
std::unique_ptr<ChildProcess> StartAndWaitReady(const std::string& name, std::vector<std::string> argv,
                                                int port, std::chrono::milliseconds timeout) {
  // UTC: the API's timestamps then end in "Z" whatever the machine's zone.
  auto process = std::make_unique<ChildProcess>(WithParentDeathSignal(std::move(argv)),
                                                std::vector<std::string>{"TZ=UTC"});
  for (auto until = Clock::now() + timeout; Clock::now() < until; std::this_thread::sleep_for(50ms)) {
    try {
      if (HttpGet("127.0.0.1", port, "/-/ready", {}, 1s).status == 200) return process;
    } catch (const std::exception&) {
    }
    if (auto code = process->WaitExit(0ms)) {
      pgproc::Fail(name + " exited with " + std::to_string(*code) + ":\n" + process->Output());
    }
  }
  pgproc::Fail(name + " did not become ready within " + std::to_string(timeout.count()) + " ms:\n" +
               process->Output());
}

json::value GetJson(int port, const std::string& target) {
  auto response = HttpGet("127.0.0.1", port, target);
  boost::system::error_code ec;
  json::value body = json::parse(response.body, ec);
  if (ec) throw std::runtime_error("GET " + target + ": " + std::to_string(response.status) + " " + response.body);
  return body;
}

}  // namespace

PrometheusServer::PrometheusServer(const std::string& config_yaml)
    : dir_(MakeDir("prometheus")), port_(pgproc::FreeLoopbackPort()) {
  std::ofstream(dir_ + "/prometheus.yml") << config_yaml;
  process_ = StartAndWaitReady("prometheus",
                               {kBinary, "--config.file=" + dir_ + "/prometheus.yml",
                                "--storage.tsdb.path=" + dir_ + "/data",
                                "--web.listen-address=127.0.0.1:" + std::to_string(port_),
                                "--log.level=info"},
                               port_, 30s);
}

PrometheusServer::~PrometheusServer() {
  process_.reset();
  RemoveDir(dir_);
}

json::value PrometheusServer::Query(const std::string& promql) const {
  return GetJson(port_, "/api/v1/query?query=" + PercentEncode(promql));
}

json::array PrometheusServer::QueryVector(const std::string& promql) const {
  json::value response = Query(promql);
  const auto& object = response.as_object();
  if (object.at("status") != "success" || object.at("data").at("resultType") != "vector") {
    throw std::runtime_error("query " + promql + ": " + json::serialize(response));
  }
  return object.at("data").at("result").as_array();
}

json::value PrometheusServer::Rules() const { return GetJson(port_, "/api/v1/rules"); }

AlertmanagerServer::AlertmanagerServer(const std::string& config_yaml)
    : dir_(MakeDir("alertmanager")), port_(pgproc::FreeLoopbackPort()) {
  std::ofstream(dir_ + "/alertmanager.yml") << config_yaml;
  process_ = StartAndWaitReady("alertmanager",
                               {kBinary, "--config.file=" + dir_ + "/alertmanager.yml",
                                "--storage.path=" + dir_ + "/data",
                                "--web.listen-address=127.0.0.1:" + std::to_string(port_),
                                "--cluster.listen-address="},
                               port_, 30s);
}

AlertmanagerServer::~AlertmanagerServer() {
  process_.reset();
  RemoveDir(dir_);
}

// --- WebhookSink -----------------------------------------------------------

struct WebhookSink::Impl {
  asio::io_context io;
  asio::ip::tcp::acceptor acceptor{io};
  std::thread thread;
};

namespace {

// One keep-alive connection: each request's body is kept, each answered 200.
asio::awaitable<void> ServeConnection(beast::tcp_stream stream, WebhookSink* sink) {
  beast::flat_buffer buffer;
  for (;;) {
    http::request<http::string_body> request;
    stream.expires_after(30s);
    auto [ec, n] = co_await http::async_read(stream, buffer, request, asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
    WebhookNotification notification{Clock::now(), std::string(request.target()), nullptr};
    boost::system::error_code parse_error;
    notification.body = json::parse(request.body(), parse_error);
    if (parse_error) notification.body = nullptr;
    sink->Add(std::move(notification));

    http::response<http::string_body> response{http::status::ok, request.version()};
    response.keep_alive(request.keep_alive());
    response.prepare_payload();
    auto [write_error, m] = co_await http::async_write(stream, response, asio::as_tuple(asio::use_awaitable));
    if (write_error || !request.keep_alive()) co_return;
  }
}

asio::awaitable<void> AcceptLoop(asio::ip::tcp::acceptor& acceptor, WebhookSink* sink) {
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
    asio::co_spawn(acceptor.get_executor(), ServeConnection(beast::tcp_stream(std::move(socket)), sink),
                   asio::detached);
  }
}

}  // namespace

WebhookSink::WebhookSink() : impl_(std::make_unique<Impl>()) {
  asio::ip::tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), 0);
  impl_->acceptor.open(endpoint.protocol());
  impl_->acceptor.set_option(asio::socket_base::reuse_address(true));
  impl_->acceptor.bind(endpoint);
  impl_->acceptor.listen();
  port_ = impl_->acceptor.local_endpoint().port();
  asio::co_spawn(impl_->io, AcceptLoop(impl_->acceptor, this), asio::detached);
  impl_->thread = std::thread([this] { impl_->io.run(); });
}

WebhookSink::~WebhookSink() {
  impl_->io.stop();
  impl_->thread.join();
}

void WebhookSink::Add(WebhookNotification notification) {
  std::lock_guard lock(mutex_);
  received_.push_back(std::move(notification));
}

std::vector<WebhookNotification> WebhookSink::Received() const {
  std::lock_guard lock(mutex_);
  return received_;
}

std::optional<WebhookNotification> WebhookSink::WaitFor(
    const std::function<bool(const WebhookNotification&)>& pred, std::chrono::milliseconds timeout) const {
  auto until = Clock::now() + timeout;
  for (;;) {
    for (const auto& n : Received()) {
      if (pred(n)) return n;
    }
    if (Clock::now() >= until) return std::nullopt;
    std::this_thread::sleep_for(20ms);
  }
}

const json::object* FindAlert(const WebhookNotification& notification,
                              const std::vector<std::pair<std::string, std::string>>& labels,
                              const std::string& status) {
  const auto* body = notification.body.if_object();
  if (!body || !body->contains("alerts")) return nullptr;
  for (const auto& alert : body->at("alerts").as_array()) {
    const auto& a = alert.as_object();
    if (a.at("status") != status.c_str()) continue;
    const auto& have = a.at("labels").as_object();
    bool all = true;
    for (const auto& [key, value] : labels) {
      auto it = have.find(key);
      all = all && it != have.end() && it->value() == value.c_str();
    }
    if (all) return &a;
  }
  return nullptr;
}

}  // namespace drwatch::test
