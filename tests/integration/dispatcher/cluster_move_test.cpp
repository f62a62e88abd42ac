// Several Kafka clusters (docs/DISPATCHER.md, "Several Kafka clusters"): the CLI publishes to an
// edge on the cluster it was last heard on (edges.kafka_cluster), refuses a cluster it does not
// know, and `edges move` makes the topic on the target, stores kafka-brokers and kafka-cluster as
// one config version and tells the edge on its current cluster; --wait reads the outcome from
// PostgreSQL. Cluster A is the test's broker; B a private real broker of the test's own.
#include <rapidjson/document.h>
#include <sys/wait.h>

#include <catch2/catch.hpp>

#include "dispatcher_harness.h"
#include "harness/kafka_test_client.h"

using namespace edgelink;
using namespace edgelink::testing;

namespace {

rapidjson::Document parseJson(const std::string& text) {
  rapidjson::Document d;
  d.Parse(text.c_str());
  INFO(text);
  REQUIRE_FALSE(d.HasParseError());
  return d;
}

/// A harness whose dispatcher is cluster "a" and knows `others` (NAME=BOOTSTRAP), with edges
/// e1 and e2 recorded.
std::unique_ptr<DispatcherHarness> clusterHarness(const std::vector<std::string>& others) {
  std::string list;
  for (const auto& o : others) {
    list += (list.empty() ? "\"" : ", \"") + o + "\"";
  }
  DispatcherHarness::Setup setup(
      {"e1", "e2"},
      {"kafka-cluster = \"a\"", "kafka-clusters = [" + list + "]", "topic-replication = 1"});
  auto h = std::make_unique<DispatcherHarness>(setup);
  for (const std::string id : {"e1", "e2"}) {
    h->sql("INSERT INTO edges (edge_id, first_seen_at, provisioned_at) VALUES ('" + id +
           "', now(), now())");
  }
  return h;
}

std::string eventType(const KafkaTestClient::Record& r, int64_t* version = nullptr) {
  auto d = parseJson(r.value);
  const char* kind = d.HasMember("event") ? "event" : "request";
  if (version != nullptr) {
    *version = d[kind]["body"].HasMember("version") ? d[kind]["body"]["version"].GetInt64() : -1;
  }
  return d[kind]["type"].GetString();
}

int64_t scopeVersion(DispatcherHarness& h, const std::string& scope) {
  return std::stoll("0" + h.sql("SELECT version FROM config_scopes WHERE scope = '" + scope + "'"));
}

/// Runs `edges move ... --wait` in the background, waits until its config version is stored,
/// runs `meanwhile(version)`, and returns the exit code; `out` gets its stdout.
int moveWaiting(DispatcherHarness& h, const std::string& wait,
                const std::function<void(int64_t)>& meanwhile, std::string& out) {
  const std::string outPath = h.dir().file("move.out");
  Subprocess move =
      h.spawnCli({"edges", "move", "--edge", "e1", "--cluster", "b", "--wait", wait}, outPath);
  REQUIRE(h.waitFor("SELECT count(*) FROM config_scopes WHERE scope = 'e1'", "1"));
  meanwhile(scopeVersion(h, "e1"));
  auto code = move.waitFor(60000);
  out = readText(outPath);
  INFO(out + readText(outPath + ".err"));
  REQUIRE(code);
  REQUIRE(WIFEXITED(*code));
  return WEXITSTATUS(*code);
}

}  // namespace

TEST_CASE("edges move refuses a cluster it does not know naming --cluster, and an unknown edge",
          "[dispatcher][cli][clusters]") {
  auto h = clusterHarness({"b=127.0.0.1:1"});
  auto unknown = h->cli({"edges", "move", "--edge", "e1", "--cluster", "z"});
  CHECK(unknown.code == 2);
  CHECK_THAT(unknown.err, Catch::Contains("--cluster: no Kafka cluster 'z'"));
  CHECK_THAT(unknown.err, Catch::Contains("known: a (this dispatcher), b"));
  auto missing = h->cli({"edges", "move", "--edge", "nope", "--cluster", "b"});
  CHECK(missing.code == 6);
  CHECK_THAT(missing.err, Catch::Contains("no edge nope"));
  CHECK(h->count("SELECT count(*) FROM config_scopes") == 0);
}

