#include "cli/config_store.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <map>
#include <memory>

#include "config/remote_keys.h"

namespace edgelink::dispatcher {

Result<ConfigAssignment> parseAssignment(const std::string& argument) {
  const auto eq = argument.find('=');
  if (eq == std::string::npos || eq == 0) {
    return Error(Status::kBadRequest,
                 "'" + argument + "': expected KEY=VALUE (log-level=debug, heartbeat-interval=30)");
  }
  ConfigAssignment a{argument.substr(0, eq), argument.substr(eq + 1)};
  rapidjson::Document d;
  d.Parse(a.json.c_str(), a.json.size());
  if (d.HasParseError()) {
    // Not JSON: the text itself, as a JSON string.
    rapidjson::StringBuffer sb;
    rapidjson::Writer<rapidjson::StringBuffer> w(sb);
    w.String(a.json.c_str(), static_cast<rapidjson::SizeType>(a.json.size()));
    a.json.assign(sb.GetString(), sb.GetSize());
  }
  if (auto why = config::checkRemoteValue(a.key, a.json); !why.empty()) {
    return Error(Status::kBadRequest, "'" + argument + "': " + a.key + ": " + why);
  }
  return a;
}

VoidResult checkUnsetKey(const std::string& key) {
  if (config::findRemoteKey(key) != nullptr) {
    return {};
  }
  if (config::isLocalOnlyKey(key)) {
    return Error(Status::kBadRequest,
                 key + ": a local-only key, set only in the board's own file: never stored here");
  }
  return Error(Status::kBadRequest, key + ": not a remote config key (docs/REMOTE-CONFIG.md)");
}

namespace {

Result<std::vector<std::string>> firstColumn(pg::Connection& db, const std::string& sql,
                                             const pg::Params& params) {
  auto rows = db.exec(sql, params);
  if (!rows) {
    return rows.error();
  }
  std::vector<std::string> out;
  for (int i = 0; i < rows->size(); ++i) {
    out.push_back(rows->str(i, 0));
  }
  return out;
}

/// The scope's next version; the scope row made when missing (one nextval either way).
Result<int64_t> bumpScope(pg::Connection& db, const std::string& scope, const std::string& actor) {
  auto rows = db.exec(
      "INSERT INTO config_scopes (scope, version, updated_by)"
      " VALUES ($1, nextval('config_version'), $2)"
      " ON CONFLICT (scope) DO UPDATE SET version = EXCLUDED.version, updated_at = now(),"
      " updated_by = EXCLUDED.updated_by RETURNING version",
      {scope, actor});
  if (!rows) {
    return rows.error();
  }
  return rows->int64(0, 0);
}

}  // namespace

Result<std::vector<std::string>> edgesWithLabel(pg::Connection& db, const std::string& label) {
  return firstColumn(db, "SELECT edge_id FROM edge_labels WHERE label = $1 ORDER BY edge_id",
                     {label});
}

Result<bool> edgeKnown(pg::Connection& db, const std::string& edge) {
  auto rows = db.exec("SELECT 1 FROM edges WHERE edge_id = $1", {edge});
  if (!rows) {
    return rows.error();
  }
  return rows->size() > 0;
}

Result<std::vector<int64_t>> changeScopes(pg::Connection& db,
                                          const std::vector<std::string>& scopes,
                                          const std::vector<ConfigAssignment>& values,
                                          const std::vector<std::string>& unset,
                                          const std::string& actor, int64_t& removed) {
  removed = 0;
  auto tx = pg::Transaction::begin(db);
  if (!tx) {
    return tx.error();
  }
  std::vector<int64_t> versions;
  for (const auto& scope : scopes) {
    auto version = bumpScope(db, scope, actor);
    if (!version) {
      return version.error();
    }
    versions.push_back(*version);
    for (const auto& v : values) {
      auto up = db.exec(
          "INSERT INTO config_values (scope, key, value, set_by) VALUES ($1, $2, $3::jsonb, $4)"
          " ON CONFLICT (scope, key) DO UPDATE SET value = EXCLUDED.value, set_at = now(),"
          " set_by = EXCLUDED.set_by",
          {scope, v.key, v.json, actor});
      if (!up) {
        return up.error();
      }
    }
    for (const auto& key : unset) {
      auto del = db.exec("DELETE FROM config_values WHERE scope = $1 AND key = $2", {scope, key});
      if (!del) {
        return del.error();
      }
      removed += del->affected();
    }
  }
  if (auto r = (*tx)->commit(); !r) {
    return r.error();
  }
  return versions;
}

Result<ScopeConfig> loadScopeConfig(pg::Connection& db, const std::string& edge) {
  auto fleet = readConfigScope(db, kFleetScope);
  if (!fleet) {
    return fleet.error();
  }
  std::optional<ConfigScope> own;
  if (!edge.empty()) {
    auto read = readConfigScope(db, edge);
    if (!read) {
      return read.error();
    }
    own = std::move(*read);
  }
  const RemoteConfig merged = mergeRemoteConfig(*fleet, own);
  auto rows =
      db.exec("SELECT scope, key, set_at, set_by FROM config_values WHERE scope = $1 OR scope = $2",
              {kFleetScope, edge.empty() ? std::string(kFleetScope) : edge});
  if (!rows) {
    return rows.error();
  }
  std::map<std::pair<std::string, std::string>, std::pair<std::string, std::string>> who;
  for (int i = 0; i < rows->size(); ++i) {
    who[{rows->str(i, 0), rows->str(i, 1)}] = {pgTimestampToRfc3339(rows->str(i, 2)),
                                               rows->str(i, 3)};
  }
  ScopeConfig out;
  for (const auto& [key, json] : merged.values) {  // by key
    const bool fromEdge = merged.fromEdge.at(key);
    const auto& [at, by] = who[{fromEdge ? edge : std::string(kFleetScope), key}];
    out.entries.push_back({key, json, fromEdge ? "edge" : "fleet", at, by});
  }
  out.desiredVersion = merged.version;
  if (!edge.empty()) {
    auto versions = configVersions(db, edge);
    if (!versions) {
      return versions.error();
    }
    out.appliedVersion = versions->applied;
  }
  return out;
}

Result<ConfigVersions> configVersions(pg::Connection& db, const std::string& edge) {
  auto rows = db.exec(
      "SELECT COALESCE((SELECT version FROM config_scopes WHERE scope = $1), 0),"
      " COALESCE((SELECT version FROM config_scopes WHERE scope = $2 AND $2 <> ''), 0),"
      " (SELECT config_version FROM edges WHERE edge_id = $2)",
      {kFleetScope, edge});
  if (!rows) {
    return rows.error();
  }
  ConfigVersions v;
  v.desired = mergedVersion(rows->int64(0, 0), rows->int64(0, 1));
  if (!rows->isNull(0, 2)) {
    v.applied = rows->int64(0, 2);
  }
  return v;
}

Result<std::vector<std::string>> fleetEdges(pg::Connection& db) {
  return firstColumn(db,
                     "SELECT edge_id FROM edges WHERE provisioned_at IS NOT NULL"
                     " OR last_heartbeat_at IS NOT NULL ORDER BY edge_id",
                     {});
}

}  // namespace edgelink::dispatcher
