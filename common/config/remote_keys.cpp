#include "config/remote_keys.h"

#include <rapidjson/document.h>

#include <algorithm>

namespace edgelink::config {

const std::vector<RemoteKey>& remoteKeys() {
  static const std::vector<RemoteKey> keys = {
      {"heartbeat-interval", RemoteValueKind::kSeconds, "seconds between heartbeats"},
      {"max-request-age", RemoteValueKind::kSeconds, "requests older than this are answered 408"},
      {"max-clock-skew", RemoteValueKind::kSeconds, "tolerance for a request from the future"},
      {"auto-stop-default", RemoteValueKind::kSeconds, "a session's auto-stop when none is asked"},
      {"auto-stop-max", RemoteValueKind::kSeconds, "the longest auto-stop a request may ask"},
      {"log-level", RemoteValueKind::kLogLevel, "trace, debug, info, warn, error"},
      {"kafka-brokers", RemoteValueKind::kText, "the Kafka cluster's bootstrap servers (a move)"},
      {"kafka-cluster", RemoteValueKind::kText, "the Kafka cluster's name, for people"},
      {"frps-addr", RemoteValueKind::kText, "the frps server sessions connect to"},
      {"frps-port", RemoteValueKind::kPort, "its port"},
  };
  return keys;
}

const RemoteKey* findRemoteKey(std::string_view name) {
  for (const auto& k : remoteKeys()) {
    if (name == k.name) {
      return &k;
    }
  }
  return nullptr;
}

bool isLocalOnlyKey(std::string_view name) {
  static const char* const local[] = {"edge-id",
                                      "topic-prefix",
                                      "kafka-property",
                                      "sender",
                                      "max-message-bytes",
                                      "state-dir",
                                      "frpc-path",
                                      "frpc-config",
                                      "frpc-format",
                                      "frpc-verify",
                                      "frps-tls",
                                      "frps-ca-file",
                                      "frps-server-name",
                                      "frps-token-file",
                                      "service",
                                      "remote-ports",
                                      "frpc-admin-port",
                                      "frpc-start-timeout",
                                      "frpc-stop-grace",
                                      "log-format",
                                      "trusted-keys",
                                      "require-signed-requests",
                                      "allow-unsigned",
                                      "key-file",
                                      "config-refresh",
                                      "config-request-timeout",
                                      "cluster-move-timeout"};
  return std::any_of(std::begin(local), std::end(local), [&](const char* k) { return name == k; });
}

namespace {

std::string checkValue(const RemoteKey& key, const rapidjson::Value& v) {
  switch (key.kind) {
    case RemoteValueKind::kSeconds:
      if (!v.IsInt64() || v.GetInt64() < 1 || v.GetInt64() > 31'536'000) {
        return "expected whole seconds from 1 to 31536000";
      }
      return "";
    case RemoteValueKind::kPort:
      if (!v.IsInt64() || v.GetInt64() < 1 || v.GetInt64() > 65535) {
        return "expected a port from 1 to 65535";
      }
      return "";
    case RemoteValueKind::kLogLevel: {
      static const char* const levels[] = {"trace", "debug", "info", "warn", "error"};
      if (!v.IsString() || std::none_of(std::begin(levels), std::end(levels), [&](const char* l) {
            return v.GetString() == std::string(l);
          })) {
        return "expected one of trace, debug, info, warn, error";
      }
      return "";
    }
    case RemoteValueKind::kText:
      if (!v.IsString() || v.GetStringLength() == 0 || v.GetStringLength() > 1024) {
        return "expected a non-empty string of at most 1024 characters";
      }
      return "";
  }
  return "";
}

}  // namespace

std::string checkRemoteValue(std::string_view name, std::string_view json) {
  const RemoteKey* key = findRemoteKey(name);
  if (key == nullptr) {
    if (isLocalOnlyKey(name)) {
      return "local-only: only the board's own config file may set it";
    }
    return "unknown key: not one a remote config may set";
  }
  rapidjson::Document d;
  d.Parse(json.data(), json.size());
  if (d.HasParseError()) {
    return "not a JSON value";
  }
  return checkValue(*key, d);
}

}  // namespace edgelink::config
