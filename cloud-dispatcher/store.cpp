#include "store.h"

#include <algorithm>
#include <tuple>
#include <unordered_map>
#include <variant>

#include "copy_writer.h"
#include "core/logging.h"
#include "envelope/types.h"
#include "migrations.h"
#include "sessions.h"

namespace edgelink::dispatcher {
namespace {

const char* const kRequestColumns =
    "edge_id, id, id_is_number, type, sender, description, sent_at, seen_at, deadline, body,"
    " kafka_partition, kafka_offset";
const char* const kResponseColumns =
    "edge_id, id, sender, type, status_code, status, description, sent_at, received_at, body,"
    " kafka_partition, kafka_offset";
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

VoidResult copyInto(pg::Connection& db, const char* stage, const char* columns, CopyWriter& w) {
  return db.copyIn(std::string("COPY ") + stage + " (" + columns + ") FROM STDIN (FORMAT binary)",
                   w.finish());
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

// A session effect, ordered by the message that caused it.
struct Effect {
  std::string edge;
  int64_t offset = 0;
  int order = 0;  // a request's own effect before its answer's
  std::variant<StartRequested, Answered, FrpEventSeen> what;
};

}  // namespace

VoidResult Store::prepare(pg::Connection& db) const {
  const std::string ddl = stageDdl("stage_requests", "requests", kRequestColumns) + ";" +
                          stageDdl("stage_responses", "responses", kResponseColumns) + ";" +
                          stageDdl("stage_events", "events", kEventColumns) + ";" +
                          stageDdl("stage_rejected", "rejected_messages", kRejectedColumns) + ";" +
                          stageDdl("stage_edges", "edges", kEdgeColumns);
  return db.run(ddl);
}

Result<StoreStats> Store::write(pg::Connection& db, const Batch& batch) const {
  StoreStats stats;
  auto tx = pg::Transaction::begin(db);
  if (!tx) {
    return tx.error();
  }
  std::vector<Effect> effects;

  if (!batch.requests().empty()) {
    CopyWriter w;
    std::unordered_map<std::string, const RequestRow*> frpRequests;
    for (const auto& r : batch.requests()) {
      w.row(12);
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
      if (r.frp) {
        frpRequests[correlationKey(r.edgeId, r.id)] = &r;
      }
    }
    if (auto c = copyInto(db, "stage_requests", kRequestColumns, w); !c) {
      return c.error();
    }
    auto fresh = db.exec(std::string("WITH ins AS (INSERT INTO requests (") + kRequestColumns +
                         ") SELECT " + kRequestColumns +
                         " FROM stage_requests ON CONFLICT DO NOTHING RETURNING edge_id, id, type)"
                         " SELECT ins.edge_id, ins.id, s.edge_id IS NOT NULL FROM ins"
                         " LEFT JOIN responses s ON s.edge_id = ins.edge_id AND s.id = ins.id"
                         " WHERE ins.type IN " +
                         kFrpTypes);
    if (!fresh) {
      return fresh.error();
    }
    for (int i = 0; i < fresh->size(); ++i) {
      auto it = frpRequests.find(correlationKey(fresh->view(i, 0), fresh->view(i, 1)));
      if (it == frpRequests.end()) {
        continue;
      }
      const RequestRow& r = *it->second;
      if (r.frp->action == envelope::FrpAction::kStart) {
        StartRequested s{
            r.edgeId, r.id, r.sender, {}, r.frp->autoStopSeconds, std::min(r.sentAtMs, r.seenAtMs)};
        for (const auto& [name, port] : r.frp->services) {
          s.services[name] = port;
        }
        effects.push_back({r.edgeId, r.offset, 0, std::move(s)});
      }
      if (fresh->boolean(i, 2)) {  // its answer came first
        effects.push_back({r.edgeId, r.offset, 1, Answered{r.edgeId, r.id}});
      }
    }
  }

  if (!batch.responses().empty()) {
    CopyWriter w;
    std::unordered_map<std::string, int64_t> offsets;
    for (const auto& r : batch.responses()) {
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
    if (auto c = copyInto(db, "stage_responses", kResponseColumns, w); !c) {
      return c.error();
    }
    auto answered = db.exec(
        std::string("WITH ins AS (INSERT INTO responses (") + kResponseColumns + ") SELECT " +
        kResponseColumns +
        " FROM stage_responses ON CONFLICT DO NOTHING RETURNING edge_id, id, type, kafka_offset,"
        " pg_notify('" +
        kResponseChannel +
        "', json_build_object('edge_id', edge_id, 'id', id, 'status_code', status_code)::text))"
        " SELECT ins.edge_id, ins.id, ins.kafka_offset FROM ins JOIN requests r"
        " ON r.edge_id = ins.edge_id AND r.id = ins.id"
        " WHERE (ins.type IS NULL OR ins.type IN " +
        kFrpTypes + ") AND r.type IN " + kFrpTypes);
    if (!answered) {
      return answered.error();
    }
    for (int i = 0; i < answered->size(); ++i) {
      std::string edge = answered->str(i, 0);
      effects.push_back({edge, answered->int64(i, 2), 1, Answered{edge, answered->str(i, 1)}});
    }
  }

  if (!batch.events().empty()) {
    CopyWriter w;
    std::map<std::tuple<std::string, int32_t, int64_t>, const EventRow*> frpEvents;
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
      if (e.frp) {
        frpEvents[{e.edgeId, e.partition, e.offset}] = &e;
      }
    }
    if (auto c = copyInto(db, "stage_events", kEventColumns, w); !c) {
      return c.error();
    }
    auto fresh =
        db.exec(std::string("WITH ins AS (INSERT INTO events (") + kEventColumns + ") SELECT " +
                kEventColumns +
                " FROM stage_events ON CONFLICT DO NOTHING RETURNING edge_id, kafka_partition,"
                " kafka_offset, type, pg_notify('" +
                kEventChannel +
                "', json_build_object('edge_id', edge_id, 'seq', seq, 'type', type)::text))"
                " SELECT edge_id, kafka_partition, kafka_offset FROM ins"
                " WHERE type IN ('frp_started', 'frp_stopped')");
    if (!fresh) {
      return fresh.error();
    }
    for (int i = 0; i < fresh->size(); ++i) {
      auto it = frpEvents.find(
          {fresh->str(i, 0), static_cast<int32_t>(fresh->int64(i, 1)), fresh->int64(i, 2)});
      if (it == frpEvents.end()) {
        continue;
      }
      const EventRow& e = *it->second;
      effects.push_back(
          {e.edgeId, e.offset, 0, FrpEventSeen{e.edgeId, e.id, e.type, *e.frp, e.sentAtMs}});
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
    if (auto c = copyInto(db, "stage_rejected", kRejectedColumns, w); !c) {
      return c.error();
    }
    if (auto r =
            db.exec(std::string("INSERT INTO rejected_messages (") + kRejectedColumns +
                    ") SELECT " + kRejectedColumns + " FROM stage_rejected ON CONFLICT DO NOTHING");
        !r) {
      return r.error();
    }
  }

  auto edges = batch.edgeUpdates();
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
    if (auto c = copyInto(db, "stage_edges", kEdgeColumns, w); !c) {
      return c.error();
    }
    static const std::string upsert = edgeUpsertSql();
    if (auto r = db.exec(upsert); !r) {
      return r.error();
    }
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
  return stats;
}

}  // namespace edgelink::dispatcher
