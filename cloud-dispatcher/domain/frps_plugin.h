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
//
// Two kinds of client log in. An edge's agent: metas name its edge only (edgelink_edge). A
// maintainer's stcp visitor (the config `session open --mode stcp` prints): metas also name the
// session (edgelink_session) and carry its proof (edgelink_proof, domain/visitor_proof.h), so
// frps's token alone is not enough to pose as one; a visitor registers no proxy.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/visitor_proof.h"

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
  bool visitor = false;   ///< the client's metas carry edgelink_session (a visitor's login)
  std::string sessionId;  ///< visitor: edgelink_session, canonical decimal
  std::string proof;      ///< visitor, Login: edgelink_proof ("" when absent)
  std::string proxyName;  ///< NewProxy
  std::string proxyType;  ///< NewProxy: tcp, stcp, ...
  int remotePort = 0;     ///< NewProxy, tcp: 0 when absent (frps would pick one)
};

/// The answer. `code` is low-cardinality (a metrics label and the log's outcome): "allowed", or
/// malformed, unknown_op, no_edge, unknown_edge, edge_mismatch, proxy_type, no_remote_port,
/// no_session, other_edge, no_stcp_session, proxy_name, unknown_service, visitor_proxy, no_proof,
/// bad_proof, unavailable.
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

/// A session as the database has it, for stcp decisions.
struct SessionFacts {
  std::string sessionId;
  std::string edgeId;
  std::string state;                  ///< opening / active / closed / failed
  std::string mode;                   ///< tcp / stcp
  std::vector<std::string> services;  ///< its services' names
  std::string stcpSecret;             ///< stcp: the secret (visitor lookup only); never shown
};

/// What the caller looked up for a request.
struct PluginFacts {
  bool edgeKnown = false;                      ///< Login: the edge has a row in `edges`
  std::optional<PortHolder> portHolder;        ///< NewProxy, tcp: the live session on remote_port
  std::optional<SessionFacts> liveSession;     ///< NewProxy, stcp: the edge's live session
  std::optional<SessionFacts> visitorSession;  ///< visitor Login: the session it names
};

/// Which facts a request needs (the caller looks up only those).
bool needsEdgeLookup(const PluginRequest& r);
bool needsPortLookup(const PluginRequest& r);
/// NewProxy stcp from an agent: the live session of r.edgeId (mode, state, services).
bool needsLiveSessionLookup(const PluginRequest& r);
/// A visitor's Login: the session r.sessionId (any state) with its stcp secret.
bool needsVisitorSessionLookup(const PluginRequest& r);

/// Login: an agent's is allowed for a known edge; a visitor's only with the right proof for a
/// live stcp session of its edge (decideVisitorLogin). NewProxy: refused from a visitor, else
/// by proxy type (decideProxy).
PluginVerdict decidePlugin(const PluginRequest& r, const PluginFacts& facts);

/// A visitor's Login: allowed only when facts.visitorSession is a live (opening, active) stcp
/// session of r.edgeId and r.proof is its visitorProof (compared in constant time). A refusal's
/// reason never holds the secret or the expected proof.
PluginVerdict decideVisitorLogin(const PluginRequest& r, const PluginFacts& facts);

/// NewProxy by type, the one place a new kind of session is added: tcp is allowed only on the
/// remote port of a live session of the same edge; stcp only when the edge's live session is an
/// stcp one including the proxy's service (the agent names it "<edge>.<service>"); every other
/// type is refused.
PluginVerdict decideProxy(const PluginRequest& r, const PluginFacts& facts);

/// The service an agent's proxy `proxyName` serves on `edgeId` ("<edge>.<service>"), or "" when
/// the name is not that edge's.
std::string proxyService(const std::string& edgeId, const std::string& proxyName);

/// frps's answer body for a verdict.
std::string pluginResponseJson(const PluginVerdict& v);

}  // namespace edgelink::dispatcher
