#include "options.h"

#include <catch2/catch.hpp>

#include "cli/edge_acls.h"
#include "harness/test_util.h"

using namespace edgelink;
using namespace edgelink::dispatcher;

namespace {

config::ParseOutcome parseArgs(CLI::App& app, Options& o, const std::vector<std::string>& args) {
  config::addConfigFile(app);
  o.addTo(app);
  std::vector<const char*> argv = {"cloud-dispatcher"};
  for (const auto& a : args) {
    argv.push_back(a.c_str());
  }
  return config::parse(app, static_cast<int>(argv.size()), argv.data());
}

bool mentions(const config::Problems& p, const std::string& text) {
  for (const auto& line : p.lines()) {
    if (line.find(text) != std::string::npos) {
      return true;
    }
  }
  return false;
}

}  // namespace

TEST_CASE("the defaults are a valid configuration", "[dispatcher][options]") {
  Options o;
  auto p = o.validate();
  CHECK(p.empty());
  CHECK(o.pool.first == 31000);
  CHECK(o.pool.last == 31999);
  CHECK(o.effectiveTopicRegex() == "^edge\\..+");
  CHECK(o.deadlineFor("ping") == 30);
}

TEST_CASE("every configuration problem is reported, each naming its key", "[dispatcher][options]") {
  CLI::App app;
  Options o;
  auto r = parseArgs(app, o, {"--port-pool",      "40000-30000",
                              "--topic-regex",    "edge.*",
                              "--batch-size",     "0",
                              "--type-deadline",  "ping=soon",
                              "--type-deadline",  "Bad Type=5s",
                              "--kafka-property", "no.such.property=1",
                              "--kafka-property", "novalue",
                              "--log-level",      "chatty",
                              "--connect-hint",   "ssh=ssh somewhere",
                              "--topic-prefix",   "edge/"});
  REQUIRE(r.proceed);
  auto p = o.validate();
  CHECK(mentions(p, "port-pool: the first port is above the last"));
  CHECK(mentions(p, "topic-regex: must start with '^'"));
  CHECK(mentions(p, "batch-size: expected 1-100000"));
  CHECK(mentions(p, "type-deadline: bad duration in 'ping=soon'"));
  CHECK(mentions(p, "type-deadline: expected TYPE=DURATION"));
  CHECK(mentions(p, "kafka-property"));
  CHECK(mentions(p, "log-level: unknown log level 'chatty'"));
  CHECK(mentions(p, "connect-hint"));
  CHECK(mentions(p, "topic-prefix"));
  CHECK(p.lines().size() >= 9);
}

TEST_CASE("a config file carries every option by its flag name", "[dispatcher][options]") {
  testing::TempDir dir;
  testing::writeText(dir.file("d.conf"),
                     "kafka-brokers = \"k1:9092,k2:9092\"\n"
                     "pg-conninfo = \"host=db dbname=edgelink\"\n"
                     "type-deadline = [\"frp_start=90s\", \"change_frp_client_config=2m\"]\n"
                     "request-deadline = \"45s\"\n"
                     "port-pool = \"32000-32009\"\n"
                     "offline-after = \"5m\"\n"
                     "kafka-property = [\"fetch.wait.max.ms=50\"]\n");
  CLI::App app;
  Options o;
  auto r = parseArgs(app, o, {"--config", dir.file("d.conf"), "--request-deadline", "20s"});
  REQUIRE(r.proceed);
  REQUIRE(o.validate().empty());
  CHECK(o.kafkaBrokers == "k1:9092,k2:9092");
  CHECK(o.requestDeadlineSeconds == 20);  // the flag wins over the file
  CHECK(o.deadlineFor("frp_start") == 90);
  CHECK(o.deadlineFor("change_frp_client_config") == 120);
  CHECK(o.deadlineFor("ping") == 20);
  CHECK(o.pool.size() == 10);
  CHECK(o.offlineAfterSeconds == 300);
  CHECK(o.consumerConfig().get("fetch.wait.max.ms") == "50");
}

TEST_CASE("a kafka-property overrides the consumer's pre-fetch bound", "[dispatcher][options]") {
  Options o;
  o.kafkaProperties = {"queued.max.messages.kbytes=65536"};
  auto c = o.consumerConfig();
  CHECK(c.get("queued.max.messages.kbytes") == "65536");
  CHECK(c.get("fetch.max.bytes") == "16777216");
}

