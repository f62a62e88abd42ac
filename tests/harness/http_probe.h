#pragma once

// A tiny HTTP client for the dispatcher's metrics and health endpoints, and a reader of the
// Prometheus text format's samples.

#include <optional>
#include <string>

namespace edgelink::testing {

struct HttpResponse {
  int status = 0;  ///< 0: no connection (or no valid answer)
  std::string body;
};

/// GET http://127.0.0.1:<port><path> (HTTP/1.0, one connection, 5 s bound).
HttpResponse httpGet(int port, const std::string& path);

/// The port a daemon's log says its endpoints listen on ("metrics on http://HOST:PORT/..."); 0
/// when it does not say so (yet).
int metricsPortFromLog(const std::string& log);

/// The value of one sample of a scrape, by its series exactly as exposed
/// (`edgelink_requests_total{type="ping"}`); nullopt when absent. Label order is the
/// exposition's (alphabetical in prometheus-cpp).
std::optional<double> sample(const std::string& scrape, const std::string& series);

}  // namespace edgelink::testing
