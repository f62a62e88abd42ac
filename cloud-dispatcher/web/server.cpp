#include "web/server.h"

#include <civetweb.h>
#include <openssl/crypto.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstring>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cli/context.h"
#include "core/clock.h"
#include "observe/civetweb_listener.h"
#include "web/accounts.h"
#include "web/api_commands.h"
#include "web/api_read.h"
#include "web/assets.h"
#include "web/db_pool.h"
#include "web/http.h"
#include "web/login_limiter.h"
#include "web/stream.h"
#include "web/terminal.h"

namespace edgelink::dispatcher::web {
namespace {

constexpr const char* kCookie = "edgelink_session";
constexpr size_t kMaxBodyBytes = 64 * 1024;
constexpr const char* kJson = "application/json";

/// Who is calling (from the session cookie).
struct Caller {
  std::string token;
  std::string user;
  Role role = Role::kViewer;
  std::string csrf;
  int64_t expiresAtMs = 0;
};

struct Request {
  mg_connection* conn = nullptr;
  std::string method;
  std::string path;
  std::vector<std::string> segments;
  std::map<std::string, std::string> params;  ///< from the route: {edge}, {id}
  std::map<std::string, std::string> query;
  std::string remote;
  std::string body;
  std::optional<Caller> caller;

  std::string header(const char* name) const {
    const char* v = mg_get_header(conn, name);
    return v != nullptr ? v : "";
  }
};

struct Reply {
  int status = 200;
  std::string body;
  std::string contentType = kJson;
  std::string headers;    ///< extra header lines, each ending in CRLF
  bool streamed = false;  ///< the handler wrote the whole answer itself
};

Reply json(int status, std::string body) {
  Reply r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

Reply fail(int status, const std::string& message) {
  return json(status, errorJson(message));
}

Reply fromError(const Error& e) {
  const int status = toInt(e.status) >= 400 && toInt(e.status) < 600 ? toInt(e.status) : 500;
  if (status >= 500) {
    spdlog::warn("web: {}", e.describe());
    return fail(status == 500 ? 503 : status, "the database is unavailable or failed: try again");
  }
  return fail(status, e.describe());
}

void send(mg_connection* conn, const Reply& r) {
  std::string head = "HTTP/1.1 " + std::to_string(r.status) + " " +
                     mg_get_response_code_text(conn, r.status) + "\r\n";
  if (r.status != 204) {
    head += "Content-Type: " + r.contentType +
            "\r\nContent-Length: " + std::to_string(r.body.size()) + "\r\n";
  }
  head += std::string("Cache-Control: no-store\r\n") + securityHeaders() + r.headers + "\r\n";
  mg_write(conn, head.data(), head.size());
  if (r.status != 204 && std::strcmp(mg_get_request_info(conn)->request_method, "HEAD") != 0) {
    mg_write(conn, r.body.data(), r.body.size());
  }
}

/// Reads the body (at most kMaxBodyBytes). false: too large (413 sent by the caller).
bool readBody(mg_connection* conn, std::string& out) {
  char buf[8192];
  for (;;) {
    const int n = mg_read(conn, buf, sizeof buf);
    if (n <= 0) {
      return true;
    }
    if (out.size() + static_cast<size_t>(n) > kMaxBodyBytes) {
      return false;
    }
    out.append(buf, static_cast<size_t>(n));
  }
}

bool constantTimeEqual(const std::string& a, const std::string& b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string cookieHeader(const std::string& value, int64_t maxAgeSeconds) {
  return std::string("Set-Cookie: ") + kCookie + "=" + value +
         "; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=" + std::to_string(maxAgeSeconds) +
         "\r\n";
}

std::string callerJson(const Caller& c) {
  rapidjson::StringBuffer sb;
  rapidjson::Writer<rapidjson::StringBuffer> w(sb);
  w.StartObject();
  w.Key("user");
  w.String(c.user.c_str());
  w.Key("role");
  w.String(roleName(c.role));
  w.Key("csrf");
  w.String(c.csrf.c_str());
  w.Key("expires_at_ms");
  w.Int64(c.expiresAtMs);
  w.EndObject();
  return sb.GetString();
}

/// What a route needs: nobody (login), a caller, and for changes an operator.
enum class Need { kNobody, kViewer, kOperator };

}  // namespace

struct WebServer::Impl {
  using Handler = Reply (Impl::*)(Request&);
  struct Route {
    const char* method;
    std::vector<std::string> pattern;  ///< "{name}" segments are parameters
    Need need;
    Handler handler;
  };

  explicit Impl(const Options& o)
      : options(o),
        pool(o.pgConninfo, static_cast<size_t>(o.httpThreads)),
        stream(o.pgConninfo, 1000, static_cast<size_t>(o.httpThreads / 2)) {}

  const Options& options;
  DbPool pool;
  EventStream stream;
  LoginLimiter limiter{LoginLimits{}};
  std::unique_ptr<TerminalHub> terminals;      // before the listener: it outlives the callbacks
  std::unique_ptr<CivetwebListener> listener;  // last: stopped before the rest goes

  static const std::vector<Route>& routes();

  // ---- the pipeline ------------------------------------------------------------------------

  Reply dispatch(Request& rq) {
    auto segments = pathSegments(rq.path, "/api/v1", false);  // civetweb decoded it
    if (!segments) {
      return fail(404, "no such path");
    }
    rq.segments = std::move(*segments);
    const Route* found = nullptr;
    bool otherMethod = false;
    for (const auto& route : routes()) {
      std::map<std::string, std::string> params;
      if (!matches(route.pattern, rq.segments, params)) {
        continue;
      }
      if (rq.method != route.method &&
          !(rq.method == "HEAD" && std::strcmp(route.method, "GET") == 0)) {
        otherMethod = true;
        continue;
      }
      found = &route;
      rq.params = std::move(params);
      break;
    }
    if (found == nullptr) {
      return otherMethod ? fail(405, "method not allowed here") : fail(404, "no such path");
    }
    auto query = parseQuery(mg_get_request_info(rq.conn)->query_string != nullptr
                                ? mg_get_request_info(rq.conn)->query_string
                                : "");
    if (!query) {
      return fromError(query.error());
    }
    rq.query = std::move(*query);
    if (rq.method == "POST" && !readBody(rq.conn, rq.body)) {
      return fail(413, "the body is larger than " + std::to_string(kMaxBodyBytes) + " bytes");
    }
    if (found->need != Need::kNobody) {
      if (Reply r; !authenticate(rq, *found, r)) {
        return r;
      }
    }
    return (this->*(found->handler))(rq);
  }

  static bool matches(const std::vector<std::string>& pattern, const std::vector<std::string>& seg,
                      std::map<std::string, std::string>& params) {
    if (pattern.size() != seg.size()) {
      return false;
    }
    for (size_t i = 0; i < pattern.size(); ++i) {
      if (pattern[i].front() == '{') {
        params[pattern[i].substr(1, pattern[i].size() - 2)] = seg[i];
      } else if (pattern[i] != seg[i]) {
        return false;
      }
    }
    return true;
  }

  /// The caller from the cookie; for POST the CSRF token and the origin; the role. false: `r`
  /// holds the refusal.
  bool authenticate(Request& rq, const Route& route, Reply& r) {
    const std::string token = cookieValue(rq.header("Cookie"), kCookie);
    if (token.empty()) {
      r = fail(401, "log in first");
      return false;
    }
    auto db = pool.acquire();
    if (!db) {
      r = fromError(db.error());
      return false;
    }
    auto session = Accounts(**db).findSession(token, SystemClock::instance().wallMs());
    if (!session) {
      r = fromError(session.error());
      return false;
    }
    if (!*session) {
      r = json(401, errorJson("your session has ended: log in again"));
      r.headers = cookieHeader("", 0);
      return false;
    }
    rq.caller = Caller{token, (*session)->user, (*session)->role, (*session)->csrf,
                       (*session)->expiresAtMs};
    if (rq.method == "POST") {
      if (!sameOrigin(rq.header("Origin"), rq.header("Host"))) {
        r = fail(403, "cross-origin request refused");
        return false;
      }
      if (!constantTimeEqual(rq.header("X-CSRF-Token"), rq.caller->csrf)) {
        r = fail(403, "missing or wrong X-CSRF-Token header (GET /api/v1/me gives it)");
        return false;
      }
    }
    if (route.need == Need::kOperator && !roleAllows(rq.caller->role, Role::kOperator)) {
      r = fail(403, std::string("your role (") + roleName(rq.caller->role) +
                        ") may not do this: it needs operator or admin");
      return false;
    }
    return true;
  }

  void audit(const Request& rq, const std::string& action, const std::string& target,
             const std::string& outcome, const std::string& detail = "{}") {
    auto db = pool.acquire();
    if (db) {
      if (auto r = Accounts(**db).recordWebAudit(rq.caller ? rq.caller->user : "", action, target,
                                                 outcome, rq.remote, detail);
          !r) {
        spdlog::warn("web: audit of {} {}: {}", action, target, r.error().describe());
      }
    }
  }

  // ---- login ---------------------------------------------------------------------------------

  Reply login(Request& rq) {
    if (rq.header("Content-Type").rfind(kJson, 0) != 0) {
      return fail(415, "send the credentials as application/json");
    }
    rapidjson::Document body;
    body.Parse(rq.body.c_str(), rq.body.size());
    if (body.HasParseError() || !body.IsObject() || !body.HasMember("user") ||
        !body["user"].IsString() || !body.HasMember("password") || !body["password"].IsString() ||
        body.MemberCount() != 2) {
      return fail(400, "expected {\"user\": \"...\", \"password\": \"...\"}");
    }
    const std::string user = body["user"].GetString();
    const std::string password(body["password"].GetString(), body["password"].GetStringLength());
    const int64_t now = SystemClock::instance().wallMs();
    if (auto wait = limiter.allow(rq.remote, user, now)) {
      Reply r = fail(429, "too many failed logins: try again in " + std::to_string(*wait) + " s");
      r.headers = "Retry-After: " + std::to_string(*wait) + "\r\n";
      return r;
    }
    auto db = pool.acquire();
    if (!db) {
      return fromError(db.error());
    }
    Accounts accounts(**db);
    auto found = accounts.checkLogin(user, password);
    if (!found) {
      return fromError(found.error());
    }
    if (!*found) {
      limiter.recordFailure(rq.remote, user, now);
      (void)accounts.recordWebAudit(user, web_action::kLoginFailed, user, "refused", rq.remote);
      return fail(401, "wrong user name or password");
    }
    limiter.recordSuccess(rq.remote, user, now);
    auto session = accounts.createSession(**found, options.webSessionTtlSeconds, rq.remote);
    if (!session) {
      return fromError(session.error());
    }
    (void)accounts.recordWebAudit(user, web_action::kLogin, user, "ok", rq.remote);
    (void)accounts.pruneSessions(now);  // expired logins go as new ones come
    Caller c{session->token, session->user, session->role, session->csrf, session->expiresAtMs};
    Reply r = json(200, callerJson(c));
    r.headers = cookieHeader(session->token, options.webSessionTtlSeconds);
    return r;
  }

  Reply logout(Request& rq) {
    auto db = pool.acquire();
    if (!db) {
      return fromError(db.error());
    }
    Accounts accounts(**db);
    if (auto r = accounts.endSession(rq.caller->token); !r) {
      return fromError(r.error());
    }
    (void)accounts.recordWebAudit(rq.caller->user, web_action::kLogout, rq.caller->user, "ok",
                                  rq.remote);
    Reply r;
    r.status = 204;
    r.headers = cookieHeader("", 0);
    return r;
  }

  Reply me(Request& rq) { return json(200, callerJson(*rq.caller)); }

  Reply openapi(Request& /*rq*/) {
    const Asset* spec = findAsset("openapi.json");
    if (spec == nullptr) {
      return fail(404, "no OpenAPI file in this build");
    }
    return json(200, std::string(reinterpret_cast<const char*>(spec->data), spec->size));
  }

  // ---- reads ---------------------------------------------------------------------------------

  template <typename F>
  Reply read(F&& f) {
    auto db = pool.acquire();
    if (!db) {
      return fromError(db.error());
    }
    auto out = f(**db);
    if (!out) {
      return fromError(out.error());
    }
    return json(200, std::move(*out));
  }

  template <typename F>
  Reply readOne(const std::string& what, F&& f) {
    auto db = pool.acquire();
    if (!db) {
      return fromError(db.error());
    }
    auto out = f(**db);
    if (!out) {
      return fromError(out.error());
    }
    if (!*out) {
      return fail(404, "no " + what);
    }
    return json(200, std::move(**out));
  }

  std::optional<Reply> edgeProblem(const Request& rq) const {
    if (auto problem = edgeIdProblem(rq.params.at("edge"), "edge"); !problem.empty()) {
      return fail(400, problem);
    }
    return std::nullopt;
  }

  /// limit (1-500, default 50) and offset.
  static Result<std::pair<int64_t, int64_t>> pageParams(const Request& rq) {
    auto limit = intParam(rq.query, "limit", 50, 1, 500);
    if (!limit) {
      return limit.error();
    }
    auto offset = intParam(rq.query, "offset", 0, 0, 1000000000);
    if (!offset) {
      return offset.error();
    }
    return std::make_pair(*limit, *offset);
  }

  Reply listEdges(Request& rq) {
    EdgeQuery q;
    auto page = pageParams(rq);
    if (!page) {
      return fromError(page.error());
    }
    q.limit = page->first;
    q.offset = page->second;
    q.q = rq.query.count("q") ? rq.query.at("q") : "";
    if (q.q.size() > 200) {
      return fail(400, "q: at most 200 characters");
    }
    if (auto it = rq.query.find("online"); it != rq.query.end() && !it->second.empty()) {
      if (it->second != "true" && it->second != "false") {
        return fail(400, "online: expected true or false");
      }
      q.online = it->second == "true";
    }
    q.label = rq.query.count("label") ? rq.query.at("label") : "";
    if (q.label.size() > 100) {
      return fail(400, "label: at most 100 characters");
    }
    if (auto it = rq.query.find("sort"); it != rq.query.end()) {
      if (auto problem = edgeSortProblem(it->second); !problem.empty()) {
        return fail(400, problem);
      }
      q.sort = it->second;
    }
    if (auto it = rq.query.find("order"); it != rq.query.end()) {
      if (it->second != "asc" && it->second != "desc") {
        return fail(400, "order: expected asc or desc");
      }
      q.descending = it->second == "desc";
    }
    return read([&](pg::Connection& db) { return edgesJson(db, options, q); });
  }

  Reply getEdge(Request& rq) {
    if (auto p = edgeProblem(rq)) {
      return *p;
    }
    const std::string edge = rq.params.at("edge");
    return readOne("edge " + edge, [&](pg::Connection& db) { return edgeJson(db, options, edge); });
  }

  /// A page of something of one edge ({edge}, limit, offset): its requests, its audit trail.
  template <typename F>
  Reply edgePage(const Request& rq, F&& query) {
    if (auto p = edgeProblem(rq)) {
      return *p;
    }
    auto page = pageParams(rq);
    if (!page) {
      return fromError(page.error());
    }
    return read([&](pg::Connection& db) {
      return query(db, rq.params.at("edge"), page->first, page->second);
    });
  }

  Reply edgeRequests(Request& rq) { return edgePage(rq, edgeRequestsJson); }
  Reply edgeAudit(Request& rq) { return edgePage(rq, edgeAuditJson); }

  Reply listSessions(Request& rq) {
    auto page = pageParams(rq);
    if (!page) {
      return fromError(page.error());
    }
    bool active = false;
    if (auto it = rq.query.find("active"); it != rq.query.end() && !it->second.empty()) {
      if (it->second != "true" && it->second != "false") {
        return fail(400, "active: expected true or false");
      }
      active = it->second == "true";
    }
    const std::string edge = rq.query.count("edge") ? rq.query.at("edge") : "";
    if (auto problem = edgeIdProblem(edge, "edge"); !edge.empty() && !problem.empty()) {
      return fail(400, problem);
    }
    return read([&](pg::Connection& db) {
      return sessionsJson(db, active, edge, page->first, page->second);
    });
  }

  Reply getSession(Request& rq) {
    std::map<std::string, std::string> idParam = {{"id", rq.params.at("id")}};
    auto id = intParam(idParam, "id", 0, 1, INT64_MAX);
    if (!id) {
      return fail(400, "id: expected a session id (a positive integer)");
    }
    return readOne("session " + std::to_string(*id),
                   [&](pg::Connection& db) { return sessionJson(db, *id); });
  }

  // ---- live updates --------------------------------------------------------------------------

  Reply liveStream(Request& rq) {
    auto sub = stream.subscribe();
    if (!sub) {
      Reply r = fail(503, "too many live streams are open: try again later");
      r.headers = "Retry-After: 10\r\n";
      return r;
    }
    std::string head = std::string("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n") +
                       "Cache-Control: no-store\r\nX-Accel-Buffering: no\r\n" + securityHeaders() +
                       "\r\nretry: 3000\n: connected\n\n";
    bool open = mg_write(rq.conn, head.data(), head.size()) > 0;
    int64_t recheckAt = SystemClock::instance().monoMs() + 60000;
    while (open && !sub->stopping()) {
      std::string chunk;
      for (const auto& e : sub->wait(15000)) {
        chunk += formatServerSentEvent(e);
      }
      if (chunk.empty()) {
        chunk = ": keepalive\n\n";
      }
      open = mg_write(rq.conn, chunk.data(), chunk.size()) > 0;
      if (open && SystemClock::instance().monoMs() >= recheckAt) {
        // A logged-out or expired session stops receiving.
        auto db = pool.acquire();
        if (db) {
          auto s = Accounts(**db).findSession(rq.caller->token, SystemClock::instance().wallMs());
          open = !s || s->has_value();
        }
        recheckAt = SystemClock::instance().monoMs() + 60000;
      }
    }
    stream.unsubscribe(sub);
    Reply r;
    r.streamed = true;
    return r;
  }

  // ---- changes: the CLI's commands ------------------------------------------------------------

  Reply command(Request& rq, const std::string& what) {
    if (auto p = edgeProblem(rq)) {
      return *p;
    }
    const std::string edge = rq.params.at("edge");
    {
      // An unknown edge is refused here: its topic may not exist, and waiting for Kafka to say
      // so holds the call for kafka-timeout.
      auto db = pool.acquire();
      if (!db) {
        return fromError(db.error());
      }
      auto known = (*db)->exec("SELECT 1 FROM edges WHERE edge_id = $1", {edge});
      if (!known) {
        return fromError(known.error());
      }
      if (known->empty()) {
        return fail(404, "no edge " + edge + " (not provisioned, never heard from)");
      }
    }
    rapidjson::Document body;
    if (rq.body.empty()) {
      body.SetObject();
    } else {
      body.Parse(rq.body.c_str(), rq.body.size());
      if (body.HasParseError()) {
        return fail(400, "the body is not valid JSON");
      }
    }
    auto args = commandArgs(what, edge, body);
    if (!args) {
      return fromError(args.error());
    }
    AuditActor actor;
    actor.name = rq.caller->user;
    actor.kind = "web";
    CommandOutcome outcome = runCliCommand(options, *args, actor);
    audit(rq, what == "send" ? web_action::kSend : "session_" + what, edge,
          outcomeForExit(outcome.exitCode), rq.body.empty() ? "{}" : rq.body);
    return json(httpStatusForExit(outcome.exitCode), commandReplyJson(outcome));
  }

  Reply openSession(Request& rq) { return command(rq, "open"); }
  Reply extendSession(Request& rq) { return command(rq, "extend"); }
  Reply closeSession(Request& rq) { return command(rq, "close"); }
  Reply sendRequest(Request& rq) { return command(rq, "send"); }

  // ---- web ssh -------------------------------------------------------------------------------

  /// A terminal WebSocket's caller: logged in, its CSRF token in the query (a WebSocket has no
  /// custom headers), from this origin, an operator; the session live, active, with an ssh
  /// service. nullopt refuses (civetweb closes the connection).
  std::optional<TerminalGrant> authorizeTerminal(const mg_connection* conn) {
    const mg_request_info* info = mg_get_request_info(conn);
    auto sessionId = terminalSessionId(info->local_uri != nullptr ? info->local_uri : "");
    auto header = [&](const char* name) {
      const char* v = mg_get_header(conn, name);
      return std::string(v != nullptr ? v : "");
    };
    auto query = parseQuery(info->query_string != nullptr ? info->query_string : "");
    const std::string origin = header("Origin");
    const std::string token = cookieValue(header("Cookie"), kCookie);
    if (!sessionId || !query || token.empty() || origin.empty() ||
        !sameOrigin(origin, header("Host"))) {
      return std::nullopt;
    }
    auto db = pool.acquire();
    if (!db) {
      return std::nullopt;
    }
    auto login = Accounts(**db).findSession(token, SystemClock::instance().wallMs());
    if (!login || !*login || !roleAllows((*login)->role, Role::kOperator)) {
      return std::nullopt;
    }
    auto csrf = query->find("csrf");
    if (csrf == query->end() || !constantTimeEqual(csrf->second, (*login)->csrf)) {
      return std::nullopt;
    }
    auto rows = (*db)->exec(
        "SELECT edge_id, mode, (services->>'ssh')::int, stcp_secret FROM sessions"
        " WHERE session_id = $1 AND state = 'active' AND ended_at IS NULL AND services ? 'ssh'",
        {std::to_string(*sessionId)});
    if (!rows || rows->empty()) {
      return std::nullopt;
    }
    TerminalGrant grant;
    grant.userName = (*login)->user;
    grant.sessionId = *sessionId;
    grant.edgeId = rows->str(0, 0);
    if (rows->str(0, 1) == "stcp") {
      if (rows->isNull(0, 3)) {
        return std::nullopt;
      }
      grant.stcp = TerminalGrant::Stcp{rows->str(0, 3)};
    } else {
      grant.host = options.frpsHost;
      grant.port = static_cast<int>(rows->int64(0, 2));
    }
    return grant;
  }

  void auditTerminal(const TerminalEvent& e) {
    auto db = pool.acquire();
    if (!db) {
      return;
    }
    rapidjson::StringBuffer sb;
    rapidjson::Writer<rapidjson::StringBuffer> w(sb);
    w.StartObject();
    w.Key("session_id");
    w.Int64(e.grant.sessionId);
    w.Key("ssh_user");
    w.String(e.sshUser.c_str());
    w.Key("message");
    w.String(e.message.c_str());
    w.Key("ms");
    w.Int64(e.ms);
    w.EndObject();
    (void)Accounts(**db).recordWebAudit(e.grant.userName, web_action::kTerminal, e.grant.edgeId,
                                        e.outcome, "", sb.GetString());
    spdlog::info("web: terminal session={} edge={} user={} ssh_user={} outcome={} {} ms",
                 e.grant.sessionId, e.grant.edgeId, e.grant.userName, e.sshUser, e.outcome, e.ms);
  }

  /// A session notification: the terminals of a session that ended close.
  void sessionChanged(const std::string& payload) {
    rapidjson::Document d;
    d.Parse(payload.c_str(), payload.size());
    if (d.HasParseError() || !d.IsObject() || !d.HasMember("session_id") ||
        !d["session_id"].IsInt64() || !d.HasMember("state") || !d["state"].IsString()) {
      return;
    }
    const std::string state = d["state"].GetString();
    if (state != "opening" && state != "active" && terminals) {
      terminals->sessionEnded(d["session_id"].GetInt64());
    }
  }

  // ---- civetweb entry points -----------------------------------------------------------------

  static int onApi(mg_connection* conn, void* data) noexcept {
    auto* self = static_cast<Impl*>(data);
    const auto started = std::chrono::steady_clock::now();
    Request rq;
    rq.conn = conn;
    const mg_request_info* info = mg_get_request_info(conn);
    rq.method = info->request_method != nullptr ? info->request_method : "";
    rq.path = info->local_uri != nullptr ? info->local_uri : "";
    rq.remote = info->remote_addr;
    Reply r;
    try {
      r = self->dispatch(rq);
    } catch (const std::exception& e) {
      spdlog::error("web: {} {}: {}", rq.method, rq.path, e.what());
      r = fail(500, "internal error");
    } catch (...) {
      r = fail(500, "internal error");
    }
    if (!r.streamed) {
      send(conn, r);
    }
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - started)
                        .count();
    spdlog::info("web: {} {} user={} status={} {} ms", rq.method, rq.path,
                 rq.caller ? rq.caller->user : "-", r.streamed ? 200 : r.status, ms);
    return 1;
  }

  static int onStatic(mg_connection* conn, void* /*data*/) noexcept {
    const mg_request_info* info = mg_get_request_info(conn);
    if (std::strcmp(info->request_method, "GET") != 0 &&
        std::strcmp(info->request_method, "HEAD") != 0) {
      send(conn, fail(405, "only GET"));
      return 1;
    }
    std::string path = info->local_uri != nullptr ? info->local_uri : "/";
    if (path == "/" || path == "/index.html") {
      path = "/static/index.html";
    }
    const Asset* asset = findAsset(path.rfind("/static/", 0) == 0 ? path.substr(8) : "");
    if (asset == nullptr) {
      send(conn, fail(404, "no such file"));
      return 1;
    }
    Reply r;
    r.contentType = asset->contentType;
    r.body.assign(reinterpret_cast<const char*>(asset->data), asset->size);
    send(conn, r);
    return 1;
  }
};

const std::vector<WebServer::Impl::Route>& WebServer::Impl::routes() {
  static const std::vector<Route> table = {
      {"POST", {"login"}, Need::kNobody, &Impl::login},
      {"POST", {"logout"}, Need::kViewer, &Impl::logout},
      {"GET", {"me"}, Need::kViewer, &Impl::me},
      {"GET", {"openapi.json"}, Need::kNobody, &Impl::openapi},
      {"GET", {"edges"}, Need::kViewer, &Impl::listEdges},
      {"GET", {"edges", "{edge}"}, Need::kViewer, &Impl::getEdge},
      {"GET", {"edges", "{edge}", "requests"}, Need::kViewer, &Impl::edgeRequests},
      {"POST", {"edges", "{edge}", "requests"}, Need::kOperator, &Impl::sendRequest},
      {"GET", {"edges", "{edge}", "audit"}, Need::kViewer, &Impl::edgeAudit},
      {"POST", {"edges", "{edge}", "session"}, Need::kOperator, &Impl::openSession},
      {"POST", {"edges", "{edge}", "session", "extend"}, Need::kOperator, &Impl::extendSession},
      {"POST", {"edges", "{edge}", "session", "close"}, Need::kOperator, &Impl::closeSession},
      {"GET", {"sessions"}, Need::kViewer, &Impl::listSessions},
      {"GET", {"sessions", "{id}"}, Need::kViewer, &Impl::getSession},
      {"GET", {"stream"}, Need::kViewer, &Impl::liveStream},
  };
  return table;
}

const std::vector<std::string>& apiRoutes() {
  static const std::vector<std::string> out = [] {
    std::vector<std::string> v;
    for (const auto& r : WebServer::Impl::routes()) {
      std::string path;
      for (const auto& s : r.pattern) {
        path += "/" + s;
      }
      v.push_back(std::string(r.method) + " " + path);
    }
    return v;
  }();
  return out;
}

WebServer::WebServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

WebServer::~WebServer() {
  impl_->stream.stop();      // the streams end first: their threads are civetweb's
  impl_->listener.reset();   // then no handler runs any more
  impl_->terminals.reset();  // then the terminals end and their threads are joined
}

int WebServer::port() const {
  return impl_->listener->port();
}

Result<std::unique_ptr<WebServer>> WebServer::start(const Options& options) {
  prepareAccounts();  // libsodium and the dummy hash, before the first login
  auto impl = std::make_unique<Impl>(options);
  std::vector<std::pair<std::string, std::string>> civet = {
      {"num_threads", std::to_string(options.httpThreads)},
      {"request_timeout_ms", "30000"},
      {"enable_keep_alive", "yes"},
  };
  std::string ports = options.httpAddress->civetweb();
  if (!options.httpTlsCertificate.empty()) {
    ports += "s";
    civet.emplace_back("ssl_certificate", options.httpTlsCertificate);
    civet.emplace_back("ssl_protocol_version", "4");  // TLS 1.2 and newer
  }
  auto listener = CivetwebListener::start(ports, civet, "http-listen");
  if (!listener) {
    return listener.error();
  }
  TerminalSettings terminal;
  terminal.keyFile = options.webSshKeyFile;
  terminal.knownHostsFile = options.webSshKnownHostsFile;
  terminal.hostKeyPolicy =
      parseHostKeyPolicy(options.webSshHostKeys).value_or(HostKeyPolicy::kStrict);
  terminal.maxTerminals = static_cast<int>(options.webTerminals);
  terminal.idleTimeoutSeconds = static_cast<int>(options.webTerminalIdleSeconds);
  terminal.stcp.frpcPath = options.webFrpcPath;
  terminal.stcp.visitor.frpsHost = options.frpsHost;
  terminal.stcp.visitor.frpsPort = static_cast<int>(options.frpsPort);
  terminal.stcp.visitor.tokenFile = options.webVisitorTokenFile;
  terminal.stcp.visitor.caFile = options.webVisitorCaFile;
  Impl* self = impl.get();
  impl->terminals = std::make_unique<TerminalHub>(
      terminal, [self](const mg_connection* c) { return self->authorizeTerminal(c); });
  impl->terminals->onEvent([self](const TerminalEvent& e) { self->auditTerminal(e); });
  impl->stream.onSession([self](const std::string& payload) { self->sessionChanged(payload); });
  impl->stream.start();
  impl->listener = std::move(*listener);
  impl->terminals->attach(*impl->listener);
  impl->listener->handle("/api/v1", &Impl::onApi, impl.get());
  impl->listener->handle("/$", &Impl::onStatic, impl.get());
  impl->listener->handle("/index.html$", &Impl::onStatic, impl.get());
  impl->listener->handle("/static", &Impl::onStatic, impl.get());
  return std::unique_ptr<WebServer>(new WebServer(std::move(impl)));
}

}  // namespace edgelink::dispatcher::web
