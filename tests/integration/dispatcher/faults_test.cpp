// Faults: kill -9 mid-stream, PostgreSQL down for a while, a dispatcher of a group dying.
// Nothing lost, nothing stored twice.
#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <thread>

#include "dispatcher_harness.h"
#include "harness/kafka_test_client.h"
#include "harness/pg_cluster.h"
#include "kafka/client.h"
#include "test_messages.h"

using namespace edgelink;
using namespace edgelink::testing;

namespace {

/// Produces `perEdge` requests, responses and events to each edge, in chunks (a stream).
/// Runs on its own thread: returns what went wrong instead of asserting.
std::string produceStream(const std::string& bootstrap, const std::string& topicPrefix,
                          const std::vector<std::string>& edges, int perEdge,
                          const std::string& tag) {
  kafka::Config c;
  c.set("bootstrap.servers", bootstrap);
  c.set("linger.ms", "5");
  c.set("log_level", "3");
  auto producer = kafka::Producer::create(c);
  if (!producer) {
    return producer.error().describe();
  }
  for (int i = 0; i < perEdge; ++i) {
    for (const auto& e : edges) {
      std::string id = tag + "-" + e + "-" + std::to_string(i);
      for (const auto& m : {requestJson(id), responseJson(id, 200), eventJson("agent_stopping")}) {
        if (auto r = (*producer)->produce(topicPrefix + e, e, m); !r) {
          return r.error().describe();
        }
      }
    }
    if (i % 50 == 49) {
      if (auto r = (*producer)->flush(10000); !r) {
        return r.error().describe();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));  // pacing, not synchronisation
    }
  }
  auto r = (*producer)->flush(10000);
  return r ? std::string() : r.error().describe();
}

std::string hostName() {
  char buf[256] = {0};
  ::gethostname(buf, sizeof buf - 1);
  return buf;
}

}  // namespace

TEST_CASE("kill -9 mid-stream, then a restart: every message is stored exactly once",
          "[dispatcher][faults]") {
  const std::vector<std::string> edges = {"k1", "k2", "k3"};
  DispatcherHarness h({edges, {"batch-size = 50"}});
  h.startDaemon();
  const int perEdge = 500;
  std::string produceError;
  std::thread producer([&] {
    produceError = produceStream(h.broker().bootstrap(), h.topicPrefix(), edges, perEdge, "s");
  });
  const bool midStream =
      waitUntil([&] { return h.count("SELECT count(*) FROM requests") > 150; }, 30000);
  ::kill(h.daemon(0).pid(), SIGKILL);
  producer.join();
  REQUIRE(produceError.empty());
  REQUIRE(midStream);
  const int64_t beforeRestart = h.count("SELECT count(*) FROM requests");
  CHECK(beforeRestart < 3 * perEdge);  // it really died mid-stream
  h.startDaemon();
  const std::string total = std::to_string(3 * perEdge);
  REQUIRE(h.waitFor("SELECT count(*) FROM requests", total, 60000));
  REQUIRE(h.waitFor("SELECT count(*) FROM responses", total, 30000));
  REQUIRE(h.waitFor("SELECT count(*) FROM events", total, 30000));
  CHECK(h.sql("SELECT count(DISTINCT (edge_id, kafka_offset)) FROM events") == total);
  CHECK(h.sql("SELECT count(*) FROM request_status WHERE state = 'succeeded'") == total);
  // Per edge: offsets 0..3*perEdge-1, each exactly once across requests, responses and events.
  for (const auto& e : edges) {
    CHECK(h.sql("SELECT count(*) FROM (SELECT kafka_offset FROM requests WHERE edge_id = '" + e +
                "' UNION ALL SELECT kafka_offset FROM responses WHERE edge_id = '" + e +
                "' UNION ALL SELECT kafka_offset FROM events WHERE edge_id = '" + e +
                "') o WHERE kafka_offset BETWEEN 0 AND " + std::to_string(3 * perEdge - 1)) ==
          std::to_string(3 * perEdge));
  }
  CHECK(h.count("SELECT count(*) FROM rejected_messages") == 0);
}

