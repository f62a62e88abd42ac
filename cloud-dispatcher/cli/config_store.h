#pragma once

// The CLI's side of remote configuration (docs/REMOTE-CONFIG.md): parsing `KEY=VALUE` arguments
// against the remote/local split, and the SQL of `config set/unset/show/push` and `edges label`
// over migration 13's tables (config_scopes, config_values, edge_labels, edges.config_version).

#include <CLI/CLI.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cli/context.h"
#include "clusters.h"
#include "core/result.h"
#include "db/pg.h"
#include "domain/remote_config.h"
#include "security/ed25519.h"

namespace edgelink::dispatcher {

/// One remote value to store: the key and its JSON text.
struct ConfigAssignment {
  std::string key;
  std::string json;
};

/// `KEY=VALUE`: VALUE as JSON when it parses as JSON (30, "x", true), else as a JSON string
/// (debug -> "debug"); then checked with config::checkRemoteValue. An error (kBadRequest)
/// names the argument and the key.
Result<ConfigAssignment> parseAssignment(const std::string& argument);
/// A KEY to unset: a remote key (an unknown or local-only key is refused, naming it).
VoidResult checkUnsetKey(const std::string& key);

/// The edges carrying `label`, in order.
Result<std::vector<std::string>> edgesWithLabel(pg::Connection& db, const std::string& label);
/// True when `edge` is a row of edges.
Result<bool> edgeKnown(pg::Connection& db, const std::string& edge);

/// In one transaction, per scope: upsert `values` (set_by `actor`), delete `unset`, and give the
/// scope the next config_version (updated_by `actor`). Returns each scope's new version and, in
/// `removed`, how many values were deleted in all.
Result<std::vector<int64_t>> changeScopes(pg::Connection& db,
                                          const std::vector<std::string>& scopes,
                                          const std::vector<ConfigAssignment>& values,
                                          const std::vector<std::string>& unset,
                                          const std::string& actor, int64_t& removed);

/// One stored value as seen by an edge: from its own scope ("edge") or the fleet's ("fleet").
struct ConfigEntry {
  std::string key;
  std::string json;
  std::string source;  ///< "edge" or "fleet"
  std::string setAt;   ///< RFC 3339
  std::string setBy;
};

/// What `config show` shows for a scope.
struct ScopeConfig {
  std::vector<ConfigEntry> entries;       ///< by key
  int64_t desiredVersion = 0;             ///< the greater of the fleet's and the edge's (0: none)
  std::optional<int64_t> appliedVersion;  ///< edges.config_version (edges only)
};

/// The fleet's defaults (`edge` empty), or the merged config of `edge`: what get_config answers
/// (domain/remote_config.h, the one merge), with who set each value and when.
Result<ScopeConfig> loadScopeConfig(pg::Connection& db, const std::string& edge);

/// An edge's desired config version (0: nothing set) and applied one (null: not reported).
struct ConfigVersions {
  int64_t desired = 0;
  std::optional<int64_t> applied;
};
Result<ConfigVersions> configVersions(pg::Connection& db, const std::string& edge);

/// The edges a fleet-wide push reaches: every edge provisioned or heard from (by heartbeat).
Result<std::vector<std::string>> fleetEdges(pg::Connection& db);

/// config_changed (body {"version": desired}) to each of `edges`, each on the Kafka cluster it is
/// on (cli/cluster_route.h; one producer per cluster), signed with `key` when given. A record
/// (edge_id, topic, version) per edge reached is added to `sent`. An edge on a cluster
/// kafka-clusters does not name gets nothing and an error naming it (exit kExitUsage); a cluster
/// that fails, kExitKafka. Returns kExitOk or the code of the last failure it printed.
int sendConfigChanged(const Context& c, pg::Connection& db, const std::vector<std::string>& edges,
                      const security::SigningKey* key, std::vector<Record>& sent);
/// The same for `edges` all on `route`'s cluster, one producer (`edges move`: where the edge was
/// when the move began).
int sendConfigChangedOn(const Context& c, pg::Connection& db, const ClusterRoute& route,
                        const std::vector<std::string>& edges, const security::SigningKey* key,
                        std::vector<Record>& sent);

/// edges label add/remove/list (cli/edge_labels.cpp).
void addEdgesLabelCommands(Commands& cmds, CLI::App* edges);
/// config set/unset/show/push (cli/config.cpp).
void addConfigCommands(Commands& cmds);
/// config push (cli/config_push.cpp), under `config`.
void addConfigPushCommand(Commands& cmds, CLI::App* config);

}  // namespace edgelink::dispatcher
