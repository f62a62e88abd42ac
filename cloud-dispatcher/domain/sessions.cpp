#include "domain/sessions.h"

#include <functional>

#include "core/logging.h"
#include "envelope/frp_command.h"
#include "envelope/types.h"

// The session rows: looked up, created, activated, revived and ended; opened by the CLI with
// ports from the pool; swept. What the ingest's requests, answers and frp events do to them is in
// session_ingest.cpp.

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

/// A session another sender started (seen by the ingest) is stcp when it has services but no
/// ports (its secret stays with that sender).
bool isStcp(const Services& services) {
  if (services.empty()) {
    return false;
  }
  for (const auto& entry : services) {
    if (entry.second != 0) {
      return false;
    }
  }
  return true;
}

/// open()'s refusal when the edge has a live session.
Error alreadyLive(const std::string& edgeId, const LiveSession& live) {
  std::string ports;
  for (const auto& [name, port] : live.services) {
    ports += (ports.empty() ? "" : ", ") + name + " " + std::to_string(port);
  }
  return Error(Status::kConflict, "edge " + edgeId + " already has session " +
                                      std::to_string(live.sessionId) + " (" + live.state + "; " +
                                      ports + "): close it first with `session close --edge " +
                                      edgeId + "`");
}

/// The ports of `pool` live sessions hold.
Result<std::set<int>> portsInUse(pg::Connection& db, const PortRange& pool) {
  auto rows = db.exec("SELECT port FROM session_ports WHERE port BETWEEN $1 AND $2",
                      {std::to_string(pool.first), std::to_string(pool.last)});
  if (!rows) {
    return rows.error();
  }
  std::set<int> used;
  for (int i = 0; i < rows->size(); ++i) {
    used.insert(static_cast<int>(rows->int64(i, 0)));
  }
  return used;
}

constexpr const char* kEndedColumns = " RETURNING session_id, edge_id, state, end_reason";

}  // namespace

VoidResult Sessions::auditEnded(const pg::Rows& ended, const char* action,
                                const std::string& note) {
  for (int i = 0; i < ended.size(); ++i) {
    AuditEntry e{ended.str(i, 1), ended.int64(i, 0), std::nullopt, action, {}};
    e.detail.state = ended.str(i, 2);
    e.detail.reason = ended.str(i, 3);
    e.detail.note = note;
    if (auto r = recordAudit(db_, e, actor_); !r) {
      return r;
    }
  }
  return {};
}

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
      " requested_at, started_at, expires_at, mode)"
      " VALUES ($1, $2, $3, $4::jsonb, $5, $6, to_timestamp($7::bigint / 1000.0),"
      " to_timestamp($8::bigint / 1000.0), to_timestamp($9::bigint / 1000.0), $10)"
      " ON CONFLICT DO NOTHING RETURNING session_id",
      {edgeId, requestId, openedBy, servicesJson(services), optMs(autoStop), state,
       ms(requestedAtMs), optMs(startedAtMs), optMs(expiresAtMs),
       isStcp(services) ? "stcp" : "tcp"});
  if (!ins) {
    return ins.error();
  }
  if (ins->empty()) {
    return std::optional<int64_t>();  // a concurrent writer recorded one first
  }
  int64_t id = ins->int64(0, 0);
  for (const auto& [service, port] : services) {
    if (port == 0) {
      continue;  // stcp: no public port to hold
    }
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
  if (state == "active") {
    noteOpened(1);
  }
  return std::optional<int64_t>(id);
}

VoidResult Sessions::end(int64_t sessionId, const std::string& state, const std::string& reason,
                         const std::string& detail) {
  auto r = db_.exec(
      "UPDATE sessions SET state = $2, ended_at = now(), end_reason = $3,"
      " end_detail = NULLIF(concat_ws('; ', end_detail, NULLIF($4, '')), ''), updated_at = now()"
      " WHERE session_id = $1 AND ended_at IS NULL" +
          std::string(kEndedColumns),
      {std::to_string(sessionId), state, reason, detail});
  if (!r) {
    return r.error();
  }
  noteEnded(reason, r->affected());
  return auditEnded(*r, audit_action::kEnd, detail);
}

VoidResult Sessions::endOtherActive(const std::string& edgeId, int64_t keepSessionId,
                                    const std::string& detail) {
  auto r = db_.exec(
      "UPDATE sessions SET state = 'closed', ended_at = now(), end_reason = $3,"
      " end_detail = NULLIF(concat_ws('; ', end_detail, NULLIF($4, '')), ''), updated_at = now()"
      " WHERE edge_id = $1 AND state = 'active' AND session_id <> $2" +
          std::string(kEndedColumns),
      {edgeId, std::to_string(keepSessionId), envelope::stop_reason::kReplaced, detail});
  if (!r) {
    return r.error();
  }
  noteEnded(envelope::stop_reason::kReplaced, r->affected());
  return auditEnded(*r, audit_action::kEnd, detail);
}

