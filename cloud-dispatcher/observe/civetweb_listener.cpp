#include "observe/civetweb_listener.h"

#include <civetweb.h>

#include <mutex>

namespace edgelink::dispatcher {

Result<std::unique_ptr<CivetwebListener>> CivetwebListener::start(
    const std::string& ports, const std::vector<std::pair<std::string, std::string>>& extraOptions,
    const std::string& key) {
  static std::once_flag once;
  std::call_once(once, [] { mg_init_library(0); });
  bool threadsGiven = false;
  for (const auto& option : extraOptions) {
    threadsGiven = threadsGiven || option.first == "num_threads";
  }
  std::vector<const char*> options = {"listening_ports", ports.c_str()};
  if (!threadsGiven) {
    options.push_back("num_threads");
    options.push_back("2");
  }
  for (const auto& [name, value] : extraOptions) {
    options.push_back(name.c_str());
    options.push_back(value.c_str());
  }
  options.push_back(nullptr);
  mg_callbacks callbacks{};
  mg_init_data init{};
  init.callbacks = &callbacks;
  init.configuration_options = options.data();
  char text[256] = {0};
  unsigned code = 0;
  mg_error_data error{};
  error.code = &code;
  error.text = text;
  error.text_buffer_size = sizeof text;
  std::unique_ptr<CivetwebListener> listener(new CivetwebListener());
  listener->ctx_ = mg_start2(&init, &error);
  if (listener->ctx_ == nullptr) {
    return Error(Status::kUnavailable,
                 "cannot listen on " + ports + ": " + (text[0] ? text : "civetweb failed"), key);
  }
  mg_server_port bound[4] = {};
  if (mg_get_server_ports(listener->ctx_, 4, bound) > 0) {
    listener->port_ = bound[0].port;
  }
  return listener;
}

CivetwebListener::~CivetwebListener() {
  if (ctx_ != nullptr) {
    mg_stop(ctx_);
  }
}

void CivetwebListener::handle(const std::string& uri, int (*handler)(mg_connection*, void*),
                              void* data) {
  mg_set_request_handler(ctx_, uri.c_str(), handler, data);
}

void CivetwebListener::handleWebSocket(const std::string& uri,
                                       int (*connect)(const mg_connection*, void*),
                                       void (*ready)(mg_connection*, void*),
                                       int (*onData)(mg_connection*, int, char*, size_t, void*),
                                       void (*close)(const mg_connection*, void*), void* data) {
  mg_set_websocket_handler(ctx_, uri.c_str(), connect, ready, onData, close, data);
}

void replyHttp(mg_connection* conn, int status, const char* contentType, const std::string& body) {
  mg_printf(conn,
            "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
            "Cache-Control: no-store\r\nConnection: close\r\n\r\n",
            status, mg_get_response_code_text(conn, status), contentType, body.size());
  mg_write(conn, body.data(), body.size());
}

}  // namespace edgelink::dispatcher