TEST_CASE("PostgreSQL down for a while: the dispatcher waits, then stores everything",
          "[dispatcher][faults]") {
  auto cluster = PgCluster::start();  // private: stopping it disturbs no other test
  DispatcherHarness h({{"p1"}, {}, cluster->createDatabase("outage")});
  h.startDaemon();
  KafkaTestClient kafka(h.broker().bootstrap());
  kafka.produce(h.topic("p1"), "p1", requestJson("before"));
  REQUIRE(h.waitFor("SELECT count(*) FROM requests", "1"));
  cluster->stop();
  for (int i = 0; i < 20; ++i) {
    kafka.produce(h.topic("p1"), "p1", requestJson("during-" + std::to_string(i)));
    kafka.produce(h.topic("p1"), "p1", responseJson("during-" + std::to_string(i), 200));
  }
  // The daemon noticed (and kept its batch) before the database comes back.
  REQUIRE(h.waitForLog(0, "keeping it and retrying"));
  cluster->startAgain();
  kafka.produce(h.topic("p1"), "p1", requestJson("after"));
  REQUIRE(h.waitFor("SELECT count(*) FROM requests", "22", 60000));
  CHECK(h.count("SELECT count(*) FROM responses") == 20);
  CHECK(h.count("SELECT count(*) FROM request_status WHERE state = 'succeeded'") == 20);
  CHECK_THAT(h.daemonLog(0), Catch::Contains("PostgreSQL is reachable again"));
  CHECK(h.daemon(0).tryWait() == std::nullopt);  // it never gave up
}

TEST_CASE("Kafka gone after a batch is stored: the commit gives up in time and SIGTERM still stops",
          "[dispatcher][faults]") {
  // PostgreSQL down holds a consumed batch; the broker goes away before the batch can be stored,
  // so its offsets are committed while no coordinator answers. A commit that waits forever would
  // hang the consumer thread and with it every shutdown.
  auto cluster = PgCluster::start();
  DispatcherHarness::Setup setup({"k1"}, {}, cluster->createDatabase("kafka_gone"));
  setup.privateBroker = true;  // killed below
  DispatcherHarness h(setup);
  h.startDaemon();
  KafkaTestClient kafka(h.broker().bootstrap());
  kafka.produce(h.topic("k1"), "k1", requestJson("before"));
  REQUIRE(h.waitFor("SELECT count(*) FROM requests", "1"));
  cluster->stop();
  for (int i = 0; i < 5; ++i) {
    kafka.produce(h.topic("k1"), "k1", requestJson("held-" + std::to_string(i)));
  }
  REQUIRE(h.waitForLog(0, "keeping it and retrying"));
  h.broker().kill9();
  cluster->startAgain();
  // What it had consumed (on a real broker, perhaps not all five yet) is stored...
  REQUIRE(waitUntil([&] { return h.count("SELECT count(*) FROM requests") > 1; }, 60000));
  // ...and its offsets cannot be committed.
  REQUIRE(h.waitForLog(0, "committing offsets after storing"));
  INFO(h.daemonLog(0));
  CHECK(h.daemon(0).tryWait() == std::nullopt);
  REQUIRE(h.daemon(0).signal(SIGTERM));
  auto status = h.daemon(0).waitFor(40000);
  REQUIRE(status.has_value());
  CHECK(WIFEXITED(*status));
  CHECK(WEXITSTATUS(*status) == 0);
  // With the broker back, a new dispatcher reads from the last commit: whatever is stored already
  // changes nothing, the rest arrives, nothing twice.
  h.broker().restart();
  h.startDaemon();
  REQUIRE(h.waitFor("SELECT count(*) FROM requests", "6", 60000));
  CHECK(h.count("SELECT count(DISTINCT id) FROM requests") == 6);
}

