// The board's remote configuration, decided without I/O: a get_config answer's body read, checked
// against the remote/local split and validated over the board's own options as `verify` does.

#include "decisions/remote_config.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "core/atomic_file.h"
#include "remote_config_file.h"
#include "unit_util.h"

using namespace edgelink;
using namespace edgelink::agent;

namespace {

Result<AgentConfig> check(const AgentOptions& own, const std::string& config, int64_t version = 4) {
  auto parsed = parseRemoteConfigBody(
      R"({"version":)" + std::to_string(version) + R"(,"config":)" + config + "}", 1000);
  REQUIRE(parsed);
  return checkRemoteConfig(own, *parsed);
}

}  // namespace

TEST_CASE("remote config: a good config overlays the board's own options", "[agent][remote]") {
  testing::TempDir dir;
  AgentOptions own = test::validOptions(dir);
  auto r = check(own, R"({"heartbeat-interval":30,"max-request-age":120,"max-clock-skew":5,
      "auto-stop-default":600,"auto-stop-max":3600,"log-level":"debug","frps-addr":"frps.example",
      "frps-port":7443,"kafka-cluster":"eu-1","kafka-brokers":")" +
                          own.kafkaBrokers + R"("})");
  REQUIRE(r);
  const AgentOptions& o = r->options;
  CHECK(o.heartbeatInterval == 30);
  CHECK(o.maxRequestAge == 120);
  CHECK(o.maxClockSkew == 5);
  CHECK(o.autoStopDefault == 600);
  CHECK(o.autoStopMax == 3600);
  CHECK(o.logLevel == "debug");
  CHECK(o.frpsAddr == "frps.example");
  CHECK(o.frpsPort == 7443);
  // Everything else is the board's own.
  CHECK(o.services == own.services);
  CHECK(o.remotePorts == own.remotePorts);
  CHECK(r->frpsToken == validate(own).config.frpsToken);
  auto empty = check(own, "{}", 0);
  REQUIRE(empty);
  CHECK(empty->options.heartbeatInterval == own.heartbeatInterval);
}

TEST_CASE("remote config: a local-only or unknown key refuses the whole config, naming the key",
          "[agent][remote]") {
  testing::TempDir dir;
  AgentOptions own = test::validOptions(dir);
  for (const std::string key : {"service", "remote-ports", "trusted-keys", "frps-token-file",
                                "require-signed-requests", "config-refresh"}) {
    auto r = check(own, R"({"heartbeat-interval":30,")" + key + R"(":"x"})");
    REQUIRE_FALSE(r);
    CHECK(r.error().message == key + ": local-only: only the board's own config file may set it");
  }
  auto unknown = check(own, R"({"heartbeat-interval":30,"no-such-key":1})");
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().message == "no-such-key: unknown key: not one a remote config may set");
}

TEST_CASE("remote config: a value of the wrong kind or range is refused naming the key",
          "[agent][remote]") {
  testing::TempDir dir;
  AgentOptions own = test::validOptions(dir);
  auto kind = check(own, R"({"heartbeat-interval":"30"})");
  REQUIRE_FALSE(kind);
  CHECK(kind.error().message == "heartbeat-interval: expected whole seconds from 1 to 31536000");
  auto level = check(own, R"({"log-level":"loud"})");
  REQUIRE_FALSE(level);
  CHECK(level.error().message.rfind("log-level: ", 0) == 0);
}

TEST_CASE("remote config: verify's validation runs over the result, every problem reported",
          "[agent][remote]") {
  testing::TempDir dir;
  AgentOptions own = test::validOptions(dir);
  auto r = check(own, R"({"heartbeat-interval":100000,"auto-stop-default":90000})");
  REQUIRE_FALSE(r);
  const std::string& m = r.error().message;
  CHECK(m.find("heartbeat-interval: ") != std::string::npos);
  CHECK(m.find("auto-stop-default: ") != std::string::npos);
  CHECK(m.find("more than auto-stop-max") != std::string::npos);
  auto addr = check(own, R"({"frps-addr":"not a host!"})");
  REQUIRE_FALSE(addr);
  CHECK(addr.error().message.rfind("frps-addr: ", 0) == 0);
}

