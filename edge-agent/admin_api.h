#pragma once

// frpc's admin API (webServer / admin_port on 127.0.0.1): GET /api/status answers a JSON map
// from proxy type to a list of {name, type, status, err, local_addr, plugin, remote_addr}.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "core/result.h"
#include "decisions/session.h"

namespace edgelink::agent {

/// Parses /api/status into proxy statuses by name. 500 when the JSON has another shape.
Result<std::map<std::string, ProxyStatus>> parseProxyStatus(std::string_view json);

/// An HTTP answer.
struct HttpResponse {
  int status = 0;
  std::string body;
};

/// GET `path` from 127.0.0.1:`port` with HTTP basic auth, bounded by `timeoutMs` in total
/// (loopback: normally well under a millisecond). 503 when nothing listens (yet), 504 on
/// timeout.
Result<HttpResponse> httpGet(uint16_t port, const std::string& path, const std::string& user,
                             const std::string& password, int timeoutMs);

/// RFC 4648 base64.
std::string base64(std::string_view data);

/// GET /api/status, parsed.
Result<std::map<std::string, ProxyStatus>> fetchProxyStatus(uint16_t port, const std::string& user,
                                                            const std::string& password,
                                                            int timeoutMs);

}  // namespace edgelink::agent
