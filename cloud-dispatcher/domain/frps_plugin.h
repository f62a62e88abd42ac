#pragma once

// frps's server plugin (frp's `httpPlugins`, ops Login and NewProxy), decided here: frps asks
// before it accepts a client's login or a proxy, and the dispatcher allows only what the cloud
// opened. Pure: the request's bytes are parsed into what the decision needs, the caller looks up
// the facts (observe/frps_plugin_server.cpp reads PostgreSQL) and decidePlugin() answers. No I/O.
//
// The protocol (frp v0.70.1, pkg/plugin/server/types.go and doc/server_plugin.md): frps POSTs
// {"version": "0.1.0", "op": "Login" | "NewProxy", "content": {...}} and reads back
// {"reject": bool, "reject_reason": "...", "unchange": true}. Login's content carries the
// client's `metas` (frpc's `metadatas`); NewProxy's carries the login's under `user.metas`, the
// proxy's own `metas`, `proxy_name`, `proxy_type` and, for tcp, `remote_port`.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace edgelink::dispatcher {

/// The metadata key (frpc `metadatas`, on the client and on each proxy) naming the edge.
inline constexpr const char* kFrpEdgeMetaKey = "edgelink_edge";
/// The largest request body read; a larger one is refused unread.
inline constexpr size_t kMaxPluginBodyBytes = 64 * 1024;

enum class PluginOp { kLogin, kNewProxy };

/// What a plugin request asks, as far as the decision needs it.
struct PluginRequest {
  PluginOp op = PluginOp::kLogin;
  std::string edgeId;     ///< the client's (Login: content.metas; NewProxy: content.user.metas)
  std::string proxyName;  ///< NewProxy
  std::string proxyType;  ///< NewProxy: tcp, stcp, ...
  int remotePort = 0;     ///< NewProxy, tcp: 0 when absent (frps would pick one)
};

/// The answer. `code` is low-cardinality (a metrics label and the log's outcome): "allowed", or
/// malformed, unknown_op, no_edge, unknown_edge, edge_mismatch, proxy_type, stcp_unsupported,
/// no_remote_port, no_session, other_edge, unavailable.
struct PluginVerdict {
  bool allow = false;
  std::string code;
  std::string reason;  ///< for frpc's status `err` and the log; never a secret
};

PluginVerdict allowPlugin();
PluginVerdict rejectPlugin(std::string code, std::string reason);

/// A parsed request, or the rejection of one that cannot be read (malformed JSON, an unknown
/// op, a missing or invalid field).
struct ParsedPluginRequest {
  std::optional<PluginRequest> request;
  PluginVerdict rejected;
  std::string op;  ///< "Login" or "NewProxy" once read (also when rejected after), else ""
};
ParsedPluginRequest parsePluginRequest(std::string_view body);

/// The live session (opening or active) holding a remote port, as the database has it.
struct PortHolder {
  std::string edgeId;
  std::string state;    ///< opening / active
  std::string service;  ///< the service the port was handed out for
};

/// What the caller looked up for a request.
struct PluginFacts {
  bool edgeKnown = false;                ///< Login: the edge has a row in `edges`
  std::optional<PortHolder> portHolder;  ///< NewProxy, tcp: the live session on remote_port
};

/// Which facts a request needs (the caller looks up only those).
bool needsEdgeLookup(const PluginRequest& r);
bool needsPortLookup(const PluginRequest& r);

/// Login: allowed for a known edge. NewProxy: by proxy type (decideProxy).
PluginVerdict decidePlugin(const PluginRequest& r, const PluginFacts& facts);

/// NewProxy by type, the one place a new kind of session is added: tcp is allowed only on the
/// remote port of a live session of the same edge; stcp (no public port) is refused until the
/// sessions table records an stcp mode; every other type is refused.
PluginVerdict decideProxy(const PluginRequest& r, const PluginFacts& facts);

/// frps's answer body for a verdict.
std::string pluginResponseJson(const PluginVerdict& v);

}  // namespace edgelink::dispatcher
