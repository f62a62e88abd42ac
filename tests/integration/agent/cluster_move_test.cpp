// A board moved to another Kafka cluster by its remote config (docs/REMOTE-CONFIG.md "Moving a
// board"), on two real Kafka brokers: the shared one (cluster A) and a private one (cluster B).
// The test plays the cloud on both. The switch happens only once the board's topic is read on
// B (a B without the topic, or no B at all, is refused on A and the board stays there), the
// session runs on through the move, the board answers on B and no longer on A, and it is still
// on B after a restart.
#include <catch2/catch.hpp>

#include "agent_harness.h"
#include "agent_test_util.h"
#include "harness/kafka_test_client.h"
#include "remote_config_util.h"

using namespace edgelink;
using namespace edgelink::testing;

namespace {

const std::vector<std::string> kFastMove = {"--config-request-timeout", "60s",
                                            "--cluster-move-timeout", "5s"};

/// The other cluster: a private real broker, a client that plays the cloud there, and the
/// board's topic as read there.
struct ClusterB {
  std::unique_ptr<TestBroker> broker = makeBroker([] {
    BrokerOptions o;
    o.privateBroker = true;
    return o;
  }());
  KafkaTestClient client{broker->bootstrap()};
  std::unique_ptr<TopicLog> log;

  void createTopic(const std::string& topic) {
    broker->createTopics({TopicSpec(topic)});
    log = std::make_unique<TopicLog>(broker->bootstrap(), topic);
  }
  /// A signed request to the board on B; its id.
  envelope::Id send(AgentUnderTest& agent, const std::string& type) {
    auto id = envelope::Id::generate();
    const std::string value = requestJson(id, type, "{}", nowMs());
    client.produce(agent.topic(), agent.setup().edgeId, value, agent.signatureHeaders(value));
    return id;
  }
};

TopicLog::Pred refusedWith(int64_t version, const std::string& text) {
  return [=](const envelope::Envelope& e) {
    const char* reason = json::getString(e.body(), "reason");
    return e.kind == envelope::Kind::kEvent && e.type == "config_refused" &&
           num(e.body(), "version") == version && reason != nullptr &&
           std::string(reason).find(text) != std::string::npos;
  };
}

std::string moveTo(const std::string& bootstrap) {
  return R"({"kafka-brokers":")" + bootstrap + R"(","kafka-cluster":"b","heartbeat-interval":2})";
}

}  // namespace

TEST_CASE(
    "a board moves to another Kafka cluster once its topic is there, with its session running, "
    "and stays there across a restart",
    "[agent][remote-config][cluster-move]") {
  AgentUnderTest agent;
  agent.start(kFastMove);
  auto first = nthGetConfig(agent, 1);
  auto started = startSession(agent, R"({"services":{"ssh":31022},"auto_stop_seconds":600})");
  const int pid = pidOf(started);
  ClusterB b;

  // B is up but has no topic for the board: the move is refused on A, the board stays.
  answer(agent, first, 7, moveTo(b.broker->bootstrap()));
  auto refused = agent.event(refusedWith(7, "staying on Kafka cluster"), 30000);
  INFO(str(refused, "reason"));
  CHECK(str(refused, "reason").find(agent.topic()) != std::string::npos);
  CHECK(agent.response(agent.send("ping")).statusCode == 200);

  // With the topic there, config_changed brings the same config again: the board moves.
  b.createTopic(agent.topic());
  configChanged(agent, 7);
  auto second = nthGetConfig(agent, 2);
  answer(agent, second, 7, moveTo(b.broker->bootstrap()));
  REQUIRE(b.log->waitFor(eventWithVersion("config_applied", 7), 30000));
  // On B: the heartbeat at once, with the version; a get_config asked there; requests answered.
  REQUIRE(b.log->waitFor(heartbeatWith(2, 7), 20000));
  REQUIRE(b.log->waitFor(getConfigRequest(), 20000));
  const auto onA = agent.send("ping");
  const auto onB = b.send(agent, "ping");
  REQUIRE(b.log->waitFor(responseTo(onB), 20000));
  auto status = b.send(agent, "frp_status");
  auto st = b.log->waitFor(responseTo(status), 20000);
  REQUIRE(st);
  // The session ran through the move: same frpc, never restarted.
  CHECK(str(*st, "state") == "running");
  CHECK(pidOf(*st) == pid);
  CHECK(processAlive(pid));
  CHECK(agent.frpcStarts().size() == 1);
  // A is no longer read: the ping sent there before B's is not answered.
  CHECK(agent.responseCount(onA) == 0);
  CHECK(agent.log().count(eventWithVersion("config_applied", 7)) == 0);
  CHECK_THAT(agent.agentLog(), Catch::Contains("moved from Kafka cluster"));

  // A restart comes back on B (remote-config.json names it).
  REQUIRE(agent.stop() == 0);
  const size_t before = b.log->count(eventOf("agent_started"));
  agent.start(kFastMove);
  REQUIRE(waitUntil([&] { return b.log->count(eventOf("agent_started")) > before; }, 30000));
  const auto afterRestart = b.send(agent, "ping");
  REQUIRE(b.log->waitFor(responseTo(afterRestart), 20000));
  CHECK(agent.responseCount(onA) == 0);
}

TEST_CASE("a move to a cluster that cannot be reached rolls back: the board stays and says why",
          "[agent][remote-config][cluster-move]") {
  AgentUnderTest agent;
  agent.start(kFastMove);
  auto first = nthGetConfig(agent, 1);
  // A port nothing listens on (the broker's own port + 1 is taken by its controller; this one
  // is a reserved low port no test binds).
  answer(agent, first, 3, moveTo("127.0.0.1:9"));
  // The board keeps answering on A while it tries.
  CHECK(agent.response(agent.send("ping")).statusCode == 200);
  auto refused = agent.event(refusedWith(3, "cannot read topic"), 30000);
  CHECK_THAT(str(refused, "reason"), Catch::Contains("127.0.0.1:9"));
  CHECK_THAT(str(refused, "reason"), Catch::Contains("within 5 s"));
  CHECK(agent.log().count(heartbeatWith(30, 0)) >= 1);  // the one at start; none with 3
  CHECK(agent.log().count(eventWithVersion("config_applied", 3)) == 0);
  CHECK(agent.response(agent.send("ping")).statusCode == 200);
  CHECK_THAT(agent.agentLog(), Catch::Contains("refused: kafka-brokers: cannot read topic"));
}
