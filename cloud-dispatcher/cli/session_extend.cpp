// session extend: a start with the active session's own ports, which the edge treats as moving
// its deadline (the session stays, with a new expires_at once the edge answers).

#include <memory>

#include "cli/audit.h"
#include "cli/context.h"
#include "cli/queries.h"
#include "cli/requester.h"
#include "config/cli_config.h"
#include "core/time_format.h"
#include "domain/sessions.h"
#include "envelope/frp_command.h"
#include "envelope/types.h"

namespace edgelink::dispatcher {
namespace {

struct ExtendArgs {
  std::string edge;
  int64_t autoStop = 0;
  int64_t wait = 30;
};

/// The edge's active tcp session (a refusal, printed, as the exit code otherwise).
int activeTcpSession(const Context& c, pg::Connection& db, const std::string& edge,
                     LiveSession& out) {
  Sessions sessions(db, c.options);
  auto live = sessions.live(edge);
  if (!live) {
    return c.fail(kExitDatabase, live.error().describe());
  }
  if (!*live || (*live)->state != "active") {
    return c.fail(kExitFailed, "edge " + edge +
                                   " has no active session to extend (`sessions list "
                                   "--edge " +
                                   edge + "`)");
  }
  bool stcp = (*live)->services.empty();
  for (const auto& entry : (*live)->services) {
    stcp = stcp || entry.second == 0;  // stcp: no public port (the secret is not re-sent)
  }
  if (stcp) {
    return c.fail(kExitFailed, "session " + std::to_string((*live)->sessionId) +
                                   " is an stcp session: it cannot be extended, open a new one");
  }
  out = **live;
  return kExitOk;
}

int sessionExtend(const Context& c, const ExtendArgs& a, pg::Connection& db) {
  LiveSession live;
  if (int refused = activeTcpSession(c, db, a.edge, live); refused != kExitOk) {
    return refused;
  }
  const int64_t autoStop = a.autoStop > 0 ? a.autoStop : c.options.autoStopSeconds;
  const std::string id = envelope::Id::generate().str();
  auto req = buildRequest(c, id, envelope::request_type::kChangeFrpClientConfig,
                          "extend frp session " + std::to_string(live.sessionId));
  envelope::FrpCommand cmd;
  cmd.action = envelope::FrpAction::kStart;
  for (const auto& [name, port] : live.services) {
    cmd.services[name] = static_cast<uint16_t>(port);
  }
  cmd.autoStopSeconds = autoStop;
  if (auto w = envelope::writeLegacyFrpBody(req, cmd); !w) {
    return c.fail(kExitUsage, w.error().describe());
  }
  // Audited before it is published, withdrawn when nothing went out (as `session close`).
  AuditEntry audit{a.edge, live.sessionId, id, audit_action::kExtend, {}};
  audit.detail.services = live.services;
  audit.detail.autoStopSeconds = autoStop;
  Requester requester(c, db);
  int result = auditedExchange(c, db, requester, audit, envelope::encode(req), a.wait);
  if (result != kExitOk && result != kExitTimeout) {
    return result;
  }
  Record r;
  if (int failed = requester.readBack(a.edge, id, "the extend request", r); failed != kExitOk) {
    return failed;
  }
  result = outcomeCode(result, a.wait, r);
  r.push_back(numberField("session_id", live.sessionId));
  std::string text = "session " + std::to_string(live.sessionId) + " on edge " + a.edge;
  if (a.wait <= 0) {
    text = "extend request " + id + " published for " + text;
  } else if (result == kExitTimeout) {
    text += ": no answer within " + std::to_string(a.wait) + " s";
  } else if (result == kExitOk) {
    auto s = showSession(db, c.options, live.sessionId);
    text += s && !s->empty()
                ? " is open until " + shortTimestamp(fieldText(s->front(), "expires_at")) + " UTC"
                : " extended";
  } else {
    text +=
        ": the edge answered " + fieldText(r, "status_code") + " " + fieldText(r, "response_body");
  }
  c.showOne(r, text + "\n");
  return result;
}

}  // namespace

void addSessionExtend(Commands& cmds, CLI::App* session) {
  const Context& c = cmds.context();
  auto a = std::make_shared<ExtendArgs>();
  auto* extend = cmds.add(
      "extend", "Move the active session's end: the same ports, a new auto-stop from now",
      "cloud-dispatcher session extend --edge elevator-0042 --auto-stop 2h",
      [&c, a] {
        if (auto problem = edgeIdProblem(a->edge); !problem.empty()) {
          return c.fail(kExitUsage, problem);
        }
        if (a->autoStop > envelope::kMaxAutoStopSeconds) {
          return c.fail(kExitUsage, "--auto-stop: at most 365d (" +
                                        std::to_string(envelope::kMaxAutoStopSeconds) +
                                        " s), got " + std::to_string(a->autoStop) + " s");
        }
        return c.withDatabase([&c, a](pg::Connection& db) { return sessionExtend(c, *a, db); });
      },
      session);
  extend->add_option("--edge", a->edge, "Edge id")->required();
  extend
      ->add_option("--auto-stop", a->autoStop,
                   "New session length from now, at most 365d (default: the --auto-stop option)")
      ->transform(config::durationSeconds());
  config::durationDefault(
      extend->add_option("--wait", a->wait, "How long to wait for the edge (0: do not wait)")
          ->transform(config::durationSeconds()),
      a->wait);
}

}  // namespace edgelink::dispatcher
