// The per-table writers of ingest/tables.h for what an edge reports about itself: events,
// the edges upsert, and the messages rejected unread. Requests and responses, which correlate,
// are in tables.cpp.
#include <algorithm>
#include <string_view>
#include <unordered_map>

#include "core/logging.h"
#include "db/migrations.h"
#include "envelope/types.h"
#include "ingest/tables.h"  // this file is half of tables.cpp: the one header for both

namespace edgelink::dispatcher::tables {

// ---- events -----------------------------------------------------------------------------------

// An offset is a key only with its cluster: a board moved to another cluster starts at 0 there.
const Table kEvents{"events", "stage_events",
                    "edge_id, kafka_cluster, kafka_partition, kafka_offset, id, type, sender,"
                    " description, sent_at, received_at, body",
                    "edge_id, kafka_cluster, kafka_partition, kafka_offset",
                    // seq in Kafka's order (a batch comes from one cluster)
                    "edge_id, kafka_partition, kafka_offset"};

namespace {

void addEventRow(CopyWriter& w, const EventRow& e, std::string_view cluster) {
  w.row(11);
  w.text(e.edgeId);
  w.text(cluster);
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

std::string eventKey(const std::string& edge, std::string_view cluster, int32_t partition,
                     int64_t offset) {
  return edge + '\0' + std::string(cluster) + '\0' + std::to_string(partition) + '\0' +
         std::to_string(offset);
}

}  // namespace

VoidResult writeEvents(Writing& w, const std::vector<EventRow>& events) {
  CopyWriter rows;
  for (const auto& e : events) {
    addEventRow(rows, e, w.kafkaCluster);
  }
  auto inserted = w.insert(kEvents, rows);
  if (!inserted) {
    return inserted.error();
  }
  size_t fresh = 0;
  for (const auto& e : events) {
    if (!inserted->has(eventKey(e.edgeId, w.kafkaCluster, e.partition, e.offset))) {
      continue;
    }
    ++fresh;
    if (e.frp) {
      w.effects.push_back(
          {e.edgeId, e.offset, 0, FrpEventSeen{e.edgeId, e.id, e.type, *e.frp, e.sentAtMs}});
    }
  }
  if (fresh == 0) {
    return {};
  }
  auto n = w.db.exec(std::string("SELECT pg_notify('") + kEventChannel +
                         "', row_to_json(p)::text) FROM (SELECT $1::int AS events) p",
                     {std::to_string(fresh)});
  if (!n) {
    return n.error();
  }
  return {};
}

// ---- rejected messages ------------------------------------------------------------------------

const Table kRejected{
    "rejected_messages", "stage_rejected",
    "kafka_cluster, topic, kafka_partition, kafka_offset, edge_id, received_at, status_code,"
    " field, reason, kind, message_id, sender, type, payload, payload_bytes, signature",
    "kafka_cluster, topic, kafka_partition, kafka_offset"};

namespace {

void addRejectedRow(CopyWriter& w, const RejectedRow& r, std::string_view cluster) {
  w.row(16);
  w.text(cluster);
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
  w.optText(r.signature);
}

}  // namespace

VoidResult writeRejected(Writing& w, const std::vector<RejectedRow>& rejected) {
  CopyWriter rows;
  for (const auto& r : rejected) {
    addRejectedRow(rows, r, w.kafkaCluster);
  }
  auto inserted = insertRows(w.db, kRejected, rows);  // a redelivered rejection is no news
  if (!inserted) {
    return inserted.error();
  }
  return {};
}

// ---- edges (an upsert through the stage: merged, never a conflict) ----------------------------

const Table kEdges{"edges", "stage_edges",
                   "edge_id, first_seen_at, last_seen_at, last_heartbeat_at, heartbeat_sent_at,"
                   " heartbeat_interval_s, uptime_s, frp_running, agent_version, hostname,"
                   " agent_started_at, stopped_at, agent_metrics, agent_metrics_at,"
                   " clock_offset_ms, config_version, kafka_cluster, kafka_cluster_at",
                   "edge_id"};

namespace {

void addEdgeRow(CopyWriter& w, const EdgeUpdate& u, std::string_view cluster) {
  w.row(18);
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
  if (u.agentMetricsJson) {
    w.jsonb(*u.agentMetricsJson);
  } else {
    w.null();
  }
  w.optTimestamp(u.agentMetricsMs);
  if (u.clockOffsetMs) {
    w.int8(*u.clockOffsetMs);
  } else {
    w.null();
  }
  if (u.configVersion) {
    w.int8(*u.configVersion);
  } else {
    w.null();
  }
  // Heard from the edge (not only a request to it): the cluster it was heard on, and when.
  if (u.lastSeenMs) {
    w.text(cluster);
    w.timestamp(*u.lastSeenMs);
  } else {
    w.null();
    w.null();
  }
}

/// GREATEST/LEAST merges, so redelivered and out-of-order batches converge to the same row.
std::string edgeUpsertSql() {
  const std::string newer =
      "(EXCLUDED.last_heartbeat_at IS NOT NULL AND EXCLUDED.last_heartbeat_at >= "
      "COALESCE(e.last_heartbeat_at, '-infinity'))";
  auto fromLatest = [](const char* col) {
    return std::string(col) +
           " = CASE WHEN EXCLUDED.kafka_cluster_at >= COALESCE(e.kafka_cluster_at, '-infinity')"
           " THEN EXCLUDED." +
           col + " ELSE e." + col + " END";
  };
  auto fromNewest = [&](const char* col) {
    return std::string(col) + " = CASE WHEN " + newer + " THEN COALESCE(EXCLUDED." + col + ", e." +
           col + ") ELSE e." + col + " END";
  };
  return std::string("INSERT INTO edges AS e (") + kEdges.columns + ") SELECT " + kEdges.columns +
         " FROM stage_edges ORDER BY edge_id ON CONFLICT (edge_id) DO UPDATE SET"
         " first_seen_at = LEAST(e.first_seen_at, EXCLUDED.first_seen_at),"
         " last_seen_at = GREATEST(e.last_seen_at, EXCLUDED.last_seen_at), " +
         fromNewest("heartbeat_sent_at") + ", " + fromNewest("heartbeat_interval_s") + ", " +
         fromNewest("uptime_s") + ", " + fromNewest("frp_running") + ", " +
         fromNewest("agent_version") + ", " + fromNewest("config_version") +
         // Not coalesced: a newer heartbeat without it (a restarted agent) makes it unknown.
         ", clock_offset_ms = CASE WHEN " + newer +
         " THEN EXCLUDED.clock_offset_ms ELSE e.clock_offset_ms END" +
         ", last_heartbeat_at = GREATEST(e.last_heartbeat_at, EXCLUDED.last_heartbeat_at),"
         " hostname = CASE WHEN EXCLUDED.agent_started_at >= COALESCE(e.agent_started_at,"
         " '-infinity') THEN COALESCE(EXCLUDED.hostname, e.hostname) ELSE e.hostname END,"
         " agent_started_at = GREATEST(e.agent_started_at, EXCLUDED.agent_started_at),"
         " stopped_at = GREATEST(e.stopped_at, EXCLUDED.stopped_at),"
         " agent_metrics = CASE WHEN EXCLUDED.agent_metrics_at >= COALESCE(e.agent_metrics_at,"
         " '-infinity') THEN EXCLUDED.agent_metrics ELSE e.agent_metrics END,"
         " agent_metrics_at = GREATEST(e.agent_metrics_at, EXCLUDED.agent_metrics_at), " +
         // The cluster of the newest message heard: a dispatcher still reading a board's older
         // messages on the cluster it left does not move it back.
         fromLatest("kafka_cluster") + ", " + fromLatest("kafka_cluster_at");
}

}  // namespace

VoidResult writeEdges(Writing& w, const std::vector<EdgeUpdate>& edges) {
  CopyWriter rows;
  for (const auto& u : edges) {
    addEdgeRow(rows, u, w.kafkaCluster);
  }
  if (auto c = w.db.copyIn(copySql(kEdges.stage, kEdges.columns), rows.finish()); !c) {
    return c;
  }
  static const std::string upsert = edgeUpsertSql();
  if (auto r = w.db.exec(upsert); !r) {
    return r.error();
  }
  w.stats.edgesWritten = edges.size();
  return {};
}

}  // namespace edgelink::dispatcher::tables
