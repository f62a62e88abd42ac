#pragma once

// An edge's remote configuration (docs/REMOTE-CONFIG.md): the fleet scope's ('*') values with
// the edge's own scope's over them, at version greatest(fleet's, edge's) (0: nothing set). The
// merge is pure; readRemoteConfig() reads the two scopes (in the caller's transaction, if any)
// and is the one query for it: the ingest's get_config handler uses it, and the CLI may.

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "core/result.h"
#include "db/pg.h"

namespace edgelink::dispatcher {

/// The fleet defaults' scope name.
inline constexpr const char* kFleetScope = "*";

/// One scope's row and values.
struct ConfigScope {
  int64_t version = 0;
  std::map<std::string, std::string> values;  ///< key -> value as JSON text
};

struct RemoteConfig {
  int64_t version = 0;                        ///< 0: nothing set for this edge
  std::map<std::string, std::string> values;  ///< key -> value as JSON text
  /// The keys whose value comes from the edge's own scope (overrides or its own settings).
  std::map<std::string, bool> fromEdge;
};

/// An edge's version from its scopes' (0: no row): the greater of the two.
inline int64_t mergedVersion(int64_t fleetVersion, int64_t edgeVersion) {
  return fleetVersion > edgeVersion ? fleetVersion : edgeVersion;
}

/// The fleet's values with the edge's over them; version mergedVersion() (0: none).
RemoteConfig mergeRemoteConfig(const std::optional<ConfigScope>& fleet,
                               const std::optional<ConfigScope>& edge);

/// {"version": V, "config": {...}}: get_config's answer body. Values that are not valid JSON
/// (never, from jsonb) are left out.
std::string remoteConfigBody(const RemoteConfig& config);

/// The scope named `scope` (nullopt: no row in config_scopes).
Result<std::optional<ConfigScope>> readConfigScope(pg::Connection& db, const std::string& scope);

/// The edge's merged remote configuration, read from config_scopes / config_values.
Result<RemoteConfig> readRemoteConfig(pg::Connection& db, const std::string& edgeId);

}  // namespace edgelink::dispatcher
