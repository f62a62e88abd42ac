#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "agent_config.h"
#include "frpc_config.h"
#include "unit_util.h"

using namespace edgelink;
using namespace edgelink::agent;

namespace {

bool hasProblem(const Validated& v, const std::string& prefix) {
  for (const auto& line : v.problems.lines()) {
    if (line.rfind(prefix, 0) == 0) {
      return true;
    }
  }
  return false;
}

}  // namespace

TEST_CASE("a valid configuration has no problems and derives topic, paths and services",
          "[agent][config]") {
  testing::TempDir dir;
  auto v = validate(test::validOptions(dir));
  INFO(v.problems.toError().message);
  REQUIRE(v.problems.empty());
  const AgentConfig& c = v.config;
  CHECK(c.topic == "edge.elevator-0042");
  CHECK(c.frpcConfigPath == dir.file("state") + "/frpc.toml");
  CHECK(c.frpsToken == "t0ken");
  REQUIRE(c.services.size() == 3);
  CHECK(c.findService("camera_admin")->localIp == "192.168.1.64");
  CHECK(c.findService("camera_admin")->localPort == 80);
  CHECK(c.findService("telnet") == nullptr);
  CHECK(c.remotePortMin == 30000);
  CHECK(c.remotePortMax == 39999);
  // TLS to frps is on by default; without a CA its certificate is unchecked, which is said.
  CHECK(c.frpsTls == std::optional<bool>(true));
  REQUIRE(v.warnings.size() == 1);
  CHECK_THAT(v.warnings[0], Catch::StartsWith("frps-ca-file: not set"));
  CHECK(c.consumerConfig.get("bootstrap.servers") == "127.0.0.1:9092");
  CHECK(c.consumerConfig.get("group.id") == "edge-agent.elevator-0042");
}

TEST_CASE("every configuration problem is reported at once, each naming its key",
          "[agent][config]") {
  testing::TempDir dir;
  AgentOptions o = test::validOptions(dir);
  o.edgeId = "no spaces allowed";
  o.kafkaBrokers = "";
  o.kafkaProperties = {"fetch.wait.max.ms=abc", "missing-equals"};
  o.topicPrefix = "edge/";
  o.frpcPath = dir.file("no-such-frpc");
  o.frpcFormat = "yaml";
  o.frpsAddr = "frps example.com";
  o.frpsPort = 0;
  o.services = {"ssh=127.0.0.1:22", "ssh=127.0.0.1:2222", "Bad=127.0.0.1:1", "noport=127.0.0.1"};
  o.remotePorts = "40000-30000";
  o.maxRequestAge = 0;
  o.maxClockSkew = -1;
  o.autoStopDefault = 7200;
  o.autoStopMax = 60;
  o.heartbeatInterval = 0;
  o.sender = "";
  o.frpcAdminPort = 70000;
  o.frpcStartTimeout = 0;
  o.frpcStopGrace = -5;
  o.maxMessageBytes = 10;
  o.logLevel = "chatty";
  o.frpsTls = "maybe";
  auto v = validate(o);
  for (const char* key : {"edge-id:",
                          "kafka-brokers:",
                          "kafka-property:",
                          "topic-prefix:",
                          "frpc-path:",
                          "frpc-format:",
                          "frps-addr:",
                          "frps-port:",
                          "service: service 'ssh' is given twice",
                          "service: service name 'Bad'",
                          "service: expected NAME=HOST:PORT",
                          "remote-ports:",
                          "max-request-age:",
                          "max-clock-skew:",
                          "auto-stop-default:",
                          "heartbeat-interval:",
                          "sender:",
                          "frpc-admin-port:",
                          "frpc-start-timeout:",
                          "frpc-stop-grace:",
                          "max-message-bytes:",
                          "log-level:"}) {
    INFO(v.problems.toError().message);
    CHECK(hasProblem(v, key));
  }
}

TEST_CASE("librdkafka properties are checked by librdkafka, every bad one reported",
          "[agent][config]") {
  testing::TempDir dir;
  AgentOptions o = test::validOptions(dir);
  o.kafkaProperties = {"no.such.property=1", "fetch.wait.max.ms=not-a-number",
                       "security.protocol=SASL_SSL"};
  auto v = validate(o);
  REQUIRE(v.problems.lines().size() == 2);
  CHECK_THAT(v.problems.toError().message, Catch::Contains("kafka-property: kafka property "
                                                           "'no.such.property'"));
  CHECK_THAT(v.problems.toError().message, Catch::Contains("kafka-property: kafka property "
                                                           "'fetch.wait.max.ms'"));
  // User properties override the agent's small-board defaults.
  o.kafkaProperties = {"queued.max.messages.kbytes=1024"};
  auto ok = validate(o);
  CHECK(ok.problems.empty());
  CHECK(ok.config.consumerConfig.get("queued.max.messages.kbytes") == "1024");
  CHECK(ok.config.producerConfig.get("message.timeout.ms") == "0");
}

