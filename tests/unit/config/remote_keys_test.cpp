// The remote/local split of the agent's keys (docs/REMOTE-CONFIG.md).
#include "config/remote_keys.h"

#include <catch2/catch.hpp>

using namespace edgelink::config;

TEST_CASE("a remote key takes values of its kind and range only", "[config][remote]") {
  CHECK(checkRemoteValue("heartbeat-interval", "30").empty());
  CHECK(checkRemoteValue("heartbeat-interval", "0") == "expected whole seconds from 1 to 31536000");
  CHECK_FALSE(checkRemoteValue("heartbeat-interval", "\"30\"").empty());
  CHECK_FALSE(checkRemoteValue("heartbeat-interval", "30.5").empty());
  CHECK_FALSE(checkRemoteValue("max-request-age", "31536001").empty());
  CHECK(checkRemoteValue("log-level", "\"debug\"").empty());
  CHECK_FALSE(checkRemoteValue("log-level", "\"loud\"").empty());
  CHECK(checkRemoteValue("frps-port", "7000").empty());
  CHECK_FALSE(checkRemoteValue("frps-port", "65536").empty());
  CHECK(checkRemoteValue("kafka-brokers", "\"kafka-b1:9092,kafka-b2:9092\"").empty());
  CHECK_FALSE(checkRemoteValue("kafka-brokers", "\"\"").empty());
  CHECK_FALSE(checkRemoteValue("frps-addr", std::string(1025, 'a').insert(0, "\"") + "\"").empty());
  CHECK(checkRemoteValue("log-level", "{not json") == "not a JSON value");
}

TEST_CASE("services, ports, keys and credentials are never remote", "[config][remote]") {
  for (const char* key : {"service", "remote-ports", "trusted-keys", "require-signed-requests",
                          "allow-unsigned", "frps-token-file", "key-file", "edge-id"}) {
    INFO(key);
    CHECK(isLocalOnlyKey(key));
    CHECK(findRemoteKey(key) == nullptr);
    CHECK(checkRemoteValue(key, "\"x\"") ==
          "local-only: only the board's own config file may set it");
  }
  CHECK(checkRemoteValue("open-everything", "true") ==
        "unknown key: not one a remote config may set");
  for (const auto& k : remoteKeys()) {
    INFO(k.name);
    CHECK_FALSE(isLocalOnlyKey(k.name));
  }
}
