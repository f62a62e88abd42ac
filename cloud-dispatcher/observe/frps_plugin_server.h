#pragma once

// frps's server plugin over HTTP (civetweb), on a listener of its own: POST <frps-plugin-path>
// with frp's plugin request; the answer is always 200 with frp's plugin response (a refusal
// carries its reason, which frps passes on to frpc's status), except 405 for another method and
// 404 for another path. The decision is domain/frps_plugin.h's; the facts come from PostgreSQL
// on one connection behind a mutex (opened on first use, reopened when broken). Fails closed:
// with the database unreachable every request is refused.
//
// Its own listener rather than the metrics one: the metrics port is scraped across the network,
// this one should be reachable by frps alone (bind it to loopback or frps's private address), and
// a plugin request holds a database query, which must not queue behind scrapes or the reverse.

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"
#include "db/pg.h"
#include "domain/frps_plugin.h"
#include "observe/civetweb_listener.h"
#include "observe/metrics.h"
#include "options.h"

namespace edgelink::dispatcher {

class FrpsPluginServer {
 public:
  /// Listens on options.frpsPluginAddress (must be set; port 0: a free one, see port()).
  /// `metrics` (may be null) must outlive the server.
  static Result<std::unique_ptr<FrpsPluginServer>> start(const Options& options, Metrics* metrics);
  ~FrpsPluginServer();
  FrpsPluginServer(const FrpsPluginServer&) = delete;
  FrpsPluginServer& operator=(const FrpsPluginServer&) = delete;

  int port() const { return listener_->port(); }

  /// One request's body to its verdict: parse, look up, decide, count, log.
  PluginVerdict handle(std::string_view body, const std::string& reqid);

 private:
  FrpsPluginServer(const Options& options, Metrics* metrics)
      : options_(options), metrics_(metrics) {}
  Result<PluginFacts> lookup(const PluginRequest& r);
  Result<PluginFacts> query(const PluginRequest& r);
  /// The session `where` (a condition on sessions s, one parameter) selects, if any.
  Result<std::optional<SessionFacts>> sessionFacts(const char* where, const std::string& param);

  const Options& options_;
  Metrics* metrics_;
  std::mutex dbMutex_;
  std::unique_ptr<pg::Connection> db_;          ///< guarded by dbMutex_
  std::unique_ptr<CivetwebListener> listener_;  ///< last: stopped before the rest goes
};

}  // namespace edgelink::dispatcher