VoidResult Sessions::activate(int64_t sessionId, int64_t startedAtMs, int64_t expiresAtMs) {
  // The session this one replaces (other ports) has ended by now: take up any of its ports that
  // could not be claimed while it was live.
  auto ports = db_.exec(
      "INSERT INTO session_ports (port, session_id, service)"
      " SELECT value::int, session_id, key FROM sessions, jsonb_each_text(services)"
      " WHERE session_id = $1 AND ended_at IS NULL AND value::int <> 0"  // 0: stcp, no port
      " ON CONFLICT (port) DO NOTHING",
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
  noteOpened(r->affected());
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
      if (port == 0) {
        continue;  // stcp: no public port
      }
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
                                     int64_t autoStopSeconds, int64_t nowMs,
                                     const std::string& stcpSecret) {
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
      return alreadyLive(edgeId, **current);
    }
    const bool stcp = !stcpSecret.empty();
    auto used = stcp ? Result<std::set<int>>(std::set<int>()) : portsInUse(db_, pool);
    if (!used) {
      return used.error();
    }
    auto ports =
        stcp ? std::vector<int>(services.size(), 0)
             : choosePorts(pool, *used, services.size(), seed + static_cast<uint64_t>(attempt));
    if (ports.empty() && !services.empty()) {
      return Error(Status::kConflict,
                   "the port pool " + std::to_string(pool.first) + "-" + std::to_string(pool.last) +
                       " has " + std::to_string(pool.size() - static_cast<int>(used->size())) +
                       " free ports, " + std::to_string(services.size()) + " needed");
    }
    Services chosen;
    for (size_t i = 0; i < services.size(); ++i) {
      chosen[services[i]] = ports[i];
    }
    auto ins = db_.exec(
        "INSERT INTO sessions (edge_id, request_id, opened_by, services, auto_stop_s, state,"
        " requested_at, mode, stcp_secret) VALUES ($1, $2, $3, $4::jsonb, $5, 'opening',"
        " to_timestamp($6::bigint / 1000.0), $7, $8) RETURNING session_id",
        {edgeId, requestId, openedBy, servicesJson(chosen), std::to_string(autoStopSeconds),
         ms(nowMs), stcp ? "stcp" : "tcp",
         stcp ? std::optional<std::string>(stcpSecret) : std::nullopt});
    if (!ins) {
      if (ins.error().field == pg::kUniqueViolation) {
        last = Error(Status::kConflict, "edge " + edgeId + " got a live session concurrently");
        continue;  // the next attempt reports it
      }
      return ins.error();
    }
    const int64_t id = ins->int64(0, 0);
    bool clash = false;
    for (const auto& [service, port] : stcp ? Services() : chosen) {
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
    AuditEntry audit{edgeId, id, requestId, audit_action::kOpen, {}};
    audit.detail.services = chosen;
    audit.detail.autoStopSeconds = autoStopSeconds;
    audit.detail.mode = stcp ? "stcp" : "tcp";
    if (auto a = recordAudit(db_, audit, actor_); !a) {
      return a.error();
    }
    if (auto c = tx.value()->commit(); !c) {
      return c.error();
    }
    return OpenedSession{id, chosen};
  }
  return Error(Status::kConflict, "could not reserve ports after 20 attempts: " + last.message);
}

Result<int64_t> Sessions::sweep() {
  auto tx = pg::Transaction::begin(db_);  // the ends and their audit rows together
  if (!tx) {
    return tx.error();
  }
  auto expired = db_.exec(
      "UPDATE sessions SET state = 'closed', ended_at = now(), end_reason = 'expired',"
      " end_detail = 'no frp_stopped event by expires_at + ' || $1 || ' s', updated_at = now()"
      " WHERE ended_at IS NULL AND state = 'active'"
      " AND expires_at < now() - make_interval(secs => $1::double precision)" +
          std::string(kEndedColumns),
      {std::to_string(options_.sweepGraceSeconds)});
  if (!expired) {
    return expired.error();
  }
  auto unanswered = db_.exec(
      "UPDATE sessions SET state = 'failed', ended_at = now(), end_reason = 'no_answer',"
      " end_detail = 'no answer within the edges'' max age (' || $1 || ' s)', updated_at = now()"
      " WHERE ended_at IS NULL AND state = 'opening'"
      " AND requested_at < now() - make_interval(secs => $1::double precision)" +
          std::string(kEndedColumns),
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
      " AND NOT EXISTS (SELECT 1 FROM responses x WHERE x.edge_id = r.edge_id AND x.id = r.id)"
      " RETURNING s.session_id, s.edge_id, s.state, s.end_reason");
  if (!timedOut) {
    return timedOut.error();
  }
  for (const pg::Rows* ended : {&*expired, &*unanswered, &*timedOut}) {
    if (auto a = auditEnded(*ended, audit_action::kExpire, "the sweeper"); !a) {
      return a.error();
    }
  }
  if (auto c = tx.value()->commit(); !c) {
    return c.error();
  }
  noteEnded("expired", expired->affected());
  noteEnded("no_answer", unanswered->affected() + timedOut->affected());
  return expired->affected() + unanswered->affected() + timedOut->affected();
}

}  // namespace edgelink::dispatcher
