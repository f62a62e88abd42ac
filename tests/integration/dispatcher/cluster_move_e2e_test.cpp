// Moving a board to another Kafka cluster end to end (docs/REMOTE-CONFIG.md "Moving a board"):
// two real Kafka brokers (cluster a: the shared one; cluster b: a private one), one dispatcher
// daemon per cluster against the same PostgreSQL, the real agent. `edges move --cluster b`
// makes the board switch; it is heard and answers on b, with its session running; a move to a
// cluster the board cannot reach is rolled back by the board and reported on a.
#include <catch2/catch.hpp>

#include "agent_harness.h"
#include "dispatcher_harness.h"

using namespace edgelink;
using namespace edgelink::testing;

namespace {

std::unique_ptr<TestBroker> privateRealBroker() {
  BrokerOptions o;
  o.kind = BrokerKind::kKafka;
  o.privateBroker = true;
  return makeBroker(o);
}

}  // namespace

TEST_CASE("edges move: the board switches to the other cluster and answers there",
          "[dispatcher][agent][remote-config][cluster-move]") {
  auto clusterB = privateRealBroker();
  BrokerOptions shared;
  shared.kind = BrokerKind::kKafka;
  auto clusterA = makeBroker(shared);  // the run's shared broker, the harness's too
  // One list for both dispatchers (each skips its own name).
  const std::string clusters =
      "kafka-clusters = [\"a=" + clusterA->bootstrap() + "\", \"b=" + clusterB->bootstrap() + "\"]";
  DispatcherHarness::Setup setup({"mv1"},
                                 {"kafka-cluster = \"a\"", clusters, "topic-replication = 1"});
  setup.broker = BrokerKind::kKafka;
  DispatcherHarness h(setup);
  h.startDaemon();                                                                    // cluster a
  h.startDaemon({"--kafka-brokers", clusterB->bootstrap(), "--kafka-cluster", "b"});  // b
  AgentSetup as;
  as.edgeId = "mv1";
  as.sharedBroker = &h.broker();
  as.topicPrefix = h.topicPrefix();
  as.trustedKeys = {h.signingPublicKey()};
  as.extraConfig = {"cluster-move-timeout = \"10s\"", "heartbeat-interval = \"2s\""};
  AgentUnderTest agent(as);
  agent.start();
  REQUIRE(h.waitFor("SELECT kafka_cluster FROM edges WHERE edge_id = 'mv1'", "a"));
  auto start = h.cli({"session", "open", "--edge", "mv1", "--services", "ssh", "--wait", "30"});
  INFO(start.out << start.err);
  REQUIRE(start.code == 0);
  const std::vector<int> startsBefore = agent.frpcStarts();
  REQUIRE(startsBefore.size() == 1);

  auto move = h.cli({"edges", "move", "--edge", "mv1", "--cluster", "b", "--wait", "60"}, 90000);
  INFO(move.out << move.err << "\ndispatcher b:\n" << h.daemonLog(1));
  REQUIRE(move.code == 0);
  CHECK(h.sql("SELECT kafka_cluster FROM edges WHERE edge_id = 'mv1'") == "b");
  CHECK(h.count("SELECT count(*) FROM events WHERE edge_id = 'mv1' AND type = 'config_applied'") ==
        1);
  auto show = h.cli({"edges", "show", "mv1"});
  CHECK_THAT(show.out, Catch::Matches("[\\s\\S]*\\ncluster: +b \\(heard [\\s\\S]*"));

  // Requests go to b now, and are answered there; the session ran through the move.
  auto ping = h.cli({"send", "--edge", "mv1", "--type", "ping", "--wait", "30"});
  INFO(ping.out << ping.err);
  CHECK(ping.code == 0);
  auto status = h.cli({"send", "--edge", "mv1", "--type", "frp_status", "--wait", "30"});
  CHECK(status.code == 0);
  CHECK_THAT(status.out, Catch::Contains("running"));
  CHECK(agent.frpcStarts() == startsBefore);
  CHECK(processAlive(startsBefore[0]));
}

TEST_CASE("a move the board cannot make is rolled back and reported on the cluster it is on",
          "[dispatcher][agent][remote-config][cluster-move]") {
  DispatcherHarness::Setup setup({"mv2"}, {"kafka-cluster = \"a\""});
  setup.broker = BrokerKind::kKafka;
  DispatcherHarness h(setup);
  h.startDaemon();
  AgentSetup as;
  as.edgeId = "mv2";
  as.sharedBroker = &h.broker();
  as.topicPrefix = h.topicPrefix();
  as.trustedKeys = {h.signingPublicKey()};
  as.extraConfig = {"cluster-move-timeout = \"5s\""};
  AgentUnderTest agent(as);
  agent.start();
  REQUIRE(h.waitFor("SELECT kafka_cluster FROM edges WHERE edge_id = 'mv2'", "a"));
  // A cluster nobody listens on, set by hand (`edges move` would not get past making the topic).
  REQUIRE(h.cli({"config", "set", "--edge", "mv2", "kafka-brokers=127.0.0.1:9",
                 "kafka-cluster=nowhere"})
              .code == 0);
  const int64_t version = h.count("SELECT version FROM config_scopes WHERE scope = 'mv2'");
  REQUIRE(h.cli({"config", "push", "--edge", "mv2"}).code == 0);
  REQUIRE(
      h.waitFor("SELECT count(*) FROM events WHERE edge_id = 'mv2' AND type = "
                "'config_refused' AND (body->>'version')::bigint = " +
                    std::to_string(version),
                "1", 60000));
  CHECK(h.count("SELECT count(*) FROM events WHERE type = 'config_refused'"
                " AND body->>'reason' LIKE '%127.0.0.1:9%staying on Kafka cluster%'") == 1);
  // Still on a, still answering.
  auto ping = h.cli({"send", "--edge", "mv2", "--type", "ping", "--wait", "30"});
  CHECK(ping.code == 0);
  CHECK(h.sql("SELECT kafka_cluster FROM edges WHERE edge_id = 'mv2'") == "a");
  CHECK(h.count("SELECT config_version FROM edges WHERE edge_id = 'mv2'") == 0);
}
