#include "domain/sessions.h"
#include "envelope/frp_command.h"
#include "envelope/types.h"

// What the ingest's stored requests, answers and frp events do to sessions, inside its
// transaction. The rows themselves (creating, activating, ending) are in sessions.cpp.

namespace edgelink::dispatcher {

VoidResult Sessions::onStartRequested(const StartRequested& e) {
  auto existing = db_.exec("SELECT 1 FROM sessions WHERE edge_id = $1 AND request_id = $2",
                           {e.edgeId, e.requestId});
  if (!existing) {
    return existing.error();
  }
  auto live = this->live(e.edgeId, true);
  if (!live) {
    return live.error();
  }
  AuditEntry audit{e.edgeId, std::nullopt, e.requestId, audit_action::kOpen, {}};
  audit.detail.services = e.services;
  audit.detail.autoStopSeconds = e.autoStopSeconds;
  switch (decideStart(!existing->empty(), *live, e.services)) {
    case StartDecision::kIgnore:
      return {};  // recorded (and audited) by whoever opened it
    case StartDecision::kExtend:
      audit.sessionId = (*live)->sessionId;
      audit.action = audit_action::kExtend;
      return recordAudit(db_, audit, e.actor);
    case StartDecision::kReplace:
      // Recorded beside the live session, which ends only if the edge answers this start 200:
      // a start it refuses (stale, forbidden, failed) leaves the running session alone.
    case StartDecision::kCreate:
      break;
  }
  auto created = create(e.edgeId, e.requestId, e.sender, e.services, e.autoStopSeconds, "opening",
                        e.requestedAtMs, std::nullopt, std::nullopt);
  if (!created) {
    return created.error();
  }
  audit.sessionId = *created;
  return recordAudit(db_, audit, e.actor);
}

VoidResult Sessions::onStopRequested(const StopRequested& e) {
  auto live = this->live(e.edgeId);
  if (!live) {
    return live.error();
  }
  AuditEntry audit{e.edgeId, std::nullopt, e.requestId, audit_action::kClose, {}};
  if (*live) {
    audit.sessionId = (*live)->sessionId;
  }
  return recordAudit(db_, audit, e.actor);
}

VoidResult Sessions::onAnswered(const Answered& e) {
  auto live = this->live(e.edgeId, true);  // the edge's live session locked first
  if (!live) {
    return live.error();
  }
  if (e.command.action == envelope::FrpAction::kStop) {
    return onStopAnswered(e);
  }
  return onStartAnswered(e, *live);
}

VoidResult Sessions::onStopAnswered(const Answered& e) {
  if (e.statusCode < 200 || e.statusCode >= 300) {
    return {};
  }
  // The edge stops whatever runs: every session requested before the stop was sent ends.
  auto r = db_.exec(
      "UPDATE sessions SET state = 'closed', ended_at = now(), end_reason = $3,"
      " end_detail = NULLIF(concat_ws('; ', end_detail, $4::text), ''), updated_at = now()"
      " WHERE edge_id = $1 AND ended_at IS NULL"
      " AND requested_at <= to_timestamp($2::bigint / 1000.0)"
      " RETURNING session_id, edge_id, state, end_reason",
      {e.edgeId, std::to_string(e.sentAtMs), envelope::stop_reason::kRequested,
       "stop request " + e.requestId});
  if (!r) {
    return r.error();
  }
  noteEnded(envelope::stop_reason::kRequested, r->affected());
  return auditEnded(*r, audit_action::kEnd, "stop request " + e.requestId);
}

VoidResult Sessions::onStartAnswered(const Answered& e, const std::optional<LiveSession>& live) {
  const envelope::FrpCommand& cmd = e.command;
  const FrpInfo& info = e.info;
  const int code = e.statusCode;
  auto own = db_.exec(
      "SELECT session_id, ended_at IS NULL, auto_stop_s FROM sessions"
      " WHERE edge_id = $1 AND request_id = $2",
      {e.edgeId, e.requestId});
  if (!own) {
    return own.error();
  }
  const int64_t started = info.startedAtMs.value_or(e.answeredAtMs);
  if (code < 200 || code >= 300) {
    if (!own->empty() && own->boolean(0, 1)) {
      auto [state, reason] = failedStartOutcome(code);
      std::string detail = std::to_string(code) + (info.error.empty() ? "" : ": " + info.error);
      return end(own->int64(0, 0), state, reason, detail);
    }
    return {};
  }
  const std::string replacedBy = "replaced by request " + e.requestId;
  if (!own->empty()) {
    if (!own->boolean(0, 1)) {
      return revive(own->int64(0, 0), e.edgeId, e.requestId, started,
                    expiresAt(info, started, cmd.autoStopSeconds, options_.autoStopSeconds));
    }
    std::optional<int64_t> autoStop;
    if (!own->isNull(0, 2)) {
      autoStop = own->int64(0, 2);
    }
    // The edge runs this start now: a session with other ports it replaced has ended.
    if (auto r = endOtherActive(e.edgeId, own->int64(0, 0), replacedBy); !r) {
      return r;
    }
    return activate(own->int64(0, 0), started,
                    expiresAt(info, started, autoStop.value_or(options_.autoStopSeconds),
                              options_.autoStopSeconds));
  }
  Services services = info.services;
  if (services.empty()) {
    for (const auto& [name, port] : cmd.services) {
      services[name] = port;
    }
  }
  if (live && live->state == "active") {
    if (live->services == services) {  // an extension of the live session
      return activate(live->sessionId, started,
                      expiresAt(info, started, cmd.autoStopSeconds, options_.autoStopSeconds));
    }
    if (auto r = endOtherActive(e.edgeId, 0, replacedBy); !r) {
      return r;
    }
  }
  auto created =
      create(e.edgeId, e.requestId, e.sender, services, cmd.autoStopSeconds, "active", e.sentAtMs,
             started, expiresAt(info, started, cmd.autoStopSeconds, options_.autoStopSeconds));
  if (!created) {
    return created.error();
  }
  return {};
}

VoidResult Sessions::onFrpEvent(const FrpEventSeen& e) {
  auto live = this->live(e.edgeId, true);
  if (!live) {
    return live.error();
  }
  if (e.type == envelope::event_type::kFrpStopped) {
    auto [state, reason] = stoppedOutcome(e.info.stopReason);
    const std::string detail = "frp_stopped event " + e.eventId;
    if (e.info.requestId) {
      // The session the edge names ends (an opening start may have failed beside an active one).
      auto own = db_.exec(
          "SELECT session_id, ended_at IS NULL FROM sessions WHERE edge_id = $1 AND request_id = "
          "$2",
          {e.edgeId, *e.info.requestId});
      if (!own) {
        return own.error();
      }
      if (!own->empty()) {
        if (own->boolean(0, 1)) {
          return end(own->int64(0, 0), state, reason, detail);
        }
        // The sweeper may have ended it first (the dispatcher was behind): the edge knows why.
        auto r = db_.exec(
            "UPDATE sessions SET end_reason = $2, end_detail = concat_ws('; ', end_detail, "
            "$3::text),"
            " updated_at = now() WHERE session_id = $1 AND end_reason = 'expired'",
            {std::to_string(own->int64(0, 0)), reason, detail});
        if (!r) {
          return r.error();
        }
        return {};
      }
      // An id with no session of its own (an extension's, or a start this dispatcher never saw):
      // it is about the session the edge runs, if any.
    }
    if (*live && (*live)->state == "active" && frpStoppedEnds(**live, e.info, e.eventAtMs)) {
      return end((*live)->sessionId, state, reason, detail);
    }
    return {};
  }
  // frp_started
  const int64_t started = e.info.startedAtMs.value_or(e.eventAtMs);
  const int64_t expires = expiresAt(e.info, started, std::nullopt, options_.autoStopSeconds);
  const std::string detail = "frp_started event " + e.eventId;
  if (!e.info.requestId) {
    if (*live) {
      return activate((*live)->sessionId, started, expires);
    }
  } else {
    auto own = db_.exec(
        "SELECT session_id, ended_at IS NULL FROM sessions WHERE edge_id = $1 AND request_id = $2",
        {e.edgeId, *e.info.requestId});
    if (!own) {
      return own.error();
    }
    if (!own->empty()) {
      if (!own->boolean(0, 1)) {
        return {};  // that session ended already; the edge's later events will tell the rest
      }
      // frp runs this start: whatever other session was active is gone.
      if (auto r = endOtherActive(e.edgeId, own->int64(0, 0), detail); !r) {
        return r;
      }
      return activate(own->int64(0, 0), started, expires);
    }
    // An extension of the active session (no row of its own), resumed by the edge: it goes on.
    if (*live && frpStartedContinues(**live, e.info)) {
      return activate((*live)->sessionId, started, expires);
    }
    // frp started for a start we did not record: the active session (if any) is gone.
    if (auto r = endOtherActive(e.edgeId, 0, detail); !r) {
      return r;
    }
  }
  std::string requestId = e.info.requestId.value_or("event:" + e.eventId);
  auto created = create(e.edgeId, requestId, "edge", e.info.services, e.info.autoStopSeconds,
                        "active", started, started, expires);
  if (!created) {
    return created.error();
  }
  return {};
}

}  // namespace edgelink::dispatcher