TEST_CASE(
    "the token file: required content, refused characters, refused when others can read "
    "it, never quoted",
    "[agent][config]") {
  testing::TempDir dir;
  AgentOptions o = test::validOptions(dir);
  REQUIRE(validate(o).problems.empty());
  for (mode_t mode : {0640, 0604, 0644}) {
    ::chmod(o.frpsTokenFile.c_str(), mode);
    auto loose = validate(o);
    char text[16];
    std::snprintf(text, sizeof text, "mode %04o", static_cast<unsigned>(mode));
    CHECK(hasProblem(loose, "frps-token-file: " + o.frpsTokenFile + " is " + text +
                                ": it holds a secret, so only its owner may read it (chmod 600 " +
                                o.frpsTokenFile + ")"));
  }
  ::chmod(o.frpsTokenFile.c_str(), 0600);
  // With a CA named, no warning about an unverified frps.
  testing::writeText(dir.file("ca.pem"), "-----BEGIN CERTIFICATE-----\n");
  o.frpsCaFile = dir.file("ca.pem");

  testing::writeText(dir.file("empty"), "\n");
  ::chmod(dir.file("empty").c_str(), 0600);
  o.frpsTokenFile = dir.file("empty");
  CHECK(hasProblem(validate(o), "frps-token-file: " + dir.file("empty") + " is empty"));

  testing::writeText(dir.file("template"), "abc{{ .Envs.HOME }}\n");
  ::chmod(dir.file("template").c_str(), 0600);
  o.frpsTokenFile = dir.file("template");
  auto templ = validate(o);
  REQUIRE(hasProblem(templ, "frps-token-file: the token contains \"{{\""));
  CHECK_THAT(templ.problems.toError().message, !Catch::Contains(".Envs.HOME"));

  testing::writeText(dir.file("ref"), "a%(server_addr)s\n");
  ::chmod(dir.file("ref").c_str(), 0600);
  o.frpsTokenFile = dir.file("ref");
  CHECK(validate(o).problems.empty());  // harmless in TOML
  o.frpcFormat = "ini";
  CHECK(hasProblem(validate(o), "frps-token-file: the token contains \"%(\""));

  o.frpsTokenFile = dir.file("missing");
  CHECK(hasProblem(validate(o), "frps-token-file: " + dir.file("missing") + ": No such file"));
  o.frpsTokenFile.clear();
  auto none = validate(o);
  CHECK(none.problems.empty());
  CHECK(none.warnings.size() == 1);
}

TEST_CASE("config files and flags fill the same options", "[agent][config]") {
  testing::TempDir dir;
  testing::writeText(dir.file("a.conf"),
                     "edge-id = \"e7\"\nservice = [\"ssh=127.0.0.1:22\"]\n"
                     "max-request-age = \"15m\"\nfrpc-verify = true\nremote-ports = \"1-2\"\n");
  CLI::App app;
  AgentOptions o;
  config::addConfigFile(app);
  addOptions(app, o);
  std::vector<std::string> args = {
      "edge-agent",     "--config", dir.file("a.conf"), "--heartbeat-interval", "2m",
      "--remote-ports", "3-4"};
  std::vector<const char*> argv;
  for (const auto& a : args) {
    argv.push_back(a.c_str());
  }
  auto r = config::parse(app, static_cast<int>(argv.size()), argv.data());
  REQUIRE(r.proceed);
  CHECK(o.edgeId == "e7");
  CHECK(o.services == std::vector<std::string>{"ssh=127.0.0.1:22"});
  CHECK(o.maxRequestAge == 900);
  CHECK(o.frpcVerify);
  CHECK(o.heartbeatInterval == 120);
  CHECK(o.remotePorts == "3-4");  // the flag wins
}

TEST_CASE("the librdkafka defaults fit a small board", "[agent][config]") {
  auto c = consumerDefaults("e1");
  auto p = producerDefaults("e1");
  CHECK(std::stoi(c.get("queued.max.messages.kbytes")) <= 1024);
  CHECK(std::stoi(c.get("fetch.max.bytes")) >= std::stoi(c.get("message.max.bytes")));
  CHECK(std::stoi(c.get("receive.message.max.bytes")) >= std::stoi(c.get("fetch.max.bytes")) + 512);
  CHECK(std::stoi(p.get("queue.buffering.max.kbytes")) <= 4096);
  CHECK(p.get("partitioner") == "murmur2_random");
  CHECK(c.get("enable.auto.commit") == "false");
  CHECK(c.check().empty());
  CHECK(p.check().empty());
}

TEST_CASE("frps TLS: on by default, a CA file and server name checked, each problem naming its key",
          "[agent][config][tls]") {
  testing::TempDir dir;
  testing::writeText(dir.file("ca.pem"),
                     "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
  testing::writeText(dir.file("not-a-cert"), "hello\n");
  AgentOptions o = test::validOptions(dir);
  o.frpsCaFile = dir.file("ca.pem");
  o.frpsServerName = "frps.internal";
  auto good = validate(o);
  INFO(good.problems.toError().message);
  REQUIRE(good.problems.empty());
  CHECK(good.warnings.empty());
  CHECK(good.config.frpsTls == std::optional<bool>(true));
  FrpcSettings s = frpcSettings(good.config, "u", "p");
  CHECK(s.tlsTrustedCaFile == dir.file("ca.pem"));
  CHECK(s.tlsServerName == "frps.internal");

  o.frpsCaFile = dir.file("missing.pem");
  CHECK(hasProblem(validate(o), "frps-ca-file"));
  o.frpsCaFile = dir.file("not-a-cert");
  CHECK(hasProblem(validate(o), "frps-ca-file"));
  o.frpsCaFile = dir.file("ca.pem");
  o.frpsServerName = "not a name";
  CHECK(hasProblem(validate(o), "frps-server-name"));
  o.frpsServerName = "frps.internal";
  o.frpsTls = "off";
  auto off = validate(o);
  CHECK(hasProblem(off, "frps-ca-file"));
  CHECK(hasProblem(off, "frps-server-name"));
  o.frpsCaFile.clear();
  o.frpsServerName.clear();
  auto plainOff = validate(o);
  CHECK(plainOff.problems.empty());
  CHECK(plainOff.config.frpsTls == std::optional<bool>(false));
  o.frpsTls = "default";
  CHECK_FALSE(validate(o).config.frpsTls.has_value());
  o.frpsTls = "maybe";
  CHECK(hasProblem(validate(o), "frps-tls"));
}
