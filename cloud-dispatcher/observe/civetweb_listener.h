#pragma once

// One civetweb listener, as both of the dispatcher's HTTP servers start it (the metrics and
// health endpoints, frps's server plugin): civetweb's library initialised once, the listening
// ports, two threads, the port it bound, the error civetweb gives. RAII: the destructor stops it
// (and waits for the handlers), so the server whose handlers it runs declares it last.

#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/result.h"

struct mg_connection;
struct mg_context;

namespace edgelink::dispatcher {

class CivetwebListener {
 public:
  /// Listens on `ports` (civetweb's listening_ports) with `extraOptions` (civetweb option name,
  /// value; two worker threads unless they name num_threads); `key` names the config key in the
  /// error (503) when it cannot.
  static Result<std::unique_ptr<CivetwebListener>> start(
      const std::string& ports,
      const std::vector<std::pair<std::string, std::string>>& extraOptions, const std::string& key);
  ~CivetwebListener();
  CivetwebListener(const CivetwebListener&) = delete;
  CivetwebListener& operator=(const CivetwebListener&) = delete;

  /// Serves `uri` (civetweb's pattern: end it with "$" for that path exactly) with `handler`,
  /// which gets `data`.
  void handle(const std::string& uri, int (*handler)(mg_connection*, void*), void* data);

  /// Serves WebSocket connections to `uri` (civetweb's mg_set_websocket_handler: connect, ready,
  /// data and close handlers, each getting `data`).
  void handleWebSocket(const std::string& uri, int (*connect)(const mg_connection*, void*),
                       void (*ready)(mg_connection*, void*),
                       int (*onData)(mg_connection*, int, char*, size_t, void*),
                       void (*close)(const mg_connection*, void*), void* data);

  /// The port it listens on (the first, when several).
  int port() const { return port_; }

 private:
  CivetwebListener() = default;

  mg_context* ctx_ = nullptr;
  int port_ = 0;
};

/// A whole answer: status line, Content-Type, Content-Length, no caching, then `body`.
void replyHttp(mg_connection* conn, int status, const char* contentType, const std::string& body);

}  // namespace edgelink::dispatcher
