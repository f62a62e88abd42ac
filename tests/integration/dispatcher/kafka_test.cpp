// What only a real Kafka broker shows (the mock has no CreateTopics and sees new topics on its own
// timings): edge topics made through the admin API, and new edges picked up while running.
#include <catch2/catch.hpp>

#include "dispatcher_harness.h"
#include "harness/kafka_test_client.h"
#include "harness/test_broker.h"
#include "test_messages.h"

using namespace edgelink;
using namespace edgelink::testing;

TEST_CASE("edges add creates the edge topic through the admin API and again is a no-op",
          "[dispatcher][kafka]") {
  DispatcherHarness::Setup setup({}, {"topic-replication = 1", "topic-retention = \"72h\""});
  setup.broker = BrokerKind::kKafka;  // the mock has no CreateTopics (a test of its own)
  DispatcherHarness h(setup);
  auto r = h.cli({"edges", "add", "new-1", "new-2"});
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  CHECK_THAT(r.out, Catch::Contains("created"));
  // The shared broker has no authorizer: kafka-acls = auto grants nothing and says so.
  CHECK_THAT(r.out, Catch::Contains("no authorizer"));
  for (const std::string edge : {"new-1", "new-2"}) {
    auto t = describeTopic(h.broker().bootstrap(), h.topic(edge));
    CHECK(t["partitions"] == "1");
    CHECK(t["replicas"] == "1");
    CHECK(t["retention.ms"] == std::to_string(72LL * 3600 * 1000));
    // The agents' limit (64 KiB) plus room for the batch header, key and headers: the broker
    // refuses what an agent would refuse anyway.
    CHECK(t["max.message.bytes"] == std::to_string(65536 + 4096));
    // The broker stamps the records: the agents judge requests' age on broker time.
    CHECK(t["message.timestamp.type"] == "LogAppendTime");
  }
  CHECK(h.count("SELECT count(*) FROM edges WHERE edge_id IN ('new-1', 'new-2')") == 2);
  // The broker refuses a message above the topic's limit at produce time.
  KafkaTestClient kafka(h.broker().bootstrap());
  CHECK_THROWS_AS(kafka.produce(h.topic("new-1"), "new-1", std::string(80 * 1024, 'x')),
                  ProduceRefused);
  kafka.produce(h.topic("new-1"), "new-1", requestJson("fits"));

  // Again: nothing changes, and says so.
  auto again = h.cli({"edges", "add", "new-1"});
  INFO(again.out << again.err);
  CHECK(again.code == 0);
  CHECK_THAT(again.out, Catch::Contains("exists"));
  CHECK(h.count("SELECT count(*) FROM edges WHERE edge_id = 'new-1'") == 1);
  CHECK(describeTopic(h.broker().bootstrap(), h.topic("new-1"))["partitions"] == "1");
  // A replication factor the cluster cannot give is refused with the broker's words.
  auto tooMany = h.cli({"edges", "add", "new-3", "--topic-replication", "3"});
  CHECK(tooMany.code == 4);
  CHECK_THAT(tooMany.err, Catch::Contains("replication factor"));
  // kafka-acls = on insists on ACLs: without an authorizer that is a failure, with a way out.
  auto insist = h.cli({"edges", "add", "new-1", "--kafka-acls", "on"});
  CHECK(insist.code == 4);
  CHECK_THAT(insist.err, Catch::Contains("SECURITY_DISABLED"));
  CHECK_THAT(insist.err, Catch::Contains("kafka-acls"));
  auto off = h.cli({"edges", "add", "new-1", "--kafka-acls", "off"});
  CHECK(off.code == 0);
  CHECK_THAT(off.out, !Catch::Contains("no authorizer"));
}

TEST_CASE("a running dispatcher picks up a new edge's topic within its metadata refresh",
          "[dispatcher][kafka]") {
  // The production default refresh is 60 s; the test's 500 ms (fastTestConfig) stands for it.
  DispatcherHarness::Setup setup({"e1"}, {"topic-replication = 1"});
  setup.broker = BrokerKind::kKafka;  // the mock has no CreateTopics
  DispatcherHarness h(setup);
  h.startDaemon();
  REQUIRE(h.waitAssigned(1));
  KafkaTestClient kafka(h.broker().bootstrap());
  kafka.produce(h.topic("e1"), "e1", requestJson("on-e1"));
  REQUIRE(h.waitFor("SELECT count(*) FROM requests", "1"));

  REQUIRE(h.cli({"edges", "add", "late-1"}).code == 0);
  // Written before the dispatcher sees the topic: read from its start once it is assigned.
  kafka.produce(h.topic("late-1"), "late-1", requestJson("first-on-late-1"));
  REQUIRE(h.waitAssigned(2));
  kafka.produce(h.topic("late-1"), "late-1", requestJson("second-on-late-1"));
  REQUIRE(h.waitFor("SELECT string_agg(id, ',' ORDER BY id) FROM requests WHERE edge_id = 'late-1'",
                    "first-on-late-1,second-on-late-1"));
  CHECK(h.count("SELECT count(*) FROM requests") == 3);
}

TEST_CASE("Kafka headers travel byte for byte, repeated names included", "[dispatcher][kafka]") {
  // Signatures ride in headers (common/security/signature.h): what is produced is what is read.
  auto broker = makeBroker(BrokerOptions());
  std::string topic = uniqueName("hdr");
  broker->createTopics({TopicSpec(topic)});
  KafkaTestClient kafka(broker->bootstrap(), broker->clientProperties());
  std::string binary("\0\x01\xff sig", 6);
  kafka.produce(
      topic, "k", "v1",
      {{"edgelink-key", "0123456789abcdef"}, {"edgelink-sig", binary}, {"edgelink-sig", "second"}});
  kafka.produce(topic, "k", "v2");
  auto got = kafka.readFromStart(topic, 2, 30000);
  REQUIRE(got.size() == 2);
  CHECK(got[0].header("edgelink-key") == std::vector<std::string>{"0123456789abcdef"});
  CHECK(got[0].header("edgelink-sig") == std::vector<std::string>{binary, "second"});
  CHECK(got[1].headers.empty());
}
