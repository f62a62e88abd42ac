#pragma once

// The operators' web console (docs/WEB.md): the pages, the REST API /api/v1 they use, the live
// updates (server-sent events fed by LISTEN/NOTIFY) and web ssh, on one civetweb listener
// (http-listen). RAII: start() listens, the destructor stops (in-flight requests finish first).

#include <memory>

#include "core/result.h"
#include "options.h"

namespace edgelink::dispatcher::web {

class WebServer {
 public:
  /// Listens on options.httpAddress (validated). `options` must outlive the server.
  static Result<std::unique_ptr<WebServer>> start(const Options& options);
  ~WebServer();
  WebServer(const WebServer&) = delete;
  WebServer& operator=(const WebServer&) = delete;

  int port() const;

  struct Impl;

 private:
  explicit WebServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// The API's routes as the OpenAPI file names them ("GET /edges/{edge}"), for the test that
/// holds the spec to the server.
const std::vector<std::string>& apiRoutes();

}  // namespace edgelink::dispatcher::web
