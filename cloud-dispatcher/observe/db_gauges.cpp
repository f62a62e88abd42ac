#include "observe/db_gauges.h"

#include <cstdlib>

namespace edgelink::dispatcher {
namespace {

/// A gauge read by the periodic query: its SQL expression (a scalar) and where it goes.
struct DbGaugeColumn {
  const char* expression;
  void (*assign)(DbGauges& g, double value);
};

const DbGaugeColumn kDbGaugeColumns[] = {
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