TEST_CASE("remote config: another kafka-brokers gives the new cluster's Kafka properties",
          "[agent][remote]") {
  testing::TempDir dir;
  AgentOptions own = test::validOptions(dir);
  auto move = check(own, R"({"kafka-brokers":"other:9092","kafka-cluster":"eu-2"})");
  REQUIRE(move);
  CHECK(move->options.kafkaBrokers == "other:9092");
  CHECK(move->options.kafkaCluster == "eu-2");
  CHECK(move->producerConfig.get("bootstrap.servers", "") == "other:9092");
  CHECK(move->consumerConfig.get("bootstrap.servers", "") == "other:9092");
  auto badName = check(own, R"({"kafka-cluster":"eu 2"})");
  REQUIRE_FALSE(badName);
  CHECK(badName.error().message.find("kafka-cluster") != std::string::npos);
  auto empty = check(own, R"({"kafka-brokers":""})");
  REQUIRE_FALSE(empty);
  CHECK(empty.error().message.find("kafka-brokers") != std::string::npos);
}

TEST_CASE("remote config: a body of the wrong shape is refused", "[agent][remote]") {
  CHECK_FALSE(parseRemoteConfigBody("not json", 0));
  CHECK_FALSE(parseRemoteConfigBody(R"({"config":{}})", 0));
  CHECK_FALSE(parseRemoteConfigBody(R"({"version":-1,"config":{}})", 0));
  CHECK_FALSE(parseRemoteConfigBody(R"({"version":1,"config":[]})", 0));
  auto ok = parseRemoteConfigBody(R"({"version":3,"config":{"log-level":"warn"}})", 77);
  REQUIRE(ok);
  CHECK(ok->version == 3);
  CHECK(ok->receivedAtMs == 77);
  REQUIRE(ok->values.size() == 1);
  CHECK(ok->values[0].first == "log-level");
  CHECK(ok->values[0].second == "\"warn\"");
}

TEST_CASE("remote config: remote-config.json round-trips, damage is an error", "[agent][remote]") {
  RemoteConfig rc;
  rc.version = 9;
  rc.receivedAtMs = 1'764'000'000'123;
  rc.values = {{"heartbeat-interval", "30"}, {"log-level", "\"debug\""}};
  auto back = remoteConfigFromJson(remoteConfigToJson(rc));
  REQUIRE(back);
  CHECK(back->version == 9);
  CHECK(back->receivedAtMs == rc.receivedAtMs);
  CHECK(back->values == rc.values);
  CHECK_FALSE(remoteConfigFromJson("{\"version\":9,"));
  CHECK_FALSE(remoteConfigFromJson(R"({"version":9,"config":{}})"));  // no received_at
}

TEST_CASE("remote config file: written 0600, loaded back, a damaged one is set aside and ignored",
          "[agent][remote]") {
  testing::TempDir dir;
  const std::string path = dir.file("remote-config.json");
  CHECK_FALSE(loadRemoteConfig(path, 1).remote);  // none yet
  CHECK(loadRemoteConfig(path, 1).warning.empty());
  RemoteConfig rc;
  rc.version = 5;
  rc.receivedAtMs = 1'764'000'000'000;
  rc.values = {{"heartbeat-interval", "30"}};
  REQUIRE(saveRemoteConfig(path, rc));
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  auto loaded = loadRemoteConfig(path, 1);
  REQUIRE(loaded.remote);
  CHECK(loaded.remote->version == 5);
  CHECK(loaded.remote->values == rc.values);

  REQUIRE(writeFileAtomic(path, "{\"version\": 5, \"conf", 0600));
  auto damaged = loadRemoteConfig(path, 42);
  CHECK_FALSE(damaged.remote);
  CHECK(damaged.warning.find("set aside as " + path + ".corrupt-42") != std::string::npos);
  CHECK(::stat((path + ".corrupt-42").c_str(), &st) == 0);
  CHECK(::stat(path.c_str(), &st) != 0);
}
