#include "cli/cluster_route.h"

namespace edgelink::dispatcher {
namespace {

Error unknownCluster(const std::string& edge, const Error& e) {
  return Error(e.status, "edge " + edge + ": " + e.message);
}

}  // namespace

Result<std::optional<std::string>> storedCluster(pg::Connection& db, const std::string& edge) {
  auto rows = db.exec("SELECT kafka_cluster FROM edges WHERE edge_id = $1", {edge});
  if (!rows) {
    return rows.error();
  }
  if (rows->empty()) {
    return std::optional<std::string>();
  }
  return rows->opt(0, 0);
}

Result<ClusterRoute> edgeRoute(pg::Connection& db, const Options& o, const std::string& edge) {
  const ClusterMap clusters = o.clusters();
  if (clusters.single()) {
    return clusters.resolve(std::nullopt);
  }
  auto stored = storedCluster(db, edge);
  if (!stored) {
    return stored.error();
  }
  auto route = clusters.resolve(*stored);
  if (!route) {
    return unknownCluster(edge, route.error());
  }
  return route;
}

Result<EdgesByCluster> groupByCluster(pg::Connection& db, const Options& o,
                                      const std::vector<std::string>& edges) {
  const ClusterMap clusters = o.clusters();
  std::map<std::string, std::string> stored;  // edge -> its named cluster
  if (!clusters.single()) {
    auto rows = db.exec(
        "SELECT edge_id, kafka_cluster FROM edges WHERE kafka_cluster IS NOT NULL AND "
        "kafka_cluster <> ''");
    if (!rows) {
      return rows.error();
    }
    for (int i = 0; i < rows->size(); ++i) {
      stored[rows->str(i, 0)] = rows->str(i, 1);
    }
  }
  EdgesByCluster out;
  std::map<std::string, size_t> groupOf;  // cluster name -> index in out.groups
  for (const auto& edge : edges) {
    auto it = stored.find(edge);
    auto route = clusters.resolve(it == stored.end() ? std::nullopt
                                                     : std::optional<std::string>(it->second));
    if (!route) {
      out.unknown.push_back(unknownCluster(edge, route.error()));
      continue;
    }
    auto [at, added] = groupOf.emplace(route->name, out.groups.size());
    if (added) {
      out.groups.emplace_back(*route, std::vector<std::string>{});
    }
    out.groups[at->second].second.push_back(edge);
  }
  return out;
}

}  // namespace edgelink::dispatcher
