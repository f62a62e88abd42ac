#pragma once

// Each board's Kafka ACLs: `edges add` grants its principal READ, WRITE and DESCRIBE on its own
// topic and DESCRIBE on its agent's group (LITERAL, nothing else); `edges remove` revokes them,
// deletes the topic and forgets the board's key.

#include <string>
#include <vector>

#include "cli/context.h"
#include "clusters.h"
#include "kafka/acl.h"
#include "security/ed25519.h"

namespace edgelink::dispatcher {

/// The agent's consumer group.id: "edge-agent." + its edge id (edge-agent/agent_config.cpp).
inline const std::string kAgentGroupPrefix = "edge-agent.";

/// What a board's agent needs and no more: on its own topic DESCRIBE (metadata, ListOffsets),
/// READ (fetch from assigned partitions) and WRITE (its answers and events; with WRITE, Kafka
/// allows the idempotent producer's InitProducerId); DESCRIBE on its group edge-agent.<id>
/// (librdkafka finds the group's coordinator even for assigned partitions; the agent joins no
/// group and commits nothing).
std::vector<kafka::AclBinding> edgeAcls(const Options& o, const std::string& edgeId);

/// Grants the edge's ACLs as kafka-acls says. `outcome`: "granted", "off" or "no authorizer"
/// (auto on a cluster without one). Returns kExitOk or a printed failure (kExitKafka).
int grantEdgeAcls(const Context& c, const std::string& edgeId, std::string& outcome);

/// Creates the edge's topic on `route`'s cluster (edges add: this dispatcher's own; edges move:
/// the target): "created" or "exists" in `outcome`, or a printed failure (kExitKafka).
int createEdgeTopic(const Context& c, const std::string& id, const ClusterRoute& route,
                    std::string& outcome);

/// The columns `edges add` and `edges remove` both print: edge, topic, topic state, ACLs.
std::vector<Column> edgeTopicColumns();

/// Stores an edge's public key (the row made if missing), or clears it (`key` nullptr), and
/// tells the running daemons to forget the keys they hold. kExitOk or a printed failure.
int storeEdgeKey(const Context& c, pg::Connection& db, const std::string& id,
                 const security::PublicKey* key);

/// `edges remove ID...` under `edges`.
void addEdgesRemoveCommand(Commands& cmds, CLI::App* edges);
/// `edges move --edge ID --cluster NAME` under `edges` (cli/edges_move.cpp).
void addEdgesMoveCommand(Commands& cmds, CLI::App* edges);

}  // namespace edgelink::dispatcher
