// session open / close (a request to the edge, through the Requester), sessions list / show.

#include <algorithm>
#include <memory>

#include "cli/audit.h"
#include "cli/context.h"
#include "cli/queries.h"
#include "cli/requester.h"
#include "cli/visitor.h"
#include "config/cli_config.h"
#include "core/time_format.h"
#include "domain/sessions.h"
#include "envelope/frp_command.h"
#include "envelope/types.h"

namespace edgelink::dispatcher {

/// session extend (session_extend.cpp).
void addSessionExtend(Commands& cmds, CLI::App* session);

namespace {

struct SessionArgs {
  std::string edge;
  std::vector<std::string> services;
  int64_t autoStop = 0;
  int64_t openWait = 60;
  int64_t closeWait = 30;
  bool evenIfOffline = false;
  bool force = false;
  bool active = false;
  int64_t sessionId = 0;
  std::string mode = "tcp";
  bool visitor = false;  ///< sessions show: print the stcp visitor config
  VisitorSettings visitorSettings;
};

/// The services to open, or a usage problem: each must fit the original start request format.
Result<std::vector<std::string>> servicesToOpen(const Context& c, const SessionArgs& a) {
  std::vector<std::string> services = a.services.empty() ? c.options.defaultServices : a.services;
  for (const auto& s : services) {
    if (a.mode == "stcp") {
      // stcp starts use frp_start, which names any service (the edge's config decides).
      const bool ok =
          !s.empty() && s.size() <= 32 && s[0] >= 'a' && s[0] <= 'z' &&
          s.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") == std::string::npos;
      if (!ok) {
        return Error(Status::kBadRequest, "--services: '" + s + "' is not a service name");
      }
      continue;
    }
    bool legacy = false;
    for (const auto& f : envelope::legacy::kPortFields) {
      legacy = legacy || s == f.service;
    }
    if (!legacy) {
      return Error(Status::kBadRequest, "--services: '" + s +
                                            "' cannot be expressed in the original start request "
                                            "format (ssh, fcc_web, camera_admin)");
    }
  }
  std::sort(services.begin(), services.end());
  if (std::adjacent_find(services.begin(), services.end()) != services.end()) {
    return Error(Status::kBadRequest, "--services: a service is named twice");
  }
  return services;
}

/// Why a session cannot be opened on `edge` now (unknown; offline unless --even-if-offline), or
/// "" when it can. Database errors are reported as such.
std::string checkEdgeReachable(const Context& c, pg::Connection& db, const std::string& edge,
                               bool evenIfOffline) {
  auto rows = db.exec(
      "SELECT (last_heartbeat_at IS NOT NULL"
      "  AND last_heartbeat_at > now() - make_interval(secs => $2::float8)"
      "  AND (stopped_at IS NULL OR stopped_at < last_heartbeat_at)),"
      " (extract(epoch FROM last_heartbeat_at) * 1000)::bigint,"
      " (extract(epoch FROM stopped_at) * 1000)::bigint,"
      " (extract(epoch FROM now() - last_heartbeat_at))::bigint"
      " FROM edges WHERE edge_id = $1",
      {edge, std::to_string(c.options.offlineAfterSeconds)});
  if (!rows) {
    return "checking edge " + edge + ": " + rows.error().describe();
  }
  if (rows->empty()) {
    return "edge " + edge + " is not known: `edges add` it first";
  }
  if (rows->boolean(0, 0) || evenIfOffline) {
    return {};
  }
  std::string why;
  if (rows->isNull(0, 1)) {
    why = "it has never sent a heartbeat";
  } else {
    why = "last seen (heartbeat) at " + shortTimestamp(formatRfc3339Ms(rows->int64(0, 1))) +
          " UTC, " + config::durationText(rows->int64(0, 3)) + " ago";
    if (!rows->isNull(0, 2) && rows->int64(0, 2) >= rows->int64(0, 1)) {
      why += "; its agent said it was stopping at " +
             shortTimestamp(formatRfc3339Ms(rows->int64(0, 2))) + " UTC";
    } else {
      why += " (offline after " + config::durationText(c.options.offlineAfterSeconds) +
             " without one)";
    }
  }
  return "edge " + edge + " is offline: " + why +
         ". No ports were taken. --even-if-offline opens the session anyway (the start request "
         "then waits in the edge's topic until it expires, holding its ports)";
}

/// openText for a live stcp session: its state, then the visitor config to run.
std::string stcpOpenText(const Context& c, const SessionArgs& a, int result, const Record& rq,
                         const Record& s) {
  std::string head =
      "session " + fieldText(s, "session_id") + " on edge " + a.edge + " (stcp: no public port)";
  if (a.openWait <= 0) {
    head += " requested; the edge has not answered yet\n";
  } else if (result == kExitTimeout) {
    head += ": no answer within " + std::to_string(a.openWait) +
            " s; it stays 'opening' until the edge answers or the start request times out at " +
            shortTimestamp(fieldText(rq, "deadline")) + " UTC\n";
  } else {
    head += " is open until " + shortTimestamp(fieldText(s, "expires_at")) + " UTC\n";
  }
  return head + "Run this frpc visitor config (frpc -c visitor.toml), then connect:\n" +
         visitorHints(c.options, parseServicesJson(fieldText(s, "services")),
                      a.visitorSettings.firstBindPort) +
         "\n" + fieldText(s, "visitor_config");
}

std::string openText(const Context& c, const SessionArgs& a, int result, const Record& rq,
                     const Record& s) {
  const std::string session = "session " + fieldText(s, "session_id") + " on edge " + a.edge;
  const std::string ports = fieldText(s, "ports");
  const std::string visitor = fieldText(s, "visitor_config");
  if (!visitor.empty()) {
    return stcpOpenText(c, a, result, rq, s);
  }
  if (a.openWait <= 0) {
    return session + " requested (" + ports + "); the edge has not answered yet\n" +
           connectHints(c.options, fieldText(s, "services")) + "\n";
  }
  if (result == kExitTimeout && fieldText(rq, "state") == "timeout") {
    return session + " (" + ports +
           "): timeout, no answer by the start request's deadline; it expired at " +
           shortTimestamp(fieldText(rq, "expires_at")) +
           " UTC, so the edge will not act on it: the session ends and its ports are free again\n";
  }
  if (result == kExitTimeout) {
    return session + " (" + ports + "): no answer within " + std::to_string(a.openWait) +
           " s; it stays 'opening' until the edge answers or the start request times out at " +
           shortTimestamp(fieldText(rq, "deadline")) + " UTC (see `sessions list --edge " + a.edge +
           "`)\n";
  }
  if (result == kExitOk) {
    return session + " is open until " + shortTimestamp(fieldText(s, "expires_at")) + " UTC\n" +
           connectHints(c.options, fieldText(s, "services")) + "\n";
  }
  return "edge " + a.edge + " could not open the session: " + fieldText(rq, "status_code") + " " +
         fieldText(rq, "response_body") + "\nsession " + fieldText(s, "session_id") + " " +
         fieldText(s, "state") + " (" + fieldText(s, "end_reason") +
         "), its ports are free again\n";
}

/// Publishes the start of an opened session and shows the outcome.
int publishStart(const Context& c, const SessionArgs& a, pg::Connection& db, Sessions& sessions,
                 const OpenedSession& opened, const std::string& id, int64_t autoStop,
                 const std::string& secret) {
  const bool stcp = !secret.empty();
  auto req = buildRequest(
      c, id,
      stcp ? envelope::request_type::kFrpStart : envelope::request_type::kChangeFrpClientConfig,
      stcp ? "setup and start frp (stcp)" : "setup and start frp");
  envelope::FrpCommand cmd;
  cmd.action = envelope::FrpAction::kStart;
  cmd.mode = stcp ? envelope::FrpMode::kStcp : envelope::FrpMode::kTcp;
  cmd.secretKey = secret;
  for (const auto& [name, port] : opened.services) {
    cmd.services[name] = static_cast<uint16_t>(port);
  }
  cmd.autoStopSeconds = autoStop;
  VoidResult w;
  if (stcp) {
    envelope::writeCanonicalFrpBody(req, cmd);
  } else {
    w = envelope::writeLegacyFrpBody(req, cmd);
  }
  if (!w) {
    (void)sessions.end(opened.sessionId, "failed", "publish_failed", w.error().describe());
    return c.fail(kExitUsage, w.error().describe());
  }
  Requester requester(c, db);
  int result =
      requester.exchange(a.edge, id, envelope::encode(req), a.openWait, [&](const Error& e) {
        (void)sessions.end(opened.sessionId, "failed", "publish_failed", e.describe());
        return "; session " + std::to_string(opened.sessionId) + " released its ports";
      });
  if (result != kExitOk && result != kExitTimeout) {
    return result;
  }
  auto request = showRequest(db, id, a.edge);
  auto session = showSession(db, c.options, opened.sessionId);
  if (!request || request->empty() || !session || session->empty()) {
    return c.fail(kExitDatabase, "the session was requested but cannot be read back");
  }
  const Record& rq = request->front();
  Record s = session->front();
  result = outcomeCode(result, a.openWait, rq);
  s.push_back(stringField("request_state", fieldText(rq, "state")));
  const std::string state = fieldText(s, "state");
  if (stcp && (state == "opening" || state == "active")) {
    // Shown here (and by `sessions show ID --visitor`) only: the operator needs it.
    VisitorSettings vs = a.visitorSettings;
    vs.frpsHost = c.options.frpsHost;
    vs.frpsPort = static_cast<int>(c.options.frpsPort);
    s.push_back(stringField("secret_key", secret));
    s.push_back(stringField("visitor_config",
                            visitorConfig(vs, a.edge, opened.sessionId, opened.services, secret)));
  }
  for (const char* name : {"status_code", "response_body"}) {
    if (const Field* f = findField(rq, name); f && f->kind != FieldKind::kNull) {
      s.push_back(*f);
    }
  }
  c.showOne(s, c.json ? std::string() : openText(c, a, result, rq, s));
  return result;
}

int sessionOpen(const Context& c, const SessionArgs& a) {
  if (auto problem = edgeIdProblem(a.edge); !problem.empty()) {
    return c.fail(kExitUsage, problem);
  }
  auto services = servicesToOpen(c, a);
  if (!services) {
    return c.fail(kExitUsage, services.error().message);
  }
  if (a.autoStop > envelope::kMaxAutoStopSeconds) {
    return c.fail(kExitUsage, "--auto-stop: at most 365d (" +
                                  std::to_string(envelope::kMaxAutoStopSeconds) + " s), got " +
                                  std::to_string(a.autoStop) + " s");
  }
  const int64_t autoStop = a.autoStop > 0 ? a.autoStop : c.options.autoStopSeconds;
  return c.withDatabase([&](pg::Connection& db) {
    // Before a port is taken or anything published: a start for an unknown edge has no topic
    // to go to, and one for an offline edge would hold its ports until it expires unanswered.
    if (auto refused = checkEdgeReachable(c, db, a.edge, a.evenIfOffline); !refused.empty()) {
      return c.fail(kExitFailed, refused);
    }
    const std::string id = envelope::Id::generate().str();
    std::string secret;
    if (a.mode == "stcp") {
      auto s = newStcpSecret();
      if (!s) {
        return c.fail(kExitFailed, s.error().describe());
      }
      secret = *s;
    }
    Sessions sessions(db, c.options);
    sessions.actAs(c.auditActor());  // the audit trail names the operator
    auto opened =
        sessions.open(a.edge, id, c.options.sender, *services, autoStop, c.clock.wallMs(), secret);
    if (!opened) {
      return c.fail(opened.error().status == Status::kConflict ? kExitFailed : kExitDatabase,
                    opened.error().describe());
    }
    return publishStart(c, a, db, sessions, *opened, id, autoStop, secret);
  });
}

std::string closeText(const SessionArgs& a, const std::string& id, const std::string& sid,
                      int result, const Record& r) {
  const std::string what = sid.empty() ? "edge " + a.edge + " (no live session was recorded)"
                                       : "session " + sid + " on edge " + a.edge;
  if (a.closeWait <= 0) {
    return "stop request " + id + " published for " + what + "\n";
  }
  if (result == kExitTimeout) {
    return "stop request " + id + " for " + what + ": no answer within " +
           std::to_string(a.closeWait) + " s\n";
  }
  if (result == kExitOk) {
    return what + ": frp stopped" + (sid.empty() ? " (the edge answered the stop 200)" : "") + "\n";
  }
  return what + ": the edge answered " + fieldText(r, "status_code") + " " +
         fieldText(r, "response_body") + "\n";
}

int sessionClose(const Context& c, const SessionArgs& a, pg::Connection& db) {
  Sessions sessions(db, c.options);
  auto live = sessions.live(a.edge);
  if (!live) {
    return c.fail(kExitDatabase, live.error().describe());
  }
  if (!*live && !a.force) {
    return c.fail(kExitFailed, "edge " + a.edge +
                                   " has no live session: nothing to close (no stop request "
                                   "published; --force sends one anyway)");
  }
  const std::string id = envelope::Id::generate().str();
  auto req = buildRequest(c, id, envelope::request_type::kChangeFrpClientConfig, "stop frp");
  envelope::FrpCommand cmd;
  cmd.action = envelope::FrpAction::kStop;
  (void)envelope::writeLegacyFrpBody(req, cmd);
  // Audited before it is published (the daemon may store the request first: one row per
  // request id and action, so the operator's stays); withdrawn when nothing went out.
  AuditEntry audit{a.edge, std::nullopt, id, audit_action::kClose, {}};
  if (*live) {
    audit.sessionId = (*live)->sessionId;
  }
  audit.detail.note = a.force ? "--force" : "";
  Requester requester(c, db);
  int result = auditedExchange(c, db, requester, audit, envelope::encode(req), a.closeWait);
  if (result != kExitOk && result != kExitTimeout) {
    return result;
  }
  Record r;
  if (int failed = requester.readBack(a.edge, id, "the stop request", r); failed != kExitOk) {
    return failed;
  }
  result = outcomeCode(result, a.closeWait, r);
  const std::string sid = *live ? std::to_string((*live)->sessionId) : std::string();
  r.push_back(sid.empty() ? nullField("session_id")
                          : numberField("session_id", (*live)->sessionId));
  c.showOne(r, closeText(a, id, sid, result, r));
  return result;
}

/// The flags of the printed visitor config (stcp).
void addVisitorFlags(CLI::App* cmd, const std::shared_ptr<SessionArgs>& a) {
  cmd->add_option("--visitor-token-file", a->visitorSettings.tokenFile,
                  "stcp visitor config: file the maintainer's frpc reads frps's token from")
      ->capture_default_str();
  cmd->add_option("--visitor-ca-file", a->visitorSettings.caFile,
                  "stcp visitor config: CA the maintainer's frpc verifies frps against");
  cmd->add_option("--visitor-bind-port", a->visitorSettings.firstBindPort,
                  "stcp visitor config: first local port (one per service, on 127.0.0.1)")
      ->check(CLI::Range(1, 65000))
      ->capture_default_str();
}

void addSessionOpenClose(Commands& cmds, const std::shared_ptr<SessionArgs>& a) {
  const Context& c = cmds.context();
  auto* session = cmds.group("session", "Open or close an frp session on an edge",
                             "cloud-dispatcher session open --edge elevator-0042");
  auto* open = cmds.add(
      "open", "Reserve pool ports, start frp, print how to connect",
      "cloud-dispatcher session open --edge elevator-0042 --services ssh --auto-stop 1h",
      [&c, a] { return sessionOpen(c, *a); }, session);
  open->add_option("--edge", a->edge, "Edge id (known and online: see --even-if-offline)")
      ->required();
  open->add_option("--services", a->services, "Services to expose (default: --default-services)")
      ->delimiter(',');
  open->add_option("--auto-stop", a->autoStop,
                   "Session length, at most 365d (default: the --auto-stop option)")
      ->transform(config::durationSeconds());
  config::durationDefault(
      open->add_option("--wait", a->openWait, "How long to wait for the edge (0: do not wait)")
          ->transform(config::durationSeconds()),
      a->openWait);
  open->add_flag("--even-if-offline", a->evenIfOffline,
                 "Open even when the edge's heartbeats say it is offline (an unknown edge is "
                 "still refused)");
  open->add_option("--mode", a->mode,
                   "tcp: a public port per service from the pool; stcp: no public port, prints "
                   "the frpc visitor config (with the session's secret) to reach the services")
      ->check(CLI::IsMember({"tcp", "stcp"}))
      ->capture_default_str();
  addVisitorFlags(open, a);
  auto* close = cmds.add(
      "close", "Stop frp on an edge", "cloud-dispatcher session close --edge elevator-0042",
      [&c, a] {
        if (auto problem = edgeIdProblem(a->edge); !problem.empty()) {
          return c.fail(kExitUsage, problem);
        }
        return c.withDatabase([&c, a](pg::Connection& db) { return sessionClose(c, *a, db); });
      },
      session);
  close->add_option("--edge", a->edge, "Edge id")->required();
  config::durationDefault(
      close->add_option("--wait", a->closeWait, "How long to wait for the edge (0: do not wait)")
          ->transform(config::durationSeconds()),
      a->closeWait);
  close->add_flag("--force", a->force,
                  "Publish the stop request even when no live session is recorded for the edge");
  addSessionExtend(cmds, session);
}

/// `sessions show ID --visitor`: a live stcp session's visitor config, again.
int showVisitor(const Context& c, const SessionArgs& a, pg::Connection& db) {
  auto rows = db.exec(
      "SELECT edge_id, state, mode, services::text, stcp_secret, ended_at IS NULL"
      " FROM sessions WHERE session_id = $1",
      {std::to_string(a.sessionId)});
  if (!rows) {
    return c.fail(exitCodeForDbError(rows.error()), rows.error().describe());
  }
  const std::string sid = "session " + std::to_string(a.sessionId);
  if (rows->empty()) {
    return c.fail(kExitNotFound, "no " + sid);
  }
  if (rows->str(0, 2) != "stcp" || rows->isNull(0, 4)) {
    return c.fail(kExitFailed,
                  sid + " is not an stcp session opened here: it has no visitor config");
  }
  if (!rows->boolean(0, 5)) {
    return c.fail(kExitFailed, sid + " has ended (" + rows->str(0, 1) +
                                   "): its secret no longer opens anything");
  }
  VisitorSettings vs = a.visitorSettings;
  vs.frpsHost = c.options.frpsHost;
  vs.frpsPort = static_cast<int>(c.options.frpsPort);
  const std::string config = visitorConfig(vs, rows->str(0, 0), a.sessionId,
                                           parseServicesJson(rows->str(0, 3)), rows->str(0, 4));
  Record r = {numberField("session_id", a.sessionId), stringField("edge_id", rows->str(0, 0)),
              stringField("secret_key", rows->str(0, 4)), stringField("visitor_config", config)};
  c.showOne(r, config);
  return kExitOk;
}

void addSessionsListShow(Commands& cmds, const std::shared_ptr<SessionArgs>& a) {
  const Context& c = cmds.context();
  auto* sessions =
      cmds.group("sessions", "List or show sessions", "cloud-dispatcher sessions list --active");
  auto* list = cmds.add(
      "list", "Sessions, newest first",
      "cloud-dispatcher sessions list --edge elevator-0042 --limit 10",
      [&c, a] {
        return c.withDatabase([&c, a](pg::Connection& db) {
          return c.show(listSessions(db, c.options, a->active, a->edge, c.limit),
                        {{"session_id", "ID"},
                         {"edge_id", "EDGE"},
                         {"state", "STATE"},
                         {"ports", "PORTS"},
                         {"opened_by", "OPENED BY", 20},
                         {"requested_at", "REQUESTED"},
                         {"expires_at", "EXPIRES"},
                         {"ended_at", "ENDED"},
                         {"end_reason", "REASON"}});
        });
      },
      sessions);
  list->add_flag("--active", a->active, "Only live sessions (opening or active)");
  list->add_option("--edge", a->edge, "Only this edge");
  list->add_option("--limit", cmds.context().limit, "At most this many")->capture_default_str();
  auto* show = cmds.add(
      "show", "One session", "cloud-dispatcher sessions show 42 --json",
      [&c, a] {
        return c.withDatabase([&c, a](pg::Connection& db) {
          if (a->visitor) {
            return showVisitor(c, *a, db);
          }
          auto records = showSession(db, c.options, a->sessionId);
          if (records && records->empty()) {
            return c.fail(kExitNotFound, "no session " + std::to_string(a->sessionId));
          }
          return c.show(records, {}, true);
        });
      },
      sessions);
  show->add_option("ID", a->sessionId, "Session id")->required();
  show->add_flag("--visitor", a->visitor,
                 "A live stcp session: print its frpc visitor config (with its secret) again");
  addVisitorFlags(show, a);
}

}  // namespace

void addSessionCommands(Commands& cmds) {
  auto a = std::make_shared<SessionArgs>();
  addSessionOpenClose(cmds, a);
  addSessionsListShow(cmds, a);
}

}  // namespace edgelink::dispatcher
