#include "observe/frps_plugin_server.h"

#include <civetweb.h>

#include <cctype>
#include <chrono>
#include <cstring>
#include <mutex>

#include "core/logging.h"
#include "observe/civetweb_listener.h"

namespace edgelink::dispatcher {
namespace {

std::shared_ptr<spdlog::logger> logger() {
  static auto l = log::get("dispatcher");
  return l;
}

/// frps's X-Frp-Reqid when it is a plain token (it is frps's random id), else "-".
std::string reqidOf(mg_connection* conn) {
  const char* h = mg_get_header(conn, "X-Frp-Reqid");
  std::string id = h ? h : "";
  if (id.empty() || id.size() > 64) {
    return "-";
  }
  for (char c : id) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') {
      return "-";
    }
  }
  return id;
}

/// Reads the body, at most kMaxPluginBodyBytes + 1 bytes (one more tells it was too large).
std::string readBody(mg_connection* conn) {
  std::string body;
  char buf[8192];
  while (body.size() <= kMaxPluginBodyBytes) {
    int n = mg_read(conn, buf, sizeof buf);
    if (n <= 0) {
      break;
    }
    body.append(buf, static_cast<size_t>(n));
  }
  return body;
}

int pluginHandler(mg_connection* conn, void* data) noexcept {
  try {
    const mg_request_info* info = mg_get_request_info(conn);
    if (std::strcmp(info->request_method, "POST") != 0) {
      replyHttp(conn, 405, "text/plain; charset=utf-8", "only POST\n");
      return 1;
    }
    auto* server = static_cast<FrpsPluginServer*>(data);
    PluginVerdict v;
    if (info->content_length > static_cast<long long>(kMaxPluginBodyBytes)) {
      v = server->handle(std::string(kMaxPluginBodyBytes + 1, ' '), reqidOf(conn));
    } else {
      v = server->handle(readBody(conn), reqidOf(conn));
    }
    replyHttp(conn, 200, "application/json", pluginResponseJson(v));
  } catch (...) {
    // A plugin error makes frps refuse the operation too ("send ... request to plugin error").
    replyHttp(conn, 500, "text/plain; charset=utf-8", "error\n");
  }
  return 1;
}

}  // namespace

Result<std::unique_ptr<FrpsPluginServer>> FrpsPluginServer::start(const Options& options,
                                                                  Metrics* metrics) {
  if (!options.frpsPluginAddress) {
    return Error(Status::kInternal, "no address to listen on", "frps-plugin-listen");
  }
  std::unique_ptr<FrpsPluginServer> server(new FrpsPluginServer(options, metrics));
  auto listener = CivetwebListener::start(options.frpsPluginAddress->civetweb(),
                                          {{"request_timeout_ms", "10000"}}, "frps-plugin-listen");
  if (!listener) {
    return listener.error();
  }
  server->listener_ = std::move(*listener);
  // "$": this path exactly (civetweb matches prefixes otherwise).
  server->listener_->handle(options.frpsPluginPath + "$", pluginHandler, server.get());
  return server;
}

FrpsPluginServer::~FrpsPluginServer() = default;

PluginVerdict FrpsPluginServer::handle(std::string_view body, const std::string& reqid) {
  const auto began = std::chrono::steady_clock::now();
  ParsedPluginRequest parsed = parsePluginRequest(body);
  PluginVerdict v = parsed.rejected;
  if (parsed.request) {
    auto facts = lookup(*parsed.request);
    if (facts) {
      v = decidePlugin(*parsed.request, *facts);
    } else {
      logger()->warn("frps-plugin id={} database: {}", reqid, facts.error().describe());
      v = rejectPlugin("unavailable", "the dispatcher cannot read its sessions now: try later");
    }
  }
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - began)
                      .count();
  const PluginRequest none;
  const PluginRequest& r = parsed.request ? *parsed.request : none;
  logger()->info("frps-plugin id={} type={} edge={} port={}{}{} outcome={} ms={}{}{}", reqid,
                 parsed.op.empty() ? "-" : parsed.op, r.edgeId.empty() ? "-" : r.edgeId,
                 r.remotePort, r.visitor ? " visitor-of=" : "", r.sessionId, v.code, ms,
                 v.allow ? "" : ": ", v.reason);
  if (metrics_ != nullptr) {
    metrics_->frpsPluginDecision(parsed.op.empty() ? "other" : parsed.op, v.code);
  }
  return v;
}

