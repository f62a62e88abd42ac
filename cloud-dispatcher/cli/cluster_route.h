#pragma once

// Which Kafka cluster the CLI publishes to for an edge: the one it was last heard on
// (edges.kafka_cluster, set by the dispatcher that ingested it) resolved with kafka-cluster and
// kafka-clusters (clusters.h). With kafka-clusters empty, every edge is on kafka-brokers and the
// database is not asked: a single-cluster deployment behaves as before.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "clusters.h"
#include "core/result.h"
#include "db/pg.h"
#include "options.h"

namespace edgelink::dispatcher {

/// The cluster of `edge` (an unknown edge, or one never heard: this dispatcher's own). An edge
/// on a cluster kafka-clusters does not name: kNotFound naming the edge, the cluster and the
/// option.
Result<ClusterRoute> edgeRoute(pg::Connection& db, const Options& o, const std::string& edge);

/// `edges` grouped by their cluster's name (own cluster first when named ""); the edges whose
/// cluster is unknown are left out, each with its error in `unknown`.
struct EdgesByCluster {
  std::vector<std::pair<ClusterRoute, std::vector<std::string>>> groups;
  std::vector<Error> unknown;
};
Result<EdgesByCluster> groupByCluster(pg::Connection& db, const Options& o,
                                      const std::vector<std::string>& edges);

/// The edge's cluster as stored (nullopt: NULL or no such edge).
Result<std::optional<std::string>> storedCluster(pg::Connection& db, const std::string& edge);

}  // namespace edgelink::dispatcher
