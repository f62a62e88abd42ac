#include "ingest/store.h"

#include <algorithm>
#include <optional>
#include <tuple>
#include <unordered_set>
#include <variant>

#include "core/logging.h"
#include "db/migrations.h"
#include "domain/sessions.h"
#include "envelope/frp_command.h"
#include "envelope/types.h"
#include "ingest/copy_writer.h"

namespace edgelink::dispatcher {

const char* const kResponseColumns =
    "edge_id, id, sender, type, status_code, status, description, sent_at, received_at, body,"
    " kafka_partition, kafka_offset";

void addResponseRow(CopyWriter& w, const ResponseRow& r) {
  w.row(12);
  w.text(r.edgeId);
  w.text(r.id);
  w.text(r.sender);
  w.textOrNull(r.type);
  w.int4(r.statusCode);
  w.textOrNull(r.status);
  w.textOrNull(r.description);
  w.timestamp(r.sentAtMs);
  w.timestamp(r.receivedAtMs);
  w.jsonb(r.bodyJson);
  w.int4(r.partition);
  w.int8(r.offset);
}

const char* const kNotifyResponsesSql =
    "SELECT count(pg_notify('edgelink_response', row_to_json(p)::text)) FROM (SELECT u.edge_id,"
    " u.id, u.status_code, CASE WHEN u.status_code BETWEEN 200 AND 299 THEN 'succeeded'"
    " WHEN u.status_code = 408 THEN 'stale' ELSE 'failed' END AS state"
    " FROM unnest($1::text[], $2::text[], $3::int[]) WITH ORDINALITY AS u(edge_id, id,"
    " status_code, n) ORDER BY u.n) p";

Result<TimeoutSweep> sweepTimeouts(pg::Connection& db, int64_t limit) {
  // One statement, so one transaction: the due deadlines leave the work list, the unanswered
  // requests among them are marked, and each marked one is notified -- or none of it happens.
  static const std::string sql =
      "WITH due AS (DELETE FROM request_deadlines WHERE ctid = ANY(ARRAY("
      "  SELECT ctid FROM request_deadlines WHERE deadline < now() ORDER BY deadline LIMIT $1"
      "  FOR UPDATE SKIP LOCKED)) RETURNING edge_id, id),"
      " marked AS (UPDATE requests r SET timed_out_at = now()"
      "  FROM (SELECT DISTINCT edge_id, id FROM due) d"
      "  WHERE r.edge_id = d.edge_id AND r.id = d.id AND r.timed_out_at IS NULL"
      "  AND NOT EXISTS (SELECT 1 FROM responses s WHERE s.edge_id = r.edge_id AND s.id = r.id)"
      "  RETURNING r.edge_id, r.id, r.deadline)"
      " SELECT (SELECT count(*) FROM due),"
      " (SELECT count(pg_notify('" +
      std::string(kResponseChannel) +
      "', row_to_json(p)::text)) FROM (SELECT m.edge_id, m.id, NULL::int AS status_code,"
      "  'timeout' AS state FROM marked m ORDER BY m.deadline, m.edge_id, m.id) p)";
  TimeoutSweep total;
  for (;;) {
    auto rows = db.exec(sql, {std::to_string(limit)});
    if (!rows) {
      return rows.error();
    }
    const int64_t swept = rows->int64(0, 0);
    total.swept += swept;
    total.timedOut += rows->int64(0, 1);
    if (swept < limit) {
      return total;
    }
  }
}

namespace {

const char* const kRequestColumns =
    "edge_id, id, id_is_number, type, sender, description, sent_at, seen_at, deadline, body,"
    " kafka_partition, kafka_offset, expires_at";
const char* const kDeadlineColumns = "edge_id, id, deadline";
const char* const kEventColumns =
    "edge_id, kafka_partition, kafka_offset, id, type, sender, description, sent_at, received_at,"
    " body";
const char* const kRejectedColumns =
    "topic, kafka_partition, kafka_offset, edge_id, received_at, status_code, field, reason, kind,"
    " message_id, sender, type, payload, payload_bytes";
const char* const kEdgeColumns =
    "edge_id, first_seen_at, last_seen_at, last_heartbeat_at, heartbeat_sent_at,"
    " heartbeat_interval_s, uptime_s, frp_running, agent_version, hostname, agent_started_at,"
    " stopped_at";

const char* const kFrpTypes = "('change_frp_client_config', 'frp_start', 'frp_stop')";

std::string stageDdl(const char* stage, const char* table, const char* columns) {
  return std::string("CREATE TEMP TABLE IF NOT EXISTS ") + stage +
         " ON COMMIT DELETE ROWS AS SELECT " + columns + " FROM " + table + " WITH NO DATA";
}

std::string edgeUpsertSql() {
  const std::string newer =
      "(EXCLUDED.last_heartbeat_at IS NOT NULL AND EXCLUDED.last_heartbeat_at >= "
      "COALESCE(e.last_heartbeat_at, '-infinity'))";
  auto fromNewest = [&](const char* col) {
    return std::string(col) + " = CASE WHEN " + newer + " THEN COALESCE(EXCLUDED." + col + ", e." +
           col + ") ELSE e." + col + " END";
  };
  return std::string("INSERT INTO edges AS e (") + kEdgeColumns + ") SELECT " + kEdgeColumns +
         " FROM stage_edges ORDER BY edge_id ON CONFLICT (edge_id) DO UPDATE SET"
         " first_seen_at = LEAST(e.first_seen_at, EXCLUDED.first_seen_at),"
         " last_seen_at = GREATEST(e.last_seen_at, EXCLUDED.last_seen_at), " +
         fromNewest("heartbeat_sent_at") + ", " + fromNewest("heartbeat_interval_s") + ", " +
         fromNewest("uptime_s") + ", " + fromNewest("frp_running") + ", " +
         fromNewest("agent_version") +
         ", last_heartbeat_at = GREATEST(e.last_heartbeat_at, EXCLUDED.last_heartbeat_at),"
         " hostname = CASE WHEN EXCLUDED.agent_started_at >= COALESCE(e.agent_started_at,"
         " '-infinity') THEN COALESCE(EXCLUDED.hostname, e.hostname) ELSE e.hostname END,"
         " agent_started_at = GREATEST(e.agent_started_at, EXCLUDED.agent_started_at),"
         " stopped_at = GREATEST(e.stopped_at, EXCLUDED.stopped_at)";
}

/// Which rows of a table part were new: all of them (COPY went straight in) or these keys.
struct Inserted {
  bool all = true;
  std::unordered_set<std::string> keys;
  bool has(const std::string& key) const { return all || keys.count(key) != 0; }
};

/// COPY straight into `table`; on a unique violation back to the savepoint and through `stage`
/// with ON CONFLICT DO NOTHING, returning the new rows' keys (`keyColumns`, joined with NUL).
Result<Inserted> insertRows(pg::Connection& db, const char* table, const char* stage,
                            const char* columns, CopyWriter& w, const char* keyColumns) {
  const std::string_view data = w.finish();
  if (auto r = db.run("SAVEPOINT straight"); !r) {
    return r.error();
  }
  auto copied = db.copyIn(
      std::string("COPY ") + table + " (" + columns + ") FROM STDIN (FORMAT binary)", data);
  if (copied) {
    if (auto r = db.run("RELEASE SAVEPOINT straight"); !r) {
      return r.error();
    }
    return Inserted{};
  }
  if (copied.error().field != pg::kUniqueViolation) {
    return copied.error();
  }
  if (auto r = db.run("ROLLBACK TO SAVEPOINT straight"); !r) {
    return r.error();
  }
  if (auto r = db.copyIn(
          std::string("COPY ") + stage + " (" + columns + ") FROM STDIN (FORMAT binary)", data);
      !r) {
    return r.error();
  }
  auto rows = db.exec(std::string("INSERT INTO ") + table + " (" + columns + ") SELECT " + columns +
                      " FROM " + stage + " ON CONFLICT DO NOTHING RETURNING " + keyColumns);
  if (!rows) {
    return rows.error();
  }
  Inserted out;
  out.all = false;
  for (int i = 0; i < rows->size(); ++i) {
    std::string key;
    for (int c = 0; c < rows->columns(); ++c) {
      if (c > 0) {
        key.push_back('\0');
      }
      key.append(rows->view(i, c));
    }
    out.keys.insert(std::move(key));
  }
  return out;
}

std::string eventKey(const std::string& edge, int32_t partition, int64_t offset) {
  return edge + '\0' + std::to_string(partition) + '\0' + std::to_string(offset);
}

/// Of these (edge, id) pairs, those whose row exists in `table` with `condition`.
Result<std::unordered_set<std::string>> existing(pg::Connection& db, const char* table,
                                                 const char* condition,
                                                 const std::vector<std::string>& edges,
                                                 const std::vector<std::string>& ids) {
  std::unordered_set<std::string> out;
  if (edges.empty()) {
    return out;
  }
  auto rows = db.exec(std::string("SELECT t.edge_id, t.id FROM ") + table +
                          " t JOIN unnest($1::text[], $2::text[]) AS k(edge_id, id)"
                          " ON t.edge_id = k.edge_id AND t.id = k.id WHERE " +
                          condition,
                      {textArrayLiteral(edges), textArrayLiteral(ids)});
  if (!rows) {
    return rows.error();
  }
  for (int i = 0; i < rows->size(); ++i) {
    out.insert(correlationKey(rows->view(i, 0), rows->view(i, 1)));
  }
  return out;
}

// A session effect, ordered by the message that caused it.
struct Effect {
  std::string edge;
  int64_t offset = 0;
  int order = 0;  // a request's own effect before its answer's
  std::variant<StartRequested, Answered, FrpEventSeen> what;
};

}  // namespace

std::string textArrayLiteral(const std::vector<std::string>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) {
      out.push_back(',');
    }
    out.push_back('"');
    for (char c : values[i]) {
      if (c == '"' || c == '\\') {
        out.push_back('\\');
      }
      out.push_back(c);
    }
    out.push_back('"');
  }
  out.push_back('}');
  return out;
}