TEST_CASE("an edge on a cluster kafka-clusters does not name gets nothing, with an error naming it",
          "[dispatcher][cli][clusters]") {
  auto h = clusterHarness({"b=127.0.0.1:1"});
  h->sql("UPDATE edges SET kafka_cluster = 'zz' WHERE edge_id = 'e1'");

  auto sent = h->cli({"send", "--edge", "e1", "--type", "ping"});
  CHECK(sent.code == 2);
  CHECK_THAT(sent.err,
             Catch::Contains("edge e1: Kafka cluster zz is not one this dispatcher knows"));
  CHECK_THAT(sent.err, Catch::Contains("kafka-clusters"));
  CHECK(h->count("SELECT count(*) FROM requests") == 0);  // recorded only once published

  // session open: the ports it reserved are released, the session failed with the reason.
  auto opened = h->cli({"session", "open", "--edge", "e1", "--even-if-offline", "--wait", "1s"});
  CHECK(opened.code == 2);
  CHECK_THAT(opened.err, Catch::Contains("edge e1: Kafka cluster zz"));
  CHECK_THAT(opened.err, Catch::Contains("released its ports"));
  CHECK(h->sql("SELECT state || ' ' || end_reason FROM sessions WHERE edge_id = 'e1'") ==
        "failed publish_failed");
  CHECK(h->count("SELECT count(*) FROM requests") == 0);

  auto pushed = h->cli({"config", "push", "--edge", "e1"});
  CHECK(pushed.code == 2);
  CHECK_THAT(pushed.err, Catch::Contains("edge e1: Kafka cluster zz"));
  CHECK(pushed.out.empty());

  // A fleet push still reaches the edge it can (e2, on the own cluster A).
  auto fleet = h->cli({"config", "push", "--fleet"});
  CHECK(fleet.code == 2);
  CHECK_THAT(fleet.err, Catch::Contains("edge e1: Kafka cluster zz"));
  CHECK_THAT(fleet.out, Catch::Contains("config_changed sent to 1 edge(s)"));
  KafkaTestClient a(h->broker().bootstrap());
  auto onA = a.readFromStart(h->topic("e2"), 1, 15000);
  REQUIRE(onA.size() == 1);
  CHECK(eventType(onA[0]) == "config_changed");

  auto move = h->cli({"edges", "move", "--edge", "e1", "--cluster", "a"});
  CHECK(move.code == 2);
  CHECK_THAT(move.err, Catch::Contains("Kafka cluster zz"));
  CHECK_THAT(move.err, Catch::Contains("nothing changed"));
  CHECK(h->count("SELECT count(*) FROM config_scopes") == 0);
}

TEST_CASE("edges move makes the topic on the target and tells the edge on its current cluster",
          "[dispatcher][cli][clusters]") {
  BrokerOptions bo;
  bo.kind = BrokerKind::kKafka;
  bo.privateBroker = true;
  auto b = makeBroker(bo);
  auto h = clusterHarness({"b=" + b->bootstrap()});

  auto moved = h->cli({"edges", "move", "--edge", "e1", "--cluster", "b"});
  INFO(moved.err);
  REQUIRE(moved.code == 0);
  const int64_t version = scopeVersion(*h, "e1");
  REQUIRE(version > 0);
  const std::string v = std::to_string(version);
  CHECK(moved.out == "edge e1: topic " + h->topic("e1") + " created on Kafka cluster b (" +
                         b->bootstrap() + ")\nedge e1: config version " + v +
                         ": kafka-brokers = " + b->bootstrap() +
                         ", kafka-cluster = b\nedge e1: config_changed sent on Kafka cluster "
                         "a\nedge e1: the board switches once it reads its topic on b (`edges "
                         "show e1`; --wait waits)\n");
  CHECK(describeTopic(b->bootstrap(), h->topic("e1"))["partitions"] == "1");

  // Both keys in one version: one scope change, the values written in one transaction.
  auto shown = parseJson(h->cli({"config", "show", "--edge", "e1", "--json"}).out);
  CHECK(shown["version_desired"].GetInt64() == version);
  CHECK(std::string(shown["config"]["kafka-brokers"].GetString()) == b->bootstrap());
  CHECK(std::string(shown["config"]["kafka-cluster"].GetString()) == "b");
  CHECK(shown["values"].Size() == 2);
  CHECK(h->count("SELECT count(DISTINCT set_at) FROM config_values WHERE scope = 'e1'") == 1);

  // config_changed went to the edge's topic on A, where it still is.
  KafkaTestClient a(h->broker().bootstrap());
  auto onA = a.readFromStart(h->topic("e1"), 1, 15000);
  REQUIRE(onA.size() == 1);
  int64_t pushed = 0;
  CHECK(eventType(onA[0], &pushed) == "config_changed");
  CHECK(pushed == version);

  // Again: the topic exists; a new version.
  auto again = h->cli({"edges", "move", "--edge", "e1", "--cluster", "b", "--json"});
  REQUIRE(again.code == 0);
  auto j = parseJson(again.out);
  CHECK(std::string(j["topic_state"].GetString()) == "exists");
  CHECK(std::string(j["from_cluster"].GetString()) == "a");
  CHECK(std::string(j["outcome"].GetString()) == "sent");
  CHECK(j["version"].GetInt64() > version);

  // Heard on B now: send and config push publish there (B's topic is empty but for these).
  h->sql("UPDATE edges SET kafka_cluster = 'b' WHERE edge_id = 'e1'");
  auto sent = h->cli({"send", "--edge", "e1", "--type", "ping"});
  INFO(sent.err);
  REQUIRE(sent.code == 0);
  CHECK_THAT(sent.out,
             Catch::Contains("published to " + h->topic("e1") + " [partition 0, offset 0]"));
  auto fleet = h->cli({"config", "push", "--fleet"});
  REQUIRE(fleet.code == 0);
  CHECK_THAT(fleet.out, Catch::Contains("config_changed sent to 2 edge(s)"));
  KafkaTestClient onB(b->bootstrap());
  auto records = onB.readFromStart(h->topic("e1"), 2, 15000);
  REQUIRE(records.size() == 2);
  CHECK(eventType(records[0]) == "ping");
  CHECK(records[0].header("edgelink-sig").size() == 1);
  CHECK(eventType(records[1]) == "config_changed");
  // e2 was never heard elsewhere: its push went to A.
  auto e2 = a.readFromStart(h->topic("e2"), 1, 15000);
  REQUIRE(e2.size() == 1);
  CHECK(eventType(e2[0]) == "config_changed");
}

