#pragma once

// The Kafka clusters of a deployment (docs/DISPATCHER.md, kafka-clusters): one dispatcher process
// runs per cluster, each knowing the others by name, so the CLI can publish to an edge on the
// cluster it was last heard on and move it to another. Pure: no I/O.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/cli_config.h"
#include "core/result.h"

namespace edgelink::dispatcher {

/// True for cluster names matching [A-Za-z0-9._-]{1,64}.
bool isClusterName(const std::string& name);

/// kafka-clusters' NAME=BOOTSTRAP entries by name. Every bad entry is a problem naming `key`:
/// no '=', an empty or ill-formed name, an empty bootstrap, a name given twice, or `ownName`
/// (this dispatcher's own cluster, whose bootstrap is kafka-brokers).
std::map<std::string, std::string> parseKafkaClusters(const std::vector<std::string>& entries,
                                                      const std::string& ownName,
                                                      const std::string& key,
                                                      config::Problems& problems);

/// Where a cluster is: its name ("" for an unnamed own cluster) and bootstrap servers.
struct ClusterRoute {
  std::string name;
  std::string bootstrap;
  bool own = false;  ///< this dispatcher's own cluster (kafka-brokers and its client settings)
};

/// The clusters this dispatcher knows: its own (name `ownName`, bootstrap `ownBrokers`) and
/// `others` (kafka-clusters).
class ClusterMap {
 public:
  ClusterMap(std::string ownName, std::string ownBrokers, std::map<std::string, std::string> others)
      : ownName_(std::move(ownName)),
        ownBrokers_(std::move(ownBrokers)),
        others_(std::move(others)) {}

  /// An edge's cluster as edges.kafka_cluster says: nullopt (never heard), "" or the own name
  /// resolve to the own cluster; a name of kafka-clusters to its bootstrap; any other name is an
  /// error (kNotFound) naming it and kafka-clusters.
  Result<ClusterRoute> resolve(const std::optional<std::string>& cluster) const;
  /// A cluster an operator names (`edges move --cluster`): the own cluster's name or one of
  /// kafka-clusters; anything else (even "") is an error (kBadRequest) naming `what`.
  Result<ClusterRoute> named(const std::string& name, const std::string& what) const;
  /// "a (this dispatcher), b, c" for messages.
  std::string known() const;
  bool single() const { return others_.empty(); }

 private:
  std::string ownName_;
  std::string ownBrokers_;
  std::map<std::string, std::string> others_;
};

}  // namespace edgelink::dispatcher