TEST_CASE("an unknown config key names the file and the key", "[dispatcher][options]") {
  testing::TempDir dir;
  testing::writeText(dir.file("bad.conf"), "kafka_brokers = \"x\"\n");
  CLI::App app;
  Options o;
  auto r = parseArgs(app, o, {"--config", dir.file("bad.conf")});
  REQUIRE_FALSE(r.proceed);
  CHECK(r.exitCode == 2);
  CHECK_THAT(r.message, Catch::Contains("unknown key 'kafka_brokers'"));
  CHECK_THAT(r.message, Catch::Contains("did you mean 'kafka-brokers'"));
}

TEST_CASE("port ranges parse strictly", "[dispatcher][options]") {
  auto ok = parsePortRange("31000-31010");
  REQUIRE(ok);
  CHECK(ok->size() == 11);
  CHECK(ok->contains(31010));
  CHECK_FALSE(ok->contains(31011));
  auto single = parsePortRange("4000");
  REQUIRE(single);
  CHECK(single->size() == 1);
  CHECK_FALSE(parsePortRange("0-10"));
  CHECK_FALSE(parsePortRange("10-70000"));
  CHECK_FALSE(parsePortRange("a-b"));
  CHECK_FALSE(parsePortRange("1-2-3"));
}

TEST_CASE("edge ids come from topic names and other topics are not edges",
          "[dispatcher][options]") {
  Options o;
  CHECK(o.edgeFromTopic("edge.elevator-0042") == std::optional<std::string>("elevator-0042"));
  CHECK_FALSE(o.edgeFromTopic("edge."));
  CHECK_FALSE(o.edgeFromTopic("other.e1"));
  CHECK_FALSE(o.edgeFromTopic("edge.bad id"));
  CHECK(o.topicFor("e1") == "edge.e1");
  CHECK(isValidEdgeId("A.b_c-1"));
  CHECK_FALSE(isValidEdgeId(std::string(201, 'a')));
  o.topicPrefix = "fleet+x.";  // escaped in the regex
  CHECK(o.effectiveTopicRegex() == "^fleet\\+x\\..+");
}

TEST_CASE("connect hints use templates with host and port", "[dispatcher][options]") {
  Options o;
  o.frpsHost = "frps.example.com";
  o.connectHints = {"fcc_web=https://{host}:{port}/config"};
  REQUIRE(o.validate().empty());
  CHECK(o.connectHint("ssh", 31022) == "ssh -p 31022 root@frps.example.com");
  CHECK(o.connectHint("fcc_web", 31023) == "https://frps.example.com:31023/config");
  CHECK(o.connectHint("camera_admin", 31024) == "http://frps.example.com:31024/");
}

TEST_CASE("the consumer commits by hand, reads new topics from the start, spreads partitions",
          "[dispatcher][options]") {
  Options o;
  o.kafkaProperties = {"partition.assignment.strategy=cooperative-sticky",
                       "session.timeout.ms=6000"};
  auto c = o.consumerConfig();
  CHECK(c.get("enable.auto.commit") == "false");
  CHECK(c.get("enable.auto.offset.store") == "false");
  CHECK(c.get("auto.offset.reset") == "earliest");
  CHECK(c.get("partition.assignment.strategy") == "cooperative-sticky");  // the user's wins
  CHECK(c.get("group.id") == "cloud-dispatcher");
  // A backlog's memory: the pre-fetch is bounded deliberately, not by librdkafka's defaults.
  CHECK(c.get("queued.max.messages.kbytes") == "4096");
  CHECK(c.get("fetch.max.bytes") == "16777216");
  auto p = o.producerConfig();
  CHECK_FALSE(p.has("session.timeout.ms"));  // consumer-only properties stay off the producer
  CHECK_FALSE(p.has("partition.assignment.strategy"));
  CHECK(p.get("partitioner") == "murmur2_random");
  CHECK_FALSE(p.has("queued.max.messages.kbytes"));
  auto t = o.topicConfigMap();
  CHECK(t["retention.ms"] == std::to_string(7LL * 24 * 3600 * 1000));
  CHECK(t["message.timestamp.type"] == "LogAppendTime");  // broker time for the agents
  o.topicConfigs = {"message.timestamp.type=CreateTime"};
  CHECK(o.topicConfigMap()["message.timestamp.type"] == "CreateTime");  // the operator's wins
}