VoidResult Store::prepare(pg::Connection& db) {
  edgesWritten_.clear();
  const std::string ddl = stageDdl("stage_requests", "requests", kRequestColumns) + ";" +
                          stageDdl("stage_responses", "responses", kResponseColumns) + ";" +
                          stageDdl("stage_events", "events", kEventColumns) + ";" +
                          stageDdl("stage_rejected", "rejected_messages", kRejectedColumns) + ";" +
                          stageDdl("stage_edges", "edges", kEdgeColumns);
  return db.run(ddl);
}

Result<StoreStats> Store::write(pg::Connection& db, const Batch& batch) {
  StoreStats stats;
  auto tx = pg::Transaction::begin(db);
  if (!tx) {
    return tx.error();
  }
  std::vector<Effect> effects;

  if (!batch.requests().empty()) {
    CopyWriter w;
    for (const auto& r : batch.requests()) {
      w.row(13);
      w.text(r.edgeId);
      w.text(r.id);
      w.boolean(r.idIsNumber);
      w.text(r.type);
      w.text(r.sender);
      w.textOrNull(r.description);
      w.timestamp(r.sentAtMs);
      w.timestamp(r.seenAtMs);
      w.timestamp(r.deadlineMs);
      w.jsonb(r.bodyJson);
      if (r.offset >= 0) {
        w.int4(r.partition);
        w.int8(r.offset);
      } else {
        w.null();
        w.null();
      }
      w.optTimestamp(r.expiresAtMs);
    }
    auto inserted = insertRows(db, "requests", "stage_requests", kRequestColumns, w, "edge_id, id");
    if (!inserted) {
      return inserted.error();
    }
    stats.redelivered = stats.redelivered || !inserted->all;
    // The sweeper's work list: every new request until its deadline (answered or not).
    CopyWriter deadlines;
    size_t deadlineRows = 0;
    for (const auto& r : batch.requests()) {
      if (inserted->has(correlationKey(r.edgeId, r.id))) {
        deadlines.row(3);
        deadlines.text(r.edgeId);
        deadlines.text(r.id);
        deadlines.timestamp(r.deadlineMs);
        ++deadlineRows;
      }
    }
    if (deadlineRows > 0) {
      if (auto c = db.copyIn(std::string("COPY request_deadlines (") + kDeadlineColumns +
                                 ") FROM STDIN (FORMAT binary)",
                             deadlines.finish());
          !c) {
        return c.error();
      }
    }
    std::vector<const RequestRow*> frp;
    std::vector<std::string> edges;
    std::vector<std::string> ids;
    for (const auto& r : batch.requests()) {
      if (r.frp && inserted->has(correlationKey(r.edgeId, r.id))) {
        frp.push_back(&r);
        edges.push_back(r.edgeId);
        ids.push_back(r.id);
      }
    }
    // Their answers may have come first.
    auto answered = existing(db, "responses", "true", edges, ids);
    if (!answered) {
      return answered.error();
    }
    for (const RequestRow* r : frp) {
      if (r->frp->action == envelope::FrpAction::kStart) {
        StartRequested s{r->edgeId,
                         r->id,
                         r->sender,
                         {},
                         r->frp->autoStopSeconds,
                         std::min(r->sentAtMs, r->seenAtMs)};
        for (const auto& [name, port] : r->frp->services) {
          s.services[name] = port;
        }
        effects.push_back({r->edgeId, r->offset, 0, std::move(s)});
      }
      if (answered->count(correlationKey(r->edgeId, r->id)) != 0) {
        effects.push_back({r->edgeId, r->offset, 1, Answered{r->edgeId, r->id}});
      }
    }
  }

  if (!batch.responses().empty()) {
    CopyWriter w;
    for (const auto& r : batch.responses()) {
      addResponseRow(w, r);
    }
    auto inserted =
        insertRows(db, "responses", "stage_responses", kResponseColumns, w, "edge_id, id");
    if (!inserted) {
      return inserted.error();
    }
    stats.redelivered = stats.redelivered || !inserted->all;
    std::vector<const ResponseRow*> fresh;
    std::vector<std::string> edges;
    std::vector<std::string> ids;
    for (const auto& r : batch.responses()) {
      if (!inserted->has(correlationKey(r.edgeId, r.id))) {
        continue;
      }
      fresh.push_back(&r);
      // Answers that echo a non-frp type need no look at their request.
      if (r.type.empty() || envelope::isFrpCommandType(r.type)) {
        edges.push_back(r.edgeId);
        ids.push_back(r.id);
      }
    }
    auto frpAnswers =
        existing(db, "requests", (std::string("t.type IN ") + kFrpTypes).c_str(), edges, ids);
    if (!frpAnswers) {
      return frpAnswers.error();
    }
    for (const ResponseRow* r : fresh) {
      if (frpAnswers->count(correlationKey(r->edgeId, r->id)) != 0) {
        effects.push_back({r->edgeId, r->offset, 1, Answered{r->edgeId, r->id}});
      }
    }
    // Waiters LISTEN: one notification per new response, or one for a large batch.
    if (!fresh.empty()) {
      Result<pg::Rows> n = pg::Rows();
      if (fresh.size() <= kNotifyEachUpTo) {
        std::vector<std::string> notifyEdges;
        std::vector<std::string> notifyIds;
        std::vector<std::string> codes;
        for (const ResponseRow* r : fresh) {
          notifyEdges.push_back(r->edgeId);
          notifyIds.push_back(r->id);
          codes.push_back(std::to_string(r->statusCode));
        }
        n = db.exec(kNotifyResponsesSql, {textArrayLiteral(notifyEdges),
                                          textArrayLiteral(notifyIds), textArrayLiteral(codes)});
      } else {
        n = db.exec(std::string("SELECT pg_notify('") + kResponseChannel +
                        "', row_to_json(p)::text) FROM (SELECT true AS batch,"
                        " $1::int AS responses) p",
                    {std::to_string(fresh.size())});
      }
      if (!n) {
        return n.error();
      }
    }
  }

  if (!batch.events().empty()) {
    CopyWriter w;
    for (const auto& e : batch.events()) {
      w.row(10);
      w.text(e.edgeId);
      w.int4(e.partition);
      w.int8(e.offset);
      w.text(e.id);
      w.text(e.type);
      w.text(e.sender);
      w.textOrNull(e.description);
      w.timestamp(e.sentAtMs);
      w.timestamp(e.receivedAtMs);
      w.jsonb(e.bodyJson);
    }
    auto inserted = insertRows(db, "events", "stage_events", kEventColumns, w,
                               "edge_id, kafka_partition, kafka_offset");
    if (!inserted) {
      return inserted.error();
    }
    stats.redelivered = stats.redelivered || !inserted->all;
    size_t fresh = 0;
    for (const auto& e : batch.events()) {
      if (!inserted->has(eventKey(e.edgeId, e.partition, e.offset))) {
        continue;
      }
      ++fresh;
      if (e.frp) {
        effects.push_back(
            {e.edgeId, e.offset, 0, FrpEventSeen{e.edgeId, e.id, e.type, *e.frp, e.sentAtMs}});
      }
    }
    if (fresh > 0) {
      auto n = db.exec(std::string("SELECT pg_notify('") + kEventChannel +
                           "', row_to_json(p)::text) FROM (SELECT $1::int AS events) p",
                       {std::to_string(fresh)});
      if (!n) {
        return n.error();
      }
    }
  }

  if (!batch.rejected().empty()) {
    CopyWriter w;
    for (const auto& r : batch.rejected()) {
      w.row(14);
      w.text(r.topic);
      w.int4(r.partition);
      w.int8(r.offset);
      w.optText(r.edgeId);
      w.timestamp(r.receivedAtMs);
      w.int4(r.statusCode);
      w.textOrNull(r.field);
      w.text(r.reason);
      w.textOrNull(r.kind);
      w.textOrNull(r.messageId);
      w.textOrNull(r.sender);
      w.textOrNull(r.type);
      w.bytea(r.payload);
      w.int4(static_cast<int32_t>(r.payloadBytes));
    }
    auto inserted = insertRows(db, "rejected_messages", "stage_rejected", kRejectedColumns, w,
                               "topic, kafka_partition, kafka_offset");
    if (!inserted) {
      return inserted.error();
    }
  }

  std::vector<EdgeUpdate> edges;
  for (auto& u : batch.edgeUpdates()) {
    auto it = edgesWritten_.find(u.edgeId);
    if (edgeWriteNeeded(
            u, it == edgesWritten_.end() ? std::nullopt : std::optional<int64_t>(it->second))) {
      edges.push_back(std::move(u));
    }
  }
  if (!edges.empty()) {
    CopyWriter w;
    for (const auto& u : edges) {
      w.row(12);
      w.text(u.edgeId);
      w.timestamp(u.firstSeenMs);
      w.optTimestamp(u.lastSeenMs);
      w.optTimestamp(u.lastHeartbeatMs);
      w.optTimestamp(u.heartbeatSentMs);
      if (u.intervalSeconds) {
        w.int4(static_cast<int32_t>(*u.intervalSeconds));
      } else {
        w.null();
      }
      if (u.uptimeSeconds) {
        w.float8(*u.uptimeSeconds);
      } else {
        w.null();
      }
      if (u.frpRunning) {
        w.boolean(*u.frpRunning);
      } else {
        w.null();
      }
      w.optText(u.agentVersion);
      w.optText(u.hostname);
      w.optTimestamp(u.agentStartedMs);
      w.optTimestamp(u.stoppedMs);
    }
    if (auto c = db.copyIn(
            std::string("COPY stage_edges (") + kEdgeColumns + ") FROM STDIN (FORMAT binary)",
            w.finish());
        !c) {
      return c.error();
    }
    static const std::string upsert = edgeUpsertSql();
    if (auto r = db.exec(upsert); !r) {
      return r.error();
    }
    stats.edgesWritten = edges.size();
  }

  if (!effects.empty()) {
    std::stable_sort(effects.begin(), effects.end(), [](const Effect& a, const Effect& b) {
      return std::tie(a.edge, a.offset, a.order) < std::tie(b.edge, b.offset, b.order);
    });
    Sessions sessions(db, options_);
    for (const auto& e : effects) {
      VoidResult r;
      if (const auto* s = std::get_if<StartRequested>(&e.what)) {
        r = sessions.onStartRequested(*s);
      } else if (const auto* a = std::get_if<Answered>(&e.what)) {
        r = sessions.onAnswered(*a);
      } else {
        r = sessions.onFrpEvent(std::get<FrpEventSeen>(e.what));
      }
      if (!r) {
        return r.error();
      }
      ++stats.sessionEffects;
    }
  }

  if (auto c = tx.value()->commit(); !c) {
    return c.error();
  }
  for (const auto& u : edges) {
    int64_t& seen = edgesWritten_[u.edgeId];
    seen = std::max(seen, u.lastSeenMs.value_or(0));
  }
  return stats;
}

}  // namespace edgelink::dispatcher
