#include "observe/http_server.h"

#include <civetweb.h>

#include <cstring>
#include <mutex>

namespace edgelink::dispatcher {
namespace {

void reply(mg_connection* conn, int status, const char* contentType, const std::string& body) {
  mg_printf(conn,
            "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
            "Cache-Control: no-store\r\nConnection: close\r\n\r\n",
            status, mg_get_response_code_text(conn, status), contentType, body.size());
  mg_write(conn, body.data(), body.size());
}

bool isGet(mg_connection* conn) {
  const mg_request_info* info = mg_get_request_info(conn);
  if (std::strcmp(info->request_method, "GET") == 0 ||
      std::strcmp(info->request_method, "HEAD") == 0) {
    return true;
  }
  reply(conn, 405, "text/plain; charset=utf-8", "only GET\n");
  return false;
}

int metricsHandler(mg_connection* conn, void* data) noexcept {
  try {
    if (isGet(conn)) {
      const auto* server = static_cast<const HttpServer*>(data);
      reply(conn, 200, "text/plain; version=0.0.4; charset=utf-8", server->metrics().scrape());
    }
  } catch (...) {
    reply(conn, 500, "text/plain; charset=utf-8", "error\n");
  }
  return 1;
}

int healthHandler(mg_connection* conn, void*) noexcept {
  if (isGet(conn)) {
    reply(conn, 200, "text/plain; charset=utf-8", "ok\n");
  }
  return 1;
}

int readyHandler(mg_connection* conn, void* data) noexcept {
  try {
    if (isGet(conn)) {
      const auto* server = static_cast<const HttpServer*>(data);
      const Health& h = server->health();
      reply(conn, h.ready() ? 200 : 503, "text/plain; charset=utf-8",
            std::string(h.ready() ? "ready\n" : "not ready\n") + h.describe());
    }
  } catch (...) {
    reply(conn, 500, "text/plain; charset=utf-8", "error\n");
  }
  return 1;
}

void initLibrary() {
  static std::once_flag once;
  std::call_once(once, [] { mg_init_library(0); });
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
  initLibrary();
  std::unique_ptr<HttpServer> server(new HttpServer(metrics, health));
  const std::string ports = address.civetweb();
  const char* options[] = {"listening_ports", ports.c_str(), "num_threads", "2", nullptr};
  mg_callbacks callbacks{};
  mg_init_data init{};
  init.callbacks = &callbacks;
  init.user_data = server.get();
  init.configuration_options = options;
  char text[256] = {0};
  unsigned code = 0;
  mg_error_data error{};
  error.code = &code;
  error.text = text;
  error.text_buffer_size = sizeof text;
  server->ctx_ = mg_start2(&init, &error);
  if (server->ctx_ == nullptr) {
    return Error(Status::kUnavailable,
                 "cannot listen on " + ports + ": " + (text[0] ? text : "civetweb failed"),
                 "metrics-listen");
  }
  mg_set_request_handler(server->ctx_, "/metrics$", metricsHandler, server.get());
  mg_set_request_handler(server->ctx_, "/healthz$", healthHandler, server.get());
  mg_set_request_handler(server->ctx_, "/readyz$", readyHandler, server.get());
  mg_server_port bound[4] = {};
  if (mg_get_server_ports(server->ctx_, 4, bound) > 0) {
    server->port_ = bound[0].port;
  }
  return server;
}

HttpServer::~HttpServer() {
  if (ctx_ != nullptr) {
    mg_stop(ctx_);
  }
}

}  // namespace edgelink::dispatcher
