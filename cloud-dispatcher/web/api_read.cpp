#include "web/api_read.h"

#include <map>

namespace edgelink::dispatcher::web {
namespace {

const std::map<std::string, std::string>& sortColumns() {
  static const std::map<std::string, std::string> columns = {
      {"edge_id", "edge_id"},       {"last_seen", "last_heartbeat_at"},
      {"version", "agent_version"}, {"cluster", "cluster"},
      {"online", "online"},
  };
  return columns;
}

/// One edge as the API shows it (a subquery's row `e` of edges, `$1` the offline-after seconds).
const char* const kEdgeItem =
    "json_build_object('edge_id', x.edge_id, 'online', x.online, 'last_seen', x.last_heartbeat_at,"
    " 'agent_version', x.agent_version, 'hostname', x.hostname, 'cluster', x.cluster,"
    " 'labels', (SELECT COALESCE(json_agg(l.label ORDER BY l.label), '[]'::json)"
    "   FROM edge_labels l WHERE l.edge_id = x.edge_id),"
    " 'session', (SELECT json_build_object('session_id', s.session_id, 'state', s.state,"
    "   'mode', s.mode, 'ports', s.services, 'expires_at', s.expires_at,"
    "   'opened_by', s.opened_by) FROM sessions s WHERE s.edge_id = x.edge_id"
    "   AND s.ended_at IS NULL))";

const char* const kEdgeRows =
    "SELECT e.*, COALESCE(e.kafka_cluster, '') AS cluster,"
    " (e.last_heartbeat_at IS NOT NULL"
    "  AND e.last_heartbeat_at > now() - make_interval(secs => $1::float8)"
    "  AND (e.stopped_at IS NULL OR e.stopped_at < e.last_heartbeat_at)) AS online"
    " FROM edges e";

std::string escapeLike(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '%' || c == '_' || c == '\\') {
      out.push_back('\\');
    }
    out.push_back(c);
  }
  return out;
}

Result<std::string> one(pg::Connection& db, const std::string& sql, const pg::Params& params) {
  auto rows = db.exec(sql, params);
  if (!rows) {
    return rows.error();
  }
  return rows->str(0, 0);
}

Result<std::optional<std::string>> maybeOne(pg::Connection& db, const std::string& sql,
                                            const pg::Params& params) {
  auto rows = db.exec(sql, params);
  if (!rows) {
    return rows.error();
  }
  if (rows->empty() || rows->isNull(0, 0)) {
    return std::optional<std::string>();
  }
  return std::optional<std::string>(rows->str(0, 0));
}

/// {"total": count of `from`, "items": `item` of each row of `from`, ordered, paged}.
std::string page(const std::string& from, const std::string& item, const std::string& order,
                 const std::string& limitParam, const std::string& offsetParam) {
  return "SELECT json_build_object('total', (SELECT count(*) FROM (" + from +
         ") c), 'items', COALESCE((SELECT json_agg(" + item +
         " ORDER BY n) FROM (SELECT x.*,"
         " row_number() OVER (ORDER BY " +
         order + ") AS n FROM (" + from + ") x ORDER BY " + order + " LIMIT " + limitParam +
         " OFFSET " + offsetParam + ") x), '[]'::json))";
}

}  // namespace

std::string edgeSortProblem(const std::string& sort) {
  if (sortColumns().count(sort) > 0) {
    return {};
  }
  return "sort: expected edge_id, last_seen, version, cluster or online";
}

Result<std::string> edgesJson(pg::Connection& db, const Options& options, const EdgeQuery& q) {
  const std::string dir = q.descending ? " DESC NULLS LAST" : " ASC NULLS LAST";
  const std::string order = "x." + sortColumns().at(q.sort) + dir + ", x.edge_id" + dir;
  const std::string from =
      std::string("SELECT * FROM (") + kEdgeRows +
      ") e WHERE ($2 = '' OR e.edge_id ILIKE '%' || $2 || '%' OR e.hostname ILIKE '%' || $2 ||"
      " '%') AND ($3 = '' OR e.online = ($3 = 'true')) AND ($4 = '' OR EXISTS (SELECT 1 FROM"
      " edge_labels l WHERE l.edge_id = e.edge_id AND l.label = $4))";
  return one(db, page(from, kEdgeItem, order, "$5", "$6"),
             {std::to_string(options.offlineAfterSeconds), escapeLike(q.q),
              q.online ? (*q.online ? "true" : "false") : "", q.label, std::to_string(q.limit),
              std::to_string(q.offset)});
}