TEST_CASE(
    "each board gets its own principal, READ, WRITE, DESCRIBE on its topic, DESCRIBE on its group",
    "[dispatcher][options][acl]") {
  Options o;
  REQUIRE(o.validate().empty());
  CHECK(o.kafkaAcls == "auto");
  CHECK(o.principalFor("elevator-0042") == "User:elevator-0042");
  o.edgePrincipal = "User:board-{edge}-{edge}";
  CHECK(o.principalFor("e1") == "User:board-e1-e1");
  auto acls = edgeAcls(o, "e1");
  REQUIRE(acls.size() == 4);
  std::vector<std::string> described;
  for (const auto& a : acls) {
    described.push_back(a.describe());
  }
  CHECK(described ==
        std::vector<std::string>{
            "ALLOW User:board-e1-e1 READ on TOPIC edge.e1 (LITERAL) from *",
            "ALLOW User:board-e1-e1 WRITE on TOPIC edge.e1 (LITERAL) from *",
            "ALLOW User:board-e1-e1 DESCRIBE on TOPIC edge.e1 (LITERAL) from *",
            "ALLOW User:board-e1-e1 DESCRIBE on GROUP edge-agent.e1 (LITERAL) from *"});
}

TEST_CASE("kafka-acls and edge-principal are checked, naming their keys", "[dispatcher][options]") {
  CLI::App app;
  Options o;
  auto r = parseArgs(app, o, {"--kafka-acls", "yes", "--edge-principal", "User:shared"});
  REQUIRE(r.proceed);
  auto p = o.validate();
  CHECK(mentions(p, "kafka-acls: expected auto, on or off, got 'yes'"));
  CHECK(mentions(p, "edge-principal: must contain {edge}"));
  Options noType;
  noType.edgePrincipal = "{edge}";
  CHECK(mentions(noType.validate(), "edge-principal: expected TYPE:NAME"));
  Options off;
  off.kafkaAcls = "off";
  CHECK(off.validate().empty());
}

TEST_CASE("the frps plugin is off by default, and its address and path are checked",
          "[dispatcher][options][frps-plugin]") {
  Options o;
  REQUIRE(o.validate().empty());
  CHECK_FALSE(o.frpsPluginAddress);
  CHECK(o.frpsPluginPath == "/frps-plugin");
  o.frpsPluginListen = "127.0.0.1:9465";
  o.frpsPluginPath = "/frps-plugin/Zk3-q_9.x~";
  REQUIRE(o.validate().empty());
  REQUIRE(o.frpsPluginAddress);
  CHECK(o.frpsPluginAddress->port == 9465);
  for (const char* bad : {"", "/", "frps-plugin", "/a$", "/a*", "/a?b", "/a b", "/a%20"}) {
    Options b;
    b.frpsPluginPath = bad;
    auto p = b.validate();
    INFO(bad);
    CHECK(mentions(p, "frps-plugin-path"));
  }
  Options b;
  b.frpsPluginListen = "nowhere";
  CHECK(mentions(b.validate(), "frps-plugin-listen"));
}

TEST_CASE("kafka-cluster is unnamed by default and checked, naming its key",
          "[dispatcher][options]") {
  Options unnamed;
  CHECK(unnamed.kafkaCluster.empty());
  CHECK(unnamed.validate().empty());
  CLI::App app;
  Options named;
  REQUIRE(parseArgs(app, named, {"--kafka-cluster", "eu-west_1.prod"}).proceed);
  CHECK(named.kafkaCluster == "eu-west_1.prod");
  CHECK(named.validate().empty());
  Options longest;
  longest.kafkaCluster = std::string(64, 'c');
  CHECK(longest.validate().empty());
  Options tooLong;
  tooLong.kafkaCluster = std::string(65, 'c');
  CHECK(mentions(tooLong.validate(), "kafka-cluster: expected 1-64 characters"));
  for (const std::string bad : {"eu west", "eu/1", "cluster:1", "é"}) {
    INFO(bad);
    Options o;
    o.kafkaCluster = bad;
    CHECK(mentions(o.validate(), "kafka-cluster: expected 1-64 characters"));
  }
}
