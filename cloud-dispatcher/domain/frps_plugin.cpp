#include "domain/frps_plugin.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "options.h"

namespace edgelink::dispatcher {
namespace {

using Value = rapidjson::Value;

const Value* member(const Value& object, const char* name) {
  if (!object.IsObject()) {
    return nullptr;
  }
  auto it = object.FindMember(name);
  return it == object.MemberEnd() ? nullptr : &it->value;
}

/// The value of `key` in a `metas` object: nullopt when there is none (no object, no key); the
/// string (perhaps invalid: checked by the caller) otherwise; a non-string value reads as "".
std::optional<std::string> metaIn(const Value* metas, const char* key) {
  const Value* v = metas ? member(*metas, key) : nullptr;
  if (v == nullptr) {
    return std::nullopt;
  }
  return v->IsString() ? std::string(v->GetString(), v->GetStringLength()) : std::string();
}

std::optional<std::string> edgeIn(const Value* metas) {
  return metaIn(metas, kFrpEdgeMetaKey);
}

/// A session id as `session open` prints it: 1 to 18 digits, no leading zero.
bool isSessionId(const std::string& s) {
  if (s.empty() || s.size() > 18 || s[0] == '0') {
    return false;
  }
  for (char c : s) {
    if (c < '0' || c > '9') {
      return false;
    }
  }
  return true;
}

/// A client's string in a reason or a log line: at most 64 bytes of [A-Za-z0-9._-], else "(...)".
std::string clip(const std::string& s) {
  if (s.empty() || s.size() > 64 || !isValidEdgeId(s)) {
    return "(" + std::to_string(s.size()) + " bytes)";
  }
  return s;
}

ParsedPluginRequest rejected(std::string code, std::string reason) {
  return ParsedPluginRequest{std::nullopt, rejectPlugin(std::move(code), std::move(reason)), ""};
}

/// The client's edge from `metas`, checked; `where` names the field in the reason.
ParsedPluginRequest withEdge(PluginRequest r, const Value* metas, const std::string& where) {
  auto edge = edgeIn(metas);
  if (!edge) {
    return rejected("no_edge", "frpc sets no " + std::string(kFrpEdgeMetaKey) + " in " + where +
                                   " (frpc's metadatas): only EdgeLink's agents may log in");
  }
  if (!isValidEdgeId(*edge)) {
    return rejected("malformed", where + "." + kFrpEdgeMetaKey + " is not an edge id");
  }
  r.edgeId = std::move(*edge);
  // A visitor's login names its session (and, on Login, carries its proof).
  auto session = metaIn(metas, kFrpSessionMetaKey);
  auto proof = metaIn(metas, kFrpProofMetaKey);
  if (session) {
    if (!isSessionId(*session)) {
      return rejected("malformed", where + "." + kFrpSessionMetaKey + " is not a session id");
    }
    r.visitor = true;
    r.sessionId = std::move(*session);
    r.proof = proof.value_or("");
  } else if (proof) {
    return rejected("malformed",
                    where + " carries " + kFrpProofMetaKey + " but no " + kFrpSessionMetaKey);
  }
  return ParsedPluginRequest{std::move(r), {}, ""};
}

ParsedPluginRequest parseNewProxy(const Value& content) {
  PluginRequest r;
  r.op = PluginOp::kNewProxy;
  const Value* name = member(content, "proxy_name");
  const Value* type = member(content, "proxy_type");
  if (name == nullptr || !name->IsString() || type == nullptr || !type->IsString()) {
    return rejected("malformed", "content.proxy_name and content.proxy_type are required strings");
  }
  r.proxyName.assign(name->GetString(), name->GetStringLength());
  r.proxyType.assign(type->GetString(), type->GetStringLength());
  if (const Value* port = member(content, "remote_port")) {
    if (!port->IsInt() || port->GetInt() < 0 || port->GetInt() > 65535) {
      return rejected("malformed", "content.remote_port is not a port");
    }
    r.remotePort = port->GetInt();
  }
  const Value* user = member(content, "user");
  ParsedPluginRequest out =
      withEdge(std::move(r), user ? member(*user, "metas") : nullptr, "content.user.metas");
  if (!out.request) {
    return out;
  }
  // The proxy's own metadata, when it names an edge, must name the client's.
  auto own = edgeIn(member(content, "metas"));
  if (own && *own != out.request->edgeId) {
    return rejected("edge_mismatch", "proxy " + clip(out.request->proxyName) + " names edge " +
                                         clip(*own) + " but its client is edge " +
                                         out.request->edgeId);
  }
  return out;
}

}  // namespace

PluginVerdict allowPlugin() {
  return PluginVerdict{true, "allowed", ""};
}

PluginVerdict rejectPlugin(std::string code, std::string reason) {
  return PluginVerdict{false, std::move(code), std::move(reason)};
}

ParsedPluginRequest parsePluginRequest(std::string_view body) {
  if (body.size() > kMaxPluginBodyBytes) {
    return rejected("malformed",
                    "request larger than " + std::to_string(kMaxPluginBodyBytes) + " bytes");
  }
  rapidjson::Document doc;
  // Iterative: no recursion, whatever the nesting.
  doc.Parse<rapidjson::kParseIterativeFlag>(body.data(), body.size());
  if (doc.HasParseError() || !doc.IsObject()) {
    return rejected("malformed", "the request is not a JSON object");
  }
  const Value* op = member(doc, "op");
  const Value* content = member(doc, "content");
  if (op == nullptr || !op->IsString()) {
    return rejected("malformed", "op is a required string");
  }
  const std::string opName(op->GetString(), op->GetStringLength());
  if (opName != "Login" && opName != "NewProxy") {
    return rejected("unknown_op",
                    "op " + clip(opName) + " is not served (only Login and NewProxy)");
  }
  ParsedPluginRequest out;
  if (content == nullptr || !content->IsObject()) {
    out = rejected("malformed", "content is a required object");
  } else if (opName == "NewProxy") {
    out = parseNewProxy(*content);
  } else {
    PluginRequest r;
    r.op = PluginOp::kLogin;
    out = withEdge(std::move(r), member(*content, "metas"), "content.metas");
  }
  out.op = opName;
  return out;
}

bool needsEdgeLookup(const PluginRequest& r) {
  return r.op == PluginOp::kLogin && !r.visitor;
}

bool needsPortLookup(const PluginRequest& r) {
  return r.op == PluginOp::kNewProxy && !r.visitor && r.proxyType == "tcp" && r.remotePort > 0;
}

bool needsLiveSessionLookup(const PluginRequest& r) {
  return r.op == PluginOp::kNewProxy && !r.visitor && r.proxyType == "stcp";
}

bool needsVisitorSessionLookup(const PluginRequest& r) {
  return r.op == PluginOp::kLogin && r.visitor && !r.proof.empty();
}

PluginVerdict decidePlugin(const PluginRequest& r, const PluginFacts& facts) {
  if (r.op == PluginOp::kLogin) {
    if (r.visitor) {
      return decideVisitorLogin(r, facts);
    }
    if (!facts.edgeKnown) {
      return rejectPlugin("unknown_edge", "edge " + r.edgeId + " is not known to the dispatcher");
    }
    return allowPlugin();
  }
  if (r.visitor) {
    return rejectPlugin("visitor_proxy", "proxy " + clip(r.proxyName) +
                                             " comes from a visitor of session " + r.sessionId +
                                             ": visitors register no proxies");
  }
  return decideProxy(r, facts);
}

PluginVerdict decideVisitorLogin(const PluginRequest& r, const PluginFacts& facts) {
  if (r.proof.empty()) {
    return rejectPlugin("no_proof", "the visitor of session " + r.sessionId + " sets no " +
                                        kFrpProofMetaKey +
                                        " (run the visitor config the dispatcher printed)");
  }
  const auto& s = facts.visitorSession;
  // One reason for a missing, ended, tcp or other edge's session: nothing to tell them apart.
  if (!s || s->sessionId != r.sessionId || s->edgeId != r.edgeId || s->mode != "stcp" ||
      (s->state != "opening" && s->state != "active") || s->stcpSecret.empty()) {
    return rejectPlugin("no_stcp_session", "session " + r.sessionId +
                                               " is not a live stcp session of edge " + r.edgeId);
  }
  if (!visitorProofMatches(r.proof, s->stcpSecret, r.edgeId, r.sessionId)) {
    return rejectPlugin("bad_proof", "the visitor's " + std::string(kFrpProofMetaKey) +
                                         " is not session " + r.sessionId + "'s proof");
  }
  return allowPlugin();
}

std::string proxyService(const std::string& edgeId, const std::string& proxyName) {
  const std::string prefix = edgeId + ".";
  if (edgeId.empty() || proxyName.size() <= prefix.size() ||
      proxyName.compare(0, prefix.size(), prefix) != 0) {
    return std::string();
  }
  return proxyName.substr(prefix.size());
}

namespace {

PluginVerdict decideStcpProxy(const PluginRequest& r, const PluginFacts& facts) {
  const auto& s = facts.liveSession;
  if (!s || (s->state != "opening" && s->state != "active")) {
    return rejectPlugin("no_stcp_session", "edge " + r.edgeId + " has no live stcp session");
  }
  if (s->edgeId != r.edgeId) {
    return rejectPlugin("other_edge", "the live session looked up belongs to another edge");
  }
  if (s->mode != "stcp") {
    return rejectPlugin("no_stcp_session", "edge " + r.edgeId + "'s live session " + s->sessionId +
                                               " is " + clip(s->mode) + ", not stcp");
  }
  const std::string service = proxyService(r.edgeId, r.proxyName);
  if (service.empty()) {
    return rejectPlugin("proxy_name", "proxy " + clip(r.proxyName) + " is not named " + r.edgeId +
                                          ".<service>, as edge " + r.edgeId + "'s agent names it");
  }
  for (const auto& name : s->services) {
    if (name == service) {
      return allowPlugin();
    }
  }
  return rejectPlugin("unknown_service", "stcp session " + s->sessionId + " of edge " + r.edgeId +
                                             " does not include service " + clip(service));
}

}  // namespace

PluginVerdict decideProxy(const PluginRequest& r, const PluginFacts& facts) {
  if (r.proxyType == "stcp") {
    return decideStcpProxy(r, facts);
  }
  if (r.proxyType != "tcp") {
    return rejectPlugin("proxy_type",
                        "proxy type " + clip(r.proxyType) + " is not allowed (only tcp and stcp)");
  }
  if (r.remotePort <= 0) {
    return rejectPlugin("no_remote_port", "proxy " + clip(r.proxyName) +
                                              " names no remote port: only session ports are "
                                              "allowed");
  }
  const std::string port = std::to_string(r.remotePort);
  if (!facts.portHolder ||
      (facts.portHolder->state != "opening" && facts.portHolder->state != "active")) {
    return rejectPlugin("no_session",
                        "no session of edge " + r.edgeId + " is open on port " + port);
  }
  if (facts.portHolder->edgeId != r.edgeId) {
    // The other edge is not named: the client may be anyone holding the frps token.
    return rejectPlugin("other_edge", "port " + port + " belongs to another edge's session");
  }
  return allowPlugin();
}

std::string pluginResponseJson(const PluginVerdict& v) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("reject");
  w.Bool(!v.allow);
  if (v.allow) {
    w.Key("unchange");
    w.Bool(true);
  } else {
    w.Key("reject_reason");
    w.String(v.reason.c_str(), static_cast<rapidjson::SizeType>(v.reason.size()));
  }
  w.EndObject();
  return buf.GetString();
}

}  // namespace edgelink::dispatcher