// B below is a second name for the test's broker: what --wait reads is PostgreSQL, which these
// tests write as the ingest would.
TEST_CASE("edges move --wait: moved once the edge is heard on the target with the version applied",
          "[dispatcher][cli][clusters]") {
  auto shared = makeBroker(BrokerOptions());
  auto h = clusterHarness({"b=" + shared->bootstrap()});
  std::string out;
  const int code = moveWaiting(
      *h, "60s",
      [&](int64_t version) {
        h->sql("UPDATE edges SET kafka_cluster = 'b', config_version = " + std::to_string(version) +
               " WHERE edge_id = 'e1'");
      },
      out);
  CHECK(code == 0);
  CHECK_THAT(out, Catch::Contains("edge e1: config_changed sent on Kafka cluster a\n"));
  CHECK_THAT(out, Catch::EndsWith("edge e1: moved to Kafka cluster b, config version " +
                                  std::to_string(scopeVersion(*h, "e1")) + " applied\n"));
}

TEST_CASE("edges move --wait: a config_refused event for its version, or no move in time",
          "[dispatcher][cli][clusters]") {
  auto shared = makeBroker(BrokerOptions());
  auto h = clusterHarness({"b=" + shared->bootstrap()});
  std::string out;
  const int refused = moveWaiting(
      *h, "60s",
      [&](int64_t version) {
        h->sql(
            "INSERT INTO events (edge_id, kafka_partition, kafka_offset, id, type, sender, "
            "sent_at, received_at, body) VALUES ('e1', 0, 1000, 'r1', 'config_refused', "
            "'edge_board', now(), now(), '{\"version\": " +
            std::to_string(version) +
            ", \"reason\": \"kafka-brokers: topic not readable on the new cluster within 60 "
            "s\"}')");
      },
      out);
  CHECK(refused == 1);
  CHECK_THAT(out, Catch::EndsWith("edge e1: refused config version " +
                                  std::to_string(scopeVersion(*h, "e1")) +
                                  ": kafka-brokers: topic not readable on the new cluster within "
                                  "60 s\n"));

  // Heard on b but with an older version applied: not moved; --wait passes.
  h->sql("UPDATE edges SET kafka_cluster = 'b', config_version = 0 WHERE edge_id = 'e1'");
  auto late = h->cli({"edges", "move", "--edge", "e1", "--cluster", "b", "--wait", "1s", "--json"});
  CHECK(late.code == 3);
  auto j = parseJson(late.out);
  CHECK(std::string(j["outcome"].GetString()) == "timeout");
  auto text = h->cli({"edges", "move", "--edge", "e1", "--cluster", "b", "--wait", "1"});
  CHECK(text.code == 3);
  CHECK_THAT(text.out, Catch::EndsWith("edge e1: not moved within 1 s (last heard on Kafka "
                                       "cluster b, config version applied 0); the board rolls "
                                       "back by itself if it cannot read its topic on b within "
                                       "its cluster-move-timeout\n"));
}