Result<std::optional<std::string>> edgeJson(pg::Connection& db, const Options& options,
                                            const std::string& edge) {
  return maybeOne(
      db,
      std::string("SELECT (") + kEdgeItem +
          "::jsonb || jsonb_build_object('first_seen', x.first_seen_at, 'uptime_s', x.uptime_s,"
          " 'frp_running', x.frp_running, 'agent_started_at', x.agent_started_at,"
          " 'heartbeat_interval_s', x.heartbeat_interval_s, 'clock_offset_ms',"
          " x.clock_offset_ms, 'system', (SELECT json_build_object('answered_at', s.received_at,"
          " 'body', s.body) FROM requests r JOIN responses s ON s.edge_id = r.edge_id AND"
          " s.id = r.id WHERE r.edge_id = x.edge_id AND r.type = 'system_info' AND"
          " s.status_code BETWEEN 200 AND 299 ORDER BY s.received_at DESC LIMIT 1)))::text FROM (" +
          kEdgeRows + ") x WHERE x.edge_id = $2",
      {std::to_string(options.offlineAfterSeconds), edge});
}

Result<std::string> edgeRequestsJson(pg::Connection& db, const std::string& edge, int64_t limit,
                                     int64_t offset) {
  const std::string from =
      "SELECT r.id, r.type, r.sender, r.description, r.sent_at, r.deadline, r.body,"
      " s.status_code, s.status, s.received_at AS answered_at, s.body AS response_body,"
      " CASE WHEN s.status_code BETWEEN 200 AND 299 THEN 'succeeded'"
      "  WHEN s.status_code = 408 THEN 'stale' WHEN s.status_code IS NOT NULL THEN 'failed'"
      "  WHEN r.deadline < now() THEN 'timeout' ELSE 'pending' END AS state"
      " FROM requests r LEFT JOIN responses s ON s.edge_id = r.edge_id AND s.id = r.id"
      " WHERE r.edge_id = $1";
  const std::string item =
      "json_build_object('request_id', x.id, 'type', x.type, 'sender', x.sender,"
      " 'description', x.description, 'requested_at', x.sent_at, 'deadline', x.deadline,"
      " 'body', x.body, 'state', x.state, 'status_code', x.status_code, 'status', x.status,"
      " 'answered_at', x.answered_at, 'response_body', x.response_body)";
  return one(db, page(from, item, "x.sent_at DESC, x.id DESC", "$2", "$3"),
             {edge, std::to_string(limit), std::to_string(offset)});
}

Result<std::string> edgeAuditJson(pg::Connection& db, const std::string& edge, int64_t limit,
                                  int64_t offset) {
  const std::string from = "SELECT * FROM session_audit WHERE edge_id = $1";
  const std::string item =
      "json_build_object('id', x.id, 'at', x.at, 'session_id', x.session_id, 'request_id',"
      " x.request_id, 'action', x.action, 'actor', x.actor, 'actor_kind', x.actor_kind,"
      " 'detail', x.detail)";
  return one(db, page(from, item, "x.at DESC, x.id DESC", "$2", "$3"),
             {edge, std::to_string(limit), std::to_string(offset)});
}

namespace {

const char* const kSessionItem =
    "json_build_object('session_id', x.session_id, 'edge_id', x.edge_id, 'state', x.state,"
    " 'mode', x.mode, 'ports', x.services, 'opened_by', x.opened_by, 'request_id',"
    " x.request_id, 'requested_at', x.requested_at, 'started_at', x.started_at, 'expires_at',"
    " x.expires_at, 'ended_at', x.ended_at, 'end_reason', x.end_reason, 'end_detail',"
    " x.end_detail, 'auto_stop_s', x.auto_stop_s, 'live', x.ended_at IS NULL)";

}  // namespace

Result<std::string> sessionsJson(pg::Connection& db, bool activeOnly, const std::string& edge,
                                 int64_t limit, int64_t offset) {
  const std::string from =
      "SELECT * FROM sessions WHERE ($1 = 'false' OR ended_at IS NULL) AND ($2 = '' OR"
      " edge_id = $2)";
  return one(db,
             page(from, kSessionItem, "(x.ended_at IS NULL) DESC, x.session_id DESC", "$3", "$4"),
             {activeOnly ? "true" : "false", edge, std::to_string(limit), std::to_string(offset)});
}

Result<std::optional<std::string>> sessionJson(pg::Connection& db, int64_t sessionId) {
  return maybeOne(
      db, std::string("SELECT ") + kSessionItem + "::text FROM sessions x WHERE x.session_id = $1",
      {std::to_string(sessionId)});
}

}  // namespace edgelink::dispatcher::web