TEST_CASE("two dispatchers in one group split the edge topics and one takes over from the other",
          "[dispatcher][faults]") {
  const std::vector<std::string> edges = {"g1", "g2", "g3", "g4", "g5", "g6"};
  DispatcherHarness h(DispatcherHarness::Setup{edges, {"batch-size = 50"}});
  size_t a = h.startDaemon();
  size_t b = h.startDaemon();
  REQUIRE(
      h.waitFor("SELECT count(*) || '/' || sum(assigned_partitions) FROM dispatchers"
                " WHERE state = 'running' AND assigned_partitions BETWEEN 1 AND 5",
                "2/6"));
  // A stream to every edge; one member dies by kill -9 in the middle of it.
  const int perEdge = 150;
  std::string produceError;
  std::thread producer([&] {
    produceError = produceStream(h.broker().bootstrap(), h.topicPrefix(), edges, perEdge, "s");
  });
  const bool midStream =
      waitUntil([&] { return h.count("SELECT count(*) FROM requests") > 100; }, 30000);
  ::kill(h.daemon(a).pid(), SIGKILL);
  producer.join();
  REQUIRE(produceError.empty());
  REQUIRE(midStream);
  // The survivor gets the dead member's partitions once the broker evicts it (session timeout).
  const std::string survivor = hostName() + ":" + std::to_string(h.daemon(b).pid());
  REQUIRE(h.waitFor("SELECT assigned_partitions FROM dispatchers WHERE member = '" + survivor + "'",
                    "6", 60000));
  const int64_t total = static_cast<int64_t>(edges.size()) * perEdge;
  REQUIRE(h.waitFor("SELECT count(*) FROM requests", std::to_string(total), 60000));
  REQUIRE(h.waitFor("SELECT count(*) FROM responses", std::to_string(total), 30000));
  REQUIRE(h.waitFor("SELECT count(*) FROM events", std::to_string(total), 30000));
  // Nothing twice: every offset of every edge is stored exactly once, in one of the tables.
  for (const auto& e : edges) {
    CHECK(h.sql("SELECT count(*) || '/' || count(DISTINCT kafka_offset) FROM (SELECT kafka_offset"
                " FROM requests WHERE edge_id = '" +
                e +
                "' UNION ALL SELECT kafka_offset FROM"
                " responses WHERE edge_id = '" +
                e +
                "' UNION ALL SELECT kafka_offset FROM events"
                " WHERE edge_id = '" +
                e + "') o") == std::to_string(3 * perEdge) + "/" + std::to_string(3 * perEdge));
  }
  CHECK(h.count("SELECT count(*) FROM request_status WHERE state = 'succeeded'") == total);
}

TEST_CASE("a whole topic read again by a new consumer group changes nothing",
          "[dispatcher][faults]") {
  DispatcherHarness h({{"r1"}});
  KafkaTestClient kafka(h.broker().bootstrap());
  for (int i = 0; i < 30; ++i) {
    kafka.produce(h.topic("r1"), "r1", requestJson("again-" + std::to_string(i)));
    kafka.produce(h.topic("r1"), "r1", responseJson("again-" + std::to_string(i), 200));
  }
  kafka.produce(h.topic("r1"), "r1", eventJson("agent_stopping"));
  kafka.produce(h.topic("r1"), "r1", "garbage");
  h.startDaemon();
  REQUIRE(h.waitFor("SELECT count(*) FROM responses", "30"));
  REQUIRE(h.waitFor("SELECT count(*) FROM rejected_messages", "1"));
  const std::string snapshot =
      "SELECT md5(string_agg(r.id || r.seen_at::text || s.received_at::text, ',' ORDER BY r.id))"
      " FROM requests r JOIN responses s USING (edge_id, id)";
  const std::string before = h.sql(snapshot);
  // Another group reads every message again from the start, as after lost offsets.
  h.startDaemon({"--consumer-group", "second-reader"});
  REQUIRE(h.waitForLog(1, "redelivery"));
  CHECK(h.sql(snapshot) == before);
  CHECK(h.count("SELECT count(*) FROM requests") == 30);
  CHECK(h.count("SELECT count(*) FROM events") == 1);
  CHECK(h.count("SELECT count(*) FROM rejected_messages") == 1);
}

TEST_CASE("several consumers in one dispatcher store every message once", "[dispatcher][faults]") {
  const std::vector<std::string> edges = {"m1", "m2", "m3", "m4"};
  DispatcherHarness h({edges, {"consumers = 2", "writers = 2"}});
  h.startDaemon();
  KafkaTestClient kafka(h.broker().bootstrap());
  for (const auto& e : edges) {
    for (int i = 0; i < 5; ++i) {
      const std::string id = e + "-" + std::to_string(i);
      kafka.produce(h.topic(e), e, requestJson(id));
      kafka.produce(h.topic(e), e, responseJson(id, 200));
    }
  }
  REQUIRE(h.waitFor("SELECT count(*) FROM request_status WHERE state = 'succeeded'", "20"));
  CHECK(h.count("SELECT count(*) FROM responses") == 20);
  CHECK_THAT(h.daemonLog(0), Catch::Contains("2 consumers"));
}
