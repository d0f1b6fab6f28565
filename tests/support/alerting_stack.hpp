#pragma once
// The alerting path of the end-to-end tests, with the real programs:
// Prometheus and Alertmanager on free loopback ports with their own temporary
// directories, and a webhook sink collecting what Alertmanager sends. A
// program that is missing or does not become ready within its deadline fails
// the test (the constructor throws), never skips it.

#include <boost/json.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "support/process.hpp"

namespace drwatch::test {

/// `argv` run through setpriv(1) so the program gets SIGTERM when the test
/// process dies, even by a crash that skips every destructor. argv[0] must
/// exist (else the test fails: std::runtime_error).
std::vector<std::string> WithParentDeathSignal(std::vector<std::string> argv);

/// Prometheus (/usr/bin/prometheus) with the given configuration file text.
class PrometheusServer {
 public:
  static constexpr char kBinary[] = "/usr/bin/prometheus";

  explicit PrometheusServer(const std::string& config_yaml);
  /// Stops it (SIGTERM, then SIGKILL) and removes its directory.
  ~PrometheusServer();
  PrometheusServer(const PrometheusServer&) = delete;
  PrometheusServer& operator=(const PrometheusServer&) = delete;

  int port() const { return port_; }
  /// GET /api/v1/query?query=EXPR (instant, now); the parsed response body.
  boost::json::value Query(const std::string& promql) const;
  /// The result array of a successful instant vector query; throws otherwise.
  boost::json::array QueryVector(const std::string& promql) const;
  /// GET /api/v1/rules, parsed.
  boost::json::value Rules() const;
  std::string Log() const { return process_->Output(); }

 private:
  std::string dir_;
  int port_;
  std::unique_ptr<ChildProcess> process_;
};

/// Alertmanager (/usr/bin/prometheus-alertmanager), clustering disabled.
class AlertmanagerServer {
 public:
  static constexpr char kBinary[] = "/usr/bin/prometheus-alertmanager";

  explicit AlertmanagerServer(const std::string& config_yaml);
  ~AlertmanagerServer();
  AlertmanagerServer(const AlertmanagerServer&) = delete;
  AlertmanagerServer& operator=(const AlertmanagerServer&) = delete;

  int port() const { return port_; }
  std::string Log() const { return process_->Output(); }

 private:
  std::string dir_;
  int port_;
  std::unique_ptr<ChildProcess> process_;
};

/// One POST the sink received.
struct WebhookNotification {
  std::chrono::steady_clock::time_point received;
  std::string target;  // request path
  boost::json::value body;  // null when the body was not JSON
};

/// An HTTP server on 127.0.0.1 that answers every request 200 and keeps the
/// POSTed bodies (Alertmanager's webhook_config target).
class WebhookSink {
 public:
  WebhookSink();
  /// Stops the server thread.
  ~WebhookSink();
  WebhookSink(const WebhookSink&) = delete;
  WebhookSink& operator=(const WebhookSink&) = delete;

  int port() const { return port_; }
  std::string Url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/hook"; }
  std::vector<WebhookNotification> Received() const;
  /// Polls until some notification satisfies `pred`; returns it, or nullopt
  /// after `timeout`.
  std::optional<WebhookNotification> WaitFor(const std::function<bool(const WebhookNotification&)>& pred,
                                             std::chrono::milliseconds timeout) const;
  /// Called by the server thread.
  void Add(WebhookNotification notification);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
  mutable std::mutex mutex_;
  std::vector<WebhookNotification> received_;
};

/// The alert of a webhook notification whose labels include all of `labels`
/// and whose status is `status` ("firing" or "resolved"), or nullptr.
const boost::json::object* FindAlert(const WebhookNotification& notification,
                                     const std::vector<std::pair<std::string, std::string>>& labels,
                                     const std::string& status);

}  // namespace drwatch::test
