#pragma once

// What the console's REST API reads from PostgreSQL (GET /api/v1/...), as JSON documents built
// by PostgreSQL itself (json_build_object, json_agg): timestamps in RFC 3339, one round trip per
// page, the total beside the page for paging through thousands of edges.

#include <cstdint>
#include <optional>
#include <string>

#include "core/result.h"
#include "db/pg.h"
#include "options.h"

namespace edgelink::dispatcher::web {

/// GET /api/v1/edges: a search (`q`: part of the edge id or host name), online/offline, one
/// label, a sort column, a page.
struct EdgeQuery {
  std::string q;
  std::optional<bool> online;
  std::string label;
  std::string sort = "edge_id";  ///< edge_id, last_seen, version, cluster, online
  bool descending = false;
  int64_t limit = 50;
  int64_t offset = 0;
};

/// "" when `sort` is a column edges can be sorted by, else what is expected.
std::string edgeSortProblem(const std::string& sort);

/// {"total": n, "items": [edge...]}.
Result<std::string> edgesJson(pg::Connection& db, const Options& options, const EdgeQuery& q);
/// One edge with first_seen, hostname and its latest system_info answer; nullopt: unknown edge.
Result<std::optional<std::string>> edgeJson(pg::Connection& db, const Options& options,
                                            const std::string& edge);
/// The edge's requests, newest first, with their answers: {"total", "items"}.
Result<std::string> edgeRequestsJson(pg::Connection& db, const std::string& edge, int64_t limit,
                                     int64_t offset);
/// The edge's session audit trail (who, when, what, why), newest first: {"total", "items"}.
Result<std::string> edgeAuditJson(pg::Connection& db, const std::string& edge, int64_t limit,
                                  int64_t offset);
/// Sessions, live ones first, then newest first: {"total", "items"}.
Result<std::string> sessionsJson(pg::Connection& db, bool activeOnly, const std::string& edge,
                                 int64_t limit, int64_t offset);
/// One session; nullopt: no such session.
Result<std::optional<std::string>> sessionJson(pg::Connection& db, int64_t sessionId);

}  // namespace edgelink::dispatcher::web
