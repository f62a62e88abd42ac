#pragma once

// A tiny HTTP client for the dispatcher's metrics and health endpoints, and a reader of the
// Prometheus text format's samples.

#include <optional>
#include <string>
#include <vector>

namespace edgelink::testing {

struct HttpResponse {
  int status = 0;  ///< 0: no connection (or no valid answer)
  std::string body;
  std::string headers;  ///< the header lines as received (CRLF-separated)
  /// The first header `name` (case-insensitive), "" when absent.
  std::string header(const std::string& name) const;
};

/// GET http://127.0.0.1:<port><path> (HTTP/1.0, one connection, 5 s bound).
HttpResponse httpGet(int port, const std::string& path);

/// Any request (HTTP/1.0, one connection, `timeoutMs` bound): `headers` are whole lines without
/// CRLF ("Cookie: a=b"); a body gets its Content-Length.
HttpResponse httpRequest(int port, const std::string& method, const std::string& path,
                         const std::vector<std::string>& headers = {}, const std::string& body = "",
                         int timeoutMs = 5000);

/// The port a daemon's log says its endpoints listen on ("metrics on http://HOST:PORT/..."); 0
/// when it does not say so (yet).
int metricsPortFromLog(const std::string& log);

/// The value of one sample of a scrape, by its series exactly as exposed
/// (`edgelink_requests_total{type="ping"}`); nullopt when absent. Label order is the
/// exposition's (alphabetical in prometheus-cpp).
std::optional<double> sample(const std::string& scrape, const std::string& series);

}  // namespace edgelink::testing
