#include "observe/http_server.h"

#include <civetweb.h>

#include <cstring>

namespace edgelink::dispatcher {
namespace {

bool isGet(mg_connection* conn) {
  const mg_request_info* info = mg_get_request_info(conn);
  if (std::strcmp(info->request_method, "GET") == 0 ||
      std::strcmp(info->request_method, "HEAD") == 0) {
    return true;
  }
  replyHttp(conn, 405, "text/plain; charset=utf-8", "only GET\n");
  return false;
}

int metricsHandler(mg_connection* conn, void* data) noexcept {
  try {
    if (isGet(conn)) {
      const auto* server = static_cast<const HttpServer*>(data);
      replyHttp(conn, 200, "text/plain; version=0.0.4; charset=utf-8", server->metrics().scrape());
    }
  } catch (...) {
    replyHttp(conn, 500, "text/plain; charset=utf-8", "error\n");
  }
  return 1;
}

int healthHandler(mg_connection* conn, void*) noexcept {
  if (isGet(conn)) {
    replyHttp(conn, 200, "text/plain; charset=utf-8", "ok\n");
  }
  return 1;
}

int readyHandler(mg_connection* conn, void* data) noexcept {
  try {
    if (isGet(conn)) {
      const auto* server = static_cast<const HttpServer*>(data);
      const Health& h = server->health();
      replyHttp(conn, h.ready() ? 200 : 503, "text/plain; charset=utf-8",
                std::string(h.ready() ? "ready\n" : "not ready\n") + h.describe());
    }
  } catch (...) {
    replyHttp(conn, 500, "text/plain; charset=utf-8", "error\n");
  }
  return 1;
}

}  // namespace

std::string Health::describe() const {
  const int64_t assigned = assignedPartitions;
  return std::string("kafka: ") +
         (assigned > 0 ? std::to_string(assigned) + " partitions assigned"
                       : "no partition assigned") +
         "\npostgresql: " + (databaseReachable ? "reachable" : "unreachable") +
         "\nschema: " + (schemaCurrent ? "current" : "not current (or not checked yet)") + "\n";
}

Result<std::unique_ptr<HttpServer>> HttpServer::start(const ListenAddress& address,
                                                      const Metrics& metrics, Health& health) {
  std::unique_ptr<HttpServer> server(new HttpServer(metrics, health));
  auto listener = CivetwebListener::start(address.civetweb(), {}, "metrics-listen");
  if (!listener) {
    return listener.error();
  }
  server->listener_ = std::move(*listener);
  server->listener_->handle("/metrics$", metricsHandler, server.get());
  server->listener_->handle("/healthz$", healthHandler, server.get());
  server->listener_->handle("/readyz$", readyHandler, server.get());
  return server;
}

HttpServer::~HttpServer() = default;

}  // namespace edgelink::dispatcher
