#include "observe/db_gauges.h"

#include <cstdlib>
#include <vector>

#include "envelope/types.h"

namespace edgelink::dispatcher {
namespace {

/// A gauge read by the periodic query: its SQL expression (a scalar) and where it goes.
struct DbGaugeColumn {
  std::string expression;
  void (*assign)(DbGauges& g, double value);
};

/// Edges whose agents' latest metrics are recent: within the deployment's offline-after.
constexpr const char* kRecentMetrics =
    " FROM edges WHERE agent_metrics IS NOT NULL AND agent_metrics_at > now() - make_interval("
    "secs => COALESCE((SELECT value::double precision FROM dispatcher_settings"
    " WHERE key = 'offline_after_seconds'), 180)))";

/// `aggregate` (sum or max) of the number at `path` (a jsonb path like 'frpc_starts' or
/// 'requests,ok') over the recent metrics; 0 when none. A value that is not a number (the
/// ingest stores validated metrics, so only a hand-edited row) counts as absent.
std::string fleetColumn(const char* aggregate, const std::string& path,
                        const char* transform = "") {
  const std::string value = "agent_metrics #> '{" + path + "}'";
  return std::string("(SELECT COALESCE(") + aggregate + "(" + transform +
         "(CASE WHEN jsonb_typeof(" + value + ") = 'number' THEN (" + value +
         ")::text::numeric END)), 0)" + kRecentMetrics;
}

namespace ro = envelope::request_outcome;

const std::vector<DbGaugeColumn> kDbGaugeColumns = {
    {"(SELECT count(*) FROM sessions WHERE state = 'active')",
     [](DbGauges& g, double v) { g.sessionsActive = static_cast<int64_t>(v); }},
    {"(SELECT count(*) FROM sessions WHERE state = 'opening')",
     [](DbGauges& g, double v) { g.sessionsOpening = static_cast<int64_t>(v); }},
    {"(SELECT COALESCE(extract(epoch FROM now() - min(requested_at)), 0) FROM sessions"
     " WHERE state = 'opening')",
     [](DbGauges& g, double v) { g.sessionsOpeningOldestSeconds = v; }},
    {"(SELECT count(*) FILTER (WHERE online) FROM edge_status)",
     [](DbGauges& g, double v) { g.edgesOnline = static_cast<int64_t>(v); }},
    {"(SELECT count(*) FILTER (WHERE NOT online) FROM edge_status)",
     [](DbGauges& g, double v) { g.edgesOffline = static_cast<int64_t>(v); }},
    {"(SELECT count(*) FROM edges WHERE last_heartbeat_at IS NULL"
     " OR last_heartbeat_at < now() - interval '1 hour')",
     [](DbGauges& g, double v) { g.edgesOfflineOver1h = static_cast<int64_t>(v); }},
    // Fleet aggregates of the agents' own counters (edges.agent_metrics, docs/PROTOCOL.md).
    {std::string("(SELECT count(*)") + kRecentMetrics,
     [](DbGauges& g, double v) { g.fleet.agentsReporting = static_cast<int64_t>(v); }},
    {fleetColumn("sum", std::string("requests,") + ro::kOk),
     [](DbGauges& g, double v) { g.fleet.requests[ro::kOk] = v; }},
    {fleetColumn("sum", std::string("requests,") + ro::kRejected),
     [](DbGauges& g, double v) { g.fleet.requests[ro::kRejected] = v; }},
    {fleetColumn("sum", std::string("requests,") + ro::kStale),
     [](DbGauges& g, double v) { g.fleet.requests[ro::kStale] = v; }},
    {fleetColumn("sum", std::string("requests,") + ro::kFailed),
     [](DbGauges& g, double v) { g.fleet.requests[ro::kFailed] = v; }},
    {fleetColumn("sum", std::string("requests,") + ro::kRedelivered),
     [](DbGauges& g, double v) { g.fleet.requests[ro::kRedelivered] = v; }},
    {fleetColumn("sum", "frpc_starts"), [](DbGauges& g, double v) { g.fleet.frpcStarts = v; }},
    {fleetColumn("sum", "frpc_unexpected_exits"),
     [](DbGauges& g, double v) { g.fleet.frpcUnexpectedExits = v; }},
    {fleetColumn("sum", "kafka_reconnects"),
     [](DbGauges& g, double v) { g.fleet.kafkaReconnects = v; }},
    {fleetColumn("sum", "outbox_depth"), [](DbGauges& g, double v) { g.fleet.outboxDepth = v; }},
    {fleetColumn("max", "outbox_depth"), [](DbGauges& g, double v) { g.fleet.outboxDepthMax = v; }},
    {fleetColumn("max", "rss_bytes"), [](DbGauges& g, double v) { g.fleet.rssBytesMax = v; }},
    {fleetColumn("max", "clock_offset_ms", "abs"),
     [](DbGauges& g, double v) { g.fleet.clockOffsetSecondsMax = v / 1000.0; }},
};

}  // namespace

std::string dbGaugesSql() {
  std::string sql = "SELECT (SELECT COALESCE(max(version), 0) FROM schema_migrations)";
  for (const auto& c : kDbGaugeColumns) {
    sql += ", ";
    sql += c.expression;
  }
  return sql;
}

Result<DbSnapshot> readDbGauges(pg::Connection& db) {
  static const std::string sql = dbGaugesSql();
  auto rows = db.exec(sql);
  if (!rows) {
    return rows.error();
  }
  DbSnapshot out;
  out.schemaVersion = static_cast<int>(rows->int64(0, 0));
  int col = 1;
  for (const auto& c : kDbGaugeColumns) {
    c.assign(out.gauges, std::strtod(rows->str(0, col++).c_str(), nullptr));
  }
  return out;
}

}  // namespace edgelink::dispatcher
