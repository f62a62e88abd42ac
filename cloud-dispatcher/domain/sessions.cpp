#include "domain/sessions.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>

#include "core/logging.h"
#include "envelope/frp_command.h"
#include "envelope/types.h"

namespace edgelink::dispatcher {
namespace {

std::string ms(int64_t v) {
  return std::to_string(v);
}

std::optional<std::string> optMs(std::optional<int64_t> v) {
  return v ? std::optional<std::string>(std::to_string(*v)) : std::nullopt;
}

LiveSession liveFromRow(const pg::Rows& rows, int row) {
  LiveSession s;
  s.sessionId = rows.int64(row, 0);
  s.requestId = rows.str(row, 1);
  s.state = rows.str(row, 2);
  s.services = parseServicesJson(rows.str(row, 3));
  s.requestedAtMs = rows.int64(row, 4);
  return s;
}

const char* kLiveColumns =
    "session_id, request_id, state, services::text, "
    "(extract(epoch FROM requested_at) * 1000)::bigint";

}  // namespace

// ---- database --------------------------------------------------------------------------------

Result<std::optional<LiveSession>> Sessions::live(const std::string& edgeId, bool forUpdate) {
  // The active session if there is one, else the newest start awaiting its answer.
  auto rows = db_.exec(std::string("SELECT ") + kLiveColumns +
                           " FROM sessions WHERE edge_id = $1 AND ended_at IS NULL"
                           " ORDER BY (state = 'active') DESC, requested_at DESC LIMIT 1" +
                           (forUpdate ? " FOR UPDATE" : ""),
                       {edgeId});
  if (!rows) {
    return rows.error();
  }
  if (rows->empty()) {
    return std::optional<LiveSession>();
  }
  return std::optional<LiveSession>(liveFromRow(*rows, 0));
}

Result<std::optional<int64_t>> Sessions::create(
    const std::string& edgeId, const std::string& requestId, const std::string& openedBy,
    const Services& services, std::optional<int64_t> autoStop, const std::string& state,
    int64_t requestedAtMs, std::optional<int64_t> startedAtMs, std::optional<int64_t> expiresAtMs) {
  auto ins = db_.exec(
      "INSERT INTO sessions (edge_id, request_id, opened_by, services, auto_stop_s, state,"
      " requested_at, started_at, expires_at)"
      " VALUES ($1, $2, $3, $4::jsonb, $5, $6, to_timestamp($7::bigint / 1000.0),"
      " to_timestamp($8::bigint / 1000.0), to_timestamp($9::bigint / 1000.0))"
      " ON CONFLICT DO NOTHING RETURNING session_id",
      {edgeId, requestId, openedBy, servicesJson(services), optMs(autoStop), state,
       ms(requestedAtMs), optMs(startedAtMs), optMs(expiresAtMs)});
  if (!ins) {
    return ins.error();
  }
  if (ins->empty()) {
    return std::optional<int64_t>();  // a concurrent writer recorded one first
  }
  int64_t id = ins->int64(0, 0);
  for (const auto& [service, port] : services) {
    auto p = db_.exec(
        "INSERT INTO session_ports (port, session_id, service) VALUES ($1, $2, $3)"
        " ON CONFLICT (port) DO NOTHING RETURNING port",
        {std::to_string(port), std::to_string(id), service});
    if (!p) {
      return p.error();
    }
    if (p->empty()) {
      log::get("dispatcher")
          ->warn("session {} on edge {}: port {} ({}) is already held by another live session", id,
                 edgeId, port, service);
      (void)db_.exec(
          "UPDATE sessions SET end_detail = concat_ws('; ', end_detail, $2::text) WHERE session_id "
          "= $1",
          {std::to_string(id),
           "port " + std::to_string(port) + " already held by another session"});
    }
  }
  return std::optional<int64_t>(id);
}

VoidResult Sessions::end(int64_t sessionId, const std::string& state, const std::string& reason,
                         const std::string& detail) {
  auto r = db_.exec(
      "UPDATE sessions SET state = $2, ended_at = now(), end_reason = $3,"
      " end_detail = NULLIF(concat_ws('; ', end_detail, NULLIF($4, '')), ''), updated_at = now()"
      " WHERE session_id = $1 AND ended_at IS NULL",
      {std::to_string(sessionId), state, reason, detail});
  if (!r) {
    return r.error();
  }
  return {};
}

VoidResult Sessions::endOtherActive(const std::string& edgeId, int64_t keepSessionId,
                                    const std::string& detail) {
  auto r = db_.exec(
      "UPDATE sessions SET state = 'closed', ended_at = now(), end_reason = $3,"
      " end_detail = NULLIF(concat_ws('; ', end_detail, NULLIF($4, '')), ''), updated_at = now()"
      " WHERE edge_id = $1 AND state = 'active' AND session_id <> $2",
      {edgeId, std::to_string(keepSessionId), envelope::stop_reason::kReplaced, detail});
  if (!r) {
    return r.error();
  }
  return {};
}

VoidResult Sessions::activate(int64_t sessionId, int64_t startedAtMs, int64_t expiresAtMs) {
  // The session this one replaces (other ports) has ended by now: take up any of its ports that
  // could not be claimed while it was live.
  auto ports = db_.exec(
      "INSERT INTO session_ports (port, session_id, service)"
      " SELECT value::int, session_id, key FROM sessions, jsonb_each_text(services)"
      " WHERE session_id = $1 AND ended_at IS NULL ON CONFLICT (port) DO NOTHING",
      {std::to_string(sessionId)});
  if (!ports) {
    return ports.error();
  }
  auto r = db_.exec(
      "UPDATE sessions SET state = 'active',"
      " started_at = COALESCE(started_at, to_timestamp($2::bigint / 1000.0)),"
      " expires_at = to_timestamp($3::bigint / 1000.0), updated_at = now()"
      " WHERE session_id = $1 AND ended_at IS NULL",
      {std::to_string(sessionId), ms(startedAtMs), ms(expiresAtMs)});
  if (!r) {
    return r.error();
  }
  return {};
}

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
  switch (decideStart(!existing->empty(), *live, e.services)) {
    case StartDecision::kIgnore:
    case StartDecision::kExtend:
      return {};
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
  return {};
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
      " AND requested_at <= to_timestamp($2::bigint / 1000.0)",
      {e.edgeId, ms(e.sentAtMs), envelope::stop_reason::kRequested, "stop request " + e.requestId});
  if (!r) {
    return r.error();
  }
  return {};
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

VoidResult Sessions::revive(int64_t sessionId, const std::string& edgeId,
                            const std::string& requestId, int64_t startedAtMs,
                            int64_t expiresAtMs) {
  // A success answer for a session the sweeper gave up on ('no_answer': the dispatcher was behind
  // or the edge slow): frp runs with its ports, so it is live again if they are still free. In a
  // savepoint: a port taken meanwhile must not fail the whole batch.
  auto s = db_.exec("SELECT end_reason, services::text FROM sessions WHERE session_id = $1",
                    {std::to_string(sessionId)});
  if (!s) {
    return s.error();
  }
  if (s->empty() || s->str(0, 0) != "no_answer") {
    log::get("dispatcher")
        ->warn("edge {}: start request {} answered after its session {} had ended", edgeId,
               requestId, sessionId);
    return {};
  }
  if (auto r = db_.run("SAVEPOINT revive"); !r) {
    return r;
  }
  auto attempt = [&]() -> VoidResult {
    auto u = db_.exec(
        "UPDATE sessions SET state = 'active', ended_at = NULL, end_reason = NULL,"
        " started_at = to_timestamp($2::bigint / 1000.0),"
        " expires_at = to_timestamp($3::bigint / 1000.0),"
        " end_detail = concat_ws('; ', end_detail, 'answered after the sweeper gave up'),"
        " updated_at = now() WHERE session_id = $1",
        {std::to_string(sessionId), ms(startedAtMs), ms(expiresAtMs)});
    if (!u) {
      return u.error();
    }
    for (const auto& [service, port] : parseServicesJson(s->str(0, 1))) {
      auto p = db_.exec("INSERT INTO session_ports (port, session_id, service) VALUES ($1, $2, $3)",
                        {std::to_string(port), std::to_string(sessionId), service});
      if (!p) {
        return p.error();
      }
    }
    return {};
  };
  if (auto r = attempt(); !r) {
    if (r.error().status != Status::kBadRequest) {
      return r;
    }
    log::get("dispatcher")
        ->error(
            "edge {}: session {} answered after it was given up, but its ports or the edge "
            "are taken now: {}",
            edgeId, sessionId, r.error().describe());
    return db_.run("ROLLBACK TO SAVEPOINT revive");
  }
  log::get("dispatcher")->info("edge {}: session {} answered late, live again", edgeId, sessionId);
  return db_.run("RELEASE SAVEPOINT revive");
}

Result<OpenedSession> Sessions::open(const std::string& edgeId, const std::string& requestId,
                                     const std::string& openedBy,
                                     const std::vector<std::string>& services,
                                     int64_t autoStopSeconds, int64_t nowMs) {
  const PortRange pool = options_.pool;
  uint64_t seed = static_cast<uint64_t>(nowMs) ^ std::hash<std::string>()(requestId);
  Error last(Status::kConflict, "no attempt made");
  for (int attempt = 0; attempt < 20; ++attempt) {
    auto tx = pg::Transaction::begin(db_);
    if (!tx) {
      return tx.error();
    }
    auto current = live(edgeId);
    if (!current) {
      return current.error();
    }
    if (*current) {
      std::string ports;
      for (const auto& [name, port] : (*current)->services) {
        ports += (ports.empty() ? "" : ", ") + name + " " + std::to_string(port);
      }
      return Error(Status::kConflict,
                   "edge " + edgeId + " already has session " +
                       std::to_string((*current)->sessionId) + " (" + (*current)->state + "; " +
                       ports + "): close it first with `session close --edge " + edgeId + "`");
    }
    auto usedRows = db_.exec("SELECT port FROM session_ports WHERE port BETWEEN $1 AND $2",
                             {std::to_string(pool.first), std::to_string(pool.last)});
    if (!usedRows) {
      return usedRows.error();
    }
    std::set<int> used;
    for (int i = 0; i < usedRows->size(); ++i) {
      used.insert(static_cast<int>(usedRows->int64(i, 0)));
    }
    auto ports = choosePorts(pool, used, services.size(), seed + static_cast<uint64_t>(attempt));
    if (ports.empty()) {
      return Error(Status::kConflict,
                   "the port pool " + std::to_string(pool.first) + "-" + std::to_string(pool.last) +
                       " has " + std::to_string(pool.size() - static_cast<int>(used.size())) +
                       " free ports, " + std::to_string(services.size()) + " needed");
    }
    Services chosen;
    for (size_t i = 0; i < services.size(); ++i) {
      chosen[services[i]] = ports[i];
    }
    auto ins = db_.exec(
        "INSERT INTO sessions (edge_id, request_id, opened_by, services, auto_stop_s, state,"
        " requested_at) VALUES ($1, $2, $3, $4::jsonb, $5, 'opening',"
        " to_timestamp($6::bigint / 1000.0)) RETURNING session_id",
        {edgeId, requestId, openedBy, servicesJson(chosen), std::to_string(autoStopSeconds),
         ms(nowMs)});
    if (!ins) {
      if (ins.error().field == pg::kUniqueViolation) {
        last = Error(Status::kConflict, "edge " + edgeId + " got a live session concurrently");
        continue;  // the next attempt reports it
      }
      return ins.error();
    }
    const int64_t id = ins->int64(0, 0);
    bool clash = false;
    for (const auto& [service, port] : chosen) {
      auto p = db_.exec("INSERT INTO session_ports (port, session_id, service) VALUES ($1, $2, $3)",
                        {std::to_string(port), std::to_string(id), service});
      if (!p) {
        if (p.error().field == pg::kUniqueViolation) {
          clash = true;  // a concurrent opener took it: roll back and choose again
          last = p.error();
          break;
        }
        return p.error();
      }
    }
    if (clash) {
      continue;
    }
    if (auto c = tx.value()->commit(); !c) {
      return c.error();
    }
    return OpenedSession{id, chosen};
  }
  return Error(Status::kConflict, "could not reserve ports after 20 attempts: " + last.message);
}

Result<int64_t> Sessions::sweep() {
  auto expired = db_.exec(
      "UPDATE sessions SET state = 'closed', ended_at = now(), end_reason = 'expired',"
      " end_detail = 'no frp_stopped event by expires_at + ' || $1 || ' s', updated_at = now()"
      " WHERE ended_at IS NULL AND state = 'active'"
      " AND expires_at < now() - make_interval(secs => $1::double precision)",
      {std::to_string(options_.sweepGraceSeconds)});
  if (!expired) {
    return expired.error();
  }
  auto unanswered = db_.exec(
      "UPDATE sessions SET state = 'failed', ended_at = now(), end_reason = 'no_answer',"
      " end_detail = 'no answer within the edges'' max age (' || $1 || ' s)', updated_at = now()"
      " WHERE ended_at IS NULL AND state = 'opening'"
      " AND requested_at < now() - make_interval(secs => $1::double precision)",
      {std::to_string(options_.edgeMaxAgeSeconds + options_.sweepGraceSeconds)});
  if (!unanswered) {
    return unanswered.error();
  }
  // A start that carried its own expires_at and timed out unanswered will never be acted on:
  // its session ends at once, freeing its ports (without expires_at the edge may still act
  // until its max age, above).
  auto timedOut = db_.exec(
      "UPDATE sessions s SET state = 'failed', ended_at = now(), end_reason = 'no_answer',"
      " end_detail = NULLIF(concat_ws('; ', s.end_detail, 'no answer by the start request''s"
      " deadline (past its expires_at ' || to_char(r.expires_at AT TIME ZONE 'UTC',"
      " 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') || ': the edge will not act on it)'), ''),"
      " updated_at = now() FROM requests r"
      " WHERE s.ended_at IS NULL AND s.state = 'opening' AND r.edge_id = s.edge_id"
      " AND r.id = s.request_id AND r.timed_out_at IS NOT NULL AND r.expires_at IS NOT NULL"
      " AND NOT EXISTS (SELECT 1 FROM responses x WHERE x.edge_id = r.edge_id AND x.id = r.id)");
  if (!timedOut) {
    return timedOut.error();
  }
  return expired->affected() + unanswered->affected() + timedOut->affected();
}

}  // namespace edgelink::dispatcher
