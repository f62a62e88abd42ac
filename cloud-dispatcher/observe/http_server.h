#pragma once

// The metrics and health endpoints on one port (civetweb): GET /metrics (Prometheus text
// format), /healthz (200 while the process serves), /readyz (200 when ready, 503 otherwise, each
// fact on its own line). RAII: the constructor-like start() listens, the destructor stops.

#include <cstdint>
#include <memory>
#include <string>

#include "core/result.h"
#include "observe/civetweb_listener.h"
#include "observe/health.h"
#include "observe/metrics.h"
#include "options.h"

namespace edgelink::dispatcher {

class HttpServer {
 public:
  /// Listens on `address` (port 0: a free one, see port()). `metrics` and `health` must outlive
  /// the server.
  static Result<std::unique_ptr<HttpServer>> start(const ListenAddress& address,
                                                   const Metrics& metrics, Health& health);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  /// The port it listens on.
  int port() const { return listener_->port(); }

  const Metrics& metrics() const { return metrics_; }
  Health& health() const { return health_; }

 private:
  HttpServer(const Metrics& metrics, Health& health) : metrics_(metrics), health_(health) {}

  const Metrics& metrics_;
  Health& health_;
  std::unique_ptr<CivetwebListener> listener_;  ///< last: stopped before the rest goes
};

}  // namespace edgelink::dispatcher
