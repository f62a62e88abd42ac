#include "decisions/remote_config.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <optional>

#include "config/remote_keys.h"
#include "core/time_format.h"
#include "jsonschema/json_util.h"

namespace edgelink::agent {

namespace {

Error refused(const std::string& message) {
  return Error(Status::kBadRequest, message);
}

/// Reads {"version": V, "config": {...}} from `doc` into `out` (the shape only).
VoidResult readVersionAndConfig(const rapidjson::Value& doc, RemoteConfig& out) {
  if (!doc.IsObject()) {
    return refused("remote config: expected an object");
  }
  const rapidjson::Value* version = json::member(doc, "version");
  if (version == nullptr || !version->IsInt64() || version->GetInt64() < 0) {
    return refused("remote config: version: expected a non-negative integer");
  }
  const rapidjson::Value* config = json::member(doc, "config");
  if (config == nullptr || !config->IsObject()) {
    return refused("remote config: config: expected an object");
  }
  out.version = version->GetInt64();
  out.values.clear();
  for (const auto& m : config->GetObject()) {
    out.values.emplace_back(std::string(m.name.GetString(), m.name.GetStringLength()),
                            json::stringify(m.value));
  }
  return {};
}

/// Sets the option `key` of `o` from its (checked) JSON value.
void overlay(AgentOptions& o, const std::string& key, const rapidjson::Value& v) {
  if (v.IsInt64()) {
    const int64_t n = v.GetInt64();
    if (key == "heartbeat-interval") {
      o.heartbeatInterval = n;
    } else if (key == "max-request-age") {
      o.maxRequestAge = n;
    } else if (key == "max-clock-skew") {
      o.maxClockSkew = n;
    } else if (key == "auto-stop-default") {
      o.autoStopDefault = n;
    } else if (key == "auto-stop-max") {
      o.autoStopMax = n;
    } else if (key == "frps-port") {
      o.frpsPort = n;
    }
    return;
  }
  const std::string s = v.IsString() ? v.GetString() : "";
  if (key == "log-level") {
    o.logLevel = s;
  } else if (key == "kafka-brokers") {
    o.kafkaBrokers = s;
  } else if (key == "frps-addr") {
    o.frpsAddr = s;
  } else if (key == "kafka-cluster") {
    o.kafkaCluster = s;
  }
}

}  // namespace

Result<RemoteConfig> parseRemoteConfigBody(std::string_view bodyJson, int64_t receivedAtMs) {
  rapidjson::Document d;
  d.Parse(bodyJson.data(), bodyJson.size());
  if (d.HasParseError()) {
    return refused("remote config: not JSON");
  }
  RemoteConfig out;
  out.receivedAtMs = receivedAtMs;
  if (auto r = readVersionAndConfig(d, out); !r) {
    return r.error();
  }
  return out;
}

Result<AgentConfig> checkRemoteConfig(const AgentOptions& own, const RemoteConfig& remote) {
  AgentOptions options = own;
  for (const auto& [key, value] : remote.values) {
    const std::string why = config::checkRemoteValue(key, value);
    if (!why.empty()) {
      return refused(key + ": " + why);
    }
    rapidjson::Document v;
    v.Parse(value.data(), value.size());
    overlay(options, key, v);
  }
  Validated validated = validate(options);
  if (!validated.problems.empty()) {
    std::string all;
    for (const auto& line : validated.problems.lines()) {
      all += (all.empty() ? "" : "; ") + line;
    }
    return refused(all);
  }
  return std::move(validated.config);
}

std::string remoteConfigToJson(const RemoteConfig& remote) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("version");
  w.Int64(remote.version);
  w.Key("received_at");
  const std::string at = formatRfc3339Ms(remote.receivedAtMs);
  w.String(at.data(), static_cast<rapidjson::SizeType>(at.size()));
  w.Key("config");
  w.StartObject();
  for (const auto& [key, value] : remote.values) {
    w.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
    w.RawValue(value.data(), value.size(), rapidjson::kObjectType);
  }
  w.EndObject();
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize()) + "\n";
}

Result<RemoteConfig> remoteConfigFromJson(std::string_view text) {
  rapidjson::Document d;
  d.Parse(text.data(), text.size());
  if (d.HasParseError()) {
    return Error(Status::kBadRequest, "not JSON");
  }
  RemoteConfig out;
  if (auto r = readVersionAndConfig(d, out); !r) {
    return r.error();
  }
  const char* at = json::getString(d, "received_at");
  std::optional<int64_t> ms;
  if (at != nullptr) {
    ms = parseRfc3339Ms(at);
  }
  if (!ms) {
    return Error(Status::kBadRequest, "received_at: expected an RFC 3339 time");
  }
  out.receivedAtMs = *ms;
  return out;
}

std::string remoteConfigPath(const AgentOptions& options) {
  return options.stateDir + "/remote-config.json";
}

}  // namespace edgelink::agent