Result<PluginFacts> FrpsPluginServer::lookup(const PluginRequest& r) {
  std::lock_guard<std::mutex> lock(dbMutex_);
  if (db_ == nullptr || !db_->healthy()) {
    db_.reset();
    auto c = pg::Connection::open(options_.pgConninfo, "cloud-dispatcher frps-plugin");
    if (!c) {
      return c.error();
    }
    db_ = std::move(*c);
  }
  auto facts = query(r);
  if (!facts && !db_->healthy()) {
    db_.reset();  // reconnect on the next request
  }
  return facts;
}

Result<PluginFacts> FrpsPluginServer::query(const PluginRequest& r) {
  PluginFacts facts;
  if (needsEdgeLookup(r)) {
    auto rows = db_->exec("SELECT 1 FROM edges WHERE edge_id = $1", {r.edgeId});
    if (!rows) {
      return rows.error();
    }
    facts.edgeKnown = !rows->empty();
  }
  if (needsPortLookup(r)) {
    // session_ports holds the ports of live sessions only (the schema's trigger frees them).
    auto rows = db_->exec(
        "SELECT s.edge_id, s.state, p.service FROM session_ports p"
        " JOIN sessions s ON s.session_id = p.session_id"
        " WHERE p.port = $1::int AND s.ended_at IS NULL",
        {std::to_string(r.remotePort)});
    if (!rows) {
      return rows.error();
    }
    if (!rows->empty()) {
      facts.portHolder = PortHolder{rows->str(0, 0), rows->str(0, 1), rows->str(0, 2)};
    }
  }
  if (needsLiveSessionLookup(r)) {
    auto s = sessionFacts("s.edge_id = $1 AND s.ended_at IS NULL", r.edgeId);
    if (!s) {
      return s.error();
    }
    facts.liveSession = std::move(*s);
  }
  if (needsVisitorSessionLookup(r)) {
    auto s = sessionFacts("s.session_id = $1::bigint", r.sessionId);
    if (!s) {
      return s.error();
    }
    facts.visitorSession = std::move(*s);
  }
  return facts;
}

Result<std::optional<SessionFacts>> FrpsPluginServer::sessionFacts(const char* where,
                                                                   const std::string& param) {
  // Services one a line (names are [A-Za-z0-9._-]); the secret stays in this process.
  auto rows = db_->exec(std::string("SELECT s.session_id::text, s.edge_id, s.state, s.mode,"
                                    " coalesce(s.stcp_secret, ''),"
                                    " (SELECT coalesce(string_agg(k, E'\\n' ORDER BY k), '')"
                                    "  FROM jsonb_object_keys(s.services) AS k)"
                                    " FROM sessions s WHERE ") +
                            where,
                        {param});
  if (!rows) {
    return rows.error();
  }
  if (rows->empty()) {
    return std::optional<SessionFacts>();
  }
  SessionFacts f{rows->str(0, 0), rows->str(0, 1), rows->str(0, 2), rows->str(0, 3), {},
                 rows->str(0, 4)};
  const std::string names = rows->str(0, 5);
  for (size_t at = 0; at < names.size();) {
    size_t end = names.find('\n', at);
    end = end == std::string::npos ? names.size() : end;
    f.services.push_back(names.substr(at, end - at));
    at = end + 1;
  }
  return std::optional<SessionFacts>(std::move(f));
}

}  // namespace edgelink::dispatcher
