// The agent and the dispatcher together on a real Apache Kafka broker: the broker killed -9 and
// started again mid-stream, and both connecting over SASL_SSL (SCRAM over TLS) with the settings
// the docs give.
#include <catch2/catch.hpp>
#include <set>
#include <thread>

#include "agent_harness.h"
#include "dispatcher_harness.h"
#include "kafka/client.h"
#include "online_edges.h"

using namespace edgelink;
using namespace edgelink::testing;

namespace {

/// A web backend publishing `count` pings to `topic`, one every `gapMs`, with an idempotent
/// producer (no duplicates when it retries across the broker's restart), signed as `agent`
/// trusts. Returns what went wrong, or "".
std::string publishPings(const AgentUnderTest& agent, const std::string& bootstrap,
                         const std::string& topic, const std::string& key, int count, int gapMs,
                         std::vector<envelope::Id>& ids) {
  kafka::Config c;
  c.set("bootstrap.servers", bootstrap);
  c.set("enable.idempotence", "true");
  c.set("linger.ms", "0");
  c.set("log_level", "2");
  c.set("reconnect.backoff.max.ms", "500");
  auto producer = kafka::Producer::create(c);
  if (!producer) {
    return producer.error().describe();
  }
  for (int i = 0; i < count; ++i) {
    ids.push_back(envelope::Id::text("stream-" + std::to_string(i)));
    const std::string value = requestJson(ids.back(), "ping", "{}", nowMs());
    if (auto r = (*producer)->produce(topic, key, value, agent.signatureHeaders(value)); !r) {
      return r.error().describe();
    }
    (*producer)->poll(gapMs);
  }
  auto flushed = (*producer)->flush(120000);
  return flushed ? std::string() : flushed.error().describe();
}

}  // namespace

TEST_CASE(
    "the broker killed -9 and restarted mid-stream: agent and dispatcher recover by themselves",
    "[dispatcher][agent][kafka][faults]") {
  DispatcherHarness::Setup setup({"k1"});
  setup.broker = BrokerKind::kKafka;
  setup.privateBroker = true;  // killed below
  DispatcherHarness h(setup);
  h.startDaemon();
  AgentSetup as;
  as.edgeId = "k1";
  as.sharedBroker = &h.broker();
  as.topicPrefix = h.topicPrefix();
  AgentUnderTest agent(as);
  agent.start();
  REQUIRE(agent.response(agent.send("ping")).statusCode == 200);
  REQUIRE(h.waitFor("SELECT count(*) FROM request_status WHERE state = 'succeeded'", "1"));

  const int count = 60;
  std::vector<envelope::Id> ids;
  std::string published;
  std::thread backend([&] {
    published = publishPings(agent, h.broker().bootstrap(), h.topic("k1"), "k1", count, 100, ids);
  });
  REQUIRE(waitUntil([&] { return h.count("SELECT count(*) FROM responses") > 10; }, 30000));
  h.broker().kill9();
  std::this_thread::sleep_for(std::chrono::seconds(2));  // an outage, not synchronisation
  h.broker().restart();
  backend.join();
  REQUIRE(published.empty());

  // Every ping answered exactly once by the agent, every request and answer stored once.
  for (const auto& id : ids) {
    INFO(id.str());
    CHECK(agent.response(id, 60000).statusCode == 200);
  }
  REQUIRE(h.waitFor("SELECT count(*) FROM request_status WHERE state = 'succeeded'",
                    std::to_string(count + 1), 60000));
  for (const auto& id : ids) {
    CHECK(agent.responseCount(id) == 1);
  }
  CHECK(h.count("SELECT count(*) FROM requests") == count + 1);
  CHECK(h.count("SELECT count(*) FROM responses") == count + 1);
  CHECK(agent.running());
  CHECK(h.daemon(0).tryWait() == std::nullopt);
  // Both noticed the outage and came back without help.
  CHECK_THAT(agent.agentLog(), Catch::Contains("Connection refused"));
  CHECK_THAT(h.daemonLog(0), Catch::Contains("Connection refused"));
  // The agent counted it: a heartbeat after the outage says so (one every 30 s).
  CHECK(
      h.waitFor("SELECT (agent_metrics->>'kafka_reconnects')::int >= 1 FROM edges"
                " WHERE edge_id = 'k1'",
                "t", 70000));
}

TEST_CASE("agent and dispatcher connect over SASL_SSL with the settings the docs give",
          "[dispatcher][agent][kafka]") {
  DispatcherHarness::Setup setup({"s1"});
  setup.broker = BrokerKind::kKafka;  // the mock has no SASL_SSL listener
  setup.sasl = true;
  DispatcherHarness h(setup);
  CHECK_THAT(readText(h.configPath()), Catch::Contains("security.protocol=SASL_SSL"));
  h.startDaemon();
  AgentSetup as;
  as.edgeId = "s1";
  as.sharedBroker = &h.broker();
  as.topicPrefix = h.topicPrefix();
  as.sasl = true;
  as.trustedKeys = {h.signingPublicKey()};  // the dispatcher signs its requests
  AgentUnderTest agent(as);
  agent.start();
  REQUIRE(h.waitAssigned(1));
  REQUIRE(h.waitFor("SELECT online FROM edge_status WHERE edge_id = 's1'", "t"));
  // The real agent's heartbeat carries its metrics, stored as the edge's.
  CHECK(
      h.waitFor("SELECT agent_metrics->'requests' ? 'ok' AND (agent_metrics->>'rss_bytes')::bigint"
                " > 0 AND (agent_metrics->>'kafka_reconnects')::int = 0 FROM edges"
                " WHERE edge_id = 's1'",
                "t"));
  // The operator's CLI publishes over SASL_SSL too; the agent answers over it.
  auto r = h.cli({"send", "--edge", "s1", "--type", "system_info", "--wait", "30"});
  INFO(r.out << r.err << agent.agentLog());
  CHECK(r.code == 0);
  CHECK(h.count("SELECT count(*) FROM request_status WHERE state = 'succeeded'") == 1);
  // The secret is never logged.
  auto sasl = h.broker().sasl();
  REQUIRE(sasl);
  CHECK(agent.agentLog().find(sasl->password) == std::string::npos);
  CHECK(h.daemonLog(0).find(sasl->password) == std::string::npos);

  // A wrong password is refused by the broker, and the agent says so.
  AgentSetup wrong = as;
  wrong.edgeId = "s2";
  wrong.saslPassword = "not-the-password";
  AgentUnderTest refused(wrong);
  refused.start();
  CHECK(waitUntil(
      [&] { return refused.agentLog().find("Authentication failed") != std::string::npos; },
      30000));
  CHECK(refused.agentLog().find("not-the-password") == std::string::npos);
}
