#include "domain/remote_config.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>

namespace edgelink::dispatcher {

RemoteConfig mergeRemoteConfig(const std::optional<ConfigScope>& fleet,
                               const std::optional<ConfigScope>& edge) {
  RemoteConfig out;
  if (fleet) {
    out.version = fleet->version;
    for (const auto& [key, value] : fleet->values) {
      out.values[key] = value;
      out.fromEdge[key] = false;
    }
  }
  if (edge) {
    out.version = mergedVersion(out.version, edge->version);
    for (const auto& [key, value] : edge->values) {
      out.values[key] = value;
      out.fromEdge[key] = true;
    }
  }
  return out;
}

std::string remoteConfigBody(const RemoteConfig& config) {
  rapidjson::Document doc(rapidjson::kObjectType);
  auto& a = doc.GetAllocator();
  doc.AddMember("version", rapidjson::Value(config.version), a);
  rapidjson::Value values(rapidjson::kObjectType);
  for (const auto& [key, text] : config.values) {
    rapidjson::Document v;
    v.Parse(text.data(), text.size());
    if (v.HasParseError()) {
      continue;
    }
    values.AddMember(rapidjson::Value(key.c_str(), a), rapidjson::Value(v, a), a);
  }
  doc.AddMember("config", values, a);
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  doc.Accept(w);
  return std::string(buf.GetString(), buf.GetSize());
}

Result<std::optional<ConfigScope>> readConfigScope(pg::Connection& db, const std::string& scope) {
  auto rows = db.exec(
      "SELECT s.version, v.key, v.value::text FROM config_scopes s"
      " LEFT JOIN config_values v ON v.scope = s.scope WHERE s.scope = $1 ORDER BY v.key",
      {scope});
  if (!rows) {
    return rows.error();
  }
  if (rows->empty()) {
    return std::optional<ConfigScope>();
  }
  ConfigScope s;
  s.version = rows->int64(0, 0);
  for (int i = 0; i < rows->size(); ++i) {
    if (!rows->isNull(i, 1)) {
      s.values[rows->str(i, 1)] = rows->str(i, 2);
    }
  }
  return std::optional<ConfigScope>(std::move(s));
}

Result<RemoteConfig> readRemoteConfig(pg::Connection& db, const std::string& edgeId) {
  auto fleet = readConfigScope(db, kFleetScope);
  if (!fleet) {
    return fleet.error();
  }
  auto edge = readConfigScope(db, edgeId);
  if (!edge) {
    return edge.error();
  }
  return mergeRemoteConfig(*fleet, *edge);
}

}  // namespace edgelink::dispatcher
