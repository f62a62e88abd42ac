// The metrics and health endpoints of a running dispatcher: /metrics moves as the requests did,
// /readyz follows PostgreSQL and Kafka.
#include <catch2/catch.hpp>

#include "dispatcher_harness.h"
#include "harness/http_probe.h"
#include "harness/kafka_test_client.h"
#include "harness/pg_cluster.h"
#include "test_messages.h"

using namespace edgelink;
using namespace edgelink::testing;

namespace {

bool waitReady(int port, int status, int timeoutMs = 60000) {
  return waitUntil([&] { return httpGet(port, "/readyz").status == status; }, timeoutMs);
}

}  // namespace

TEST_CASE("a scrape of /metrics moves as the requests, answers and rejections did",
          "[dispatcher][metrics]") {
  DispatcherHarness h({{"m1"}, kMetricsConfig});
  const int port = startWithMetrics(h);
  REQUIRE(port > 0);
  CHECK(httpGet(port, "/healthz").status == 200);
  REQUIRE(h.waitAssigned(1));
  REQUIRE(waitReady(port, 200));
  CHECK(sample(httpGet(port, "/metrics").body, "edgelink_ready") == 1);

  KafkaTestClient kafka(h.broker().bootstrap());
  for (int i = 0; i < 5; ++i) {
    kafka.produce(h.topic("m1"), "m1", requestJson("p" + std::to_string(i)));
  }
  kafka.produce(h.topic("m1"), "m1", requestJson("s1", "system_info"));
  // The CLI records the request it sends before publishing it: consumed, it counts all the same.
  REQUIRE(h.cli({"send", "--edge", "m1", "--type", "ping"}).code == 0);
  REQUIRE(h.waitFor("SELECT count(*) FROM requests", "7"));
  for (int i = 0; i < 3; ++i) {
    kafka.produce(h.topic("m1"), "m1", responseJson("p" + std::to_string(i), 200));
  }
  kafka.produce(h.topic("m1"), "m1", responseJson("p3", 500));
  kafka.produce(h.topic("m1"), "m1", responseJson("p4", 408));
  kafka.produce(h.topic("m1"), "m1", "this is not JSON");
  kafka.produce(h.topic("m1"), "m1", eventJson("agent_stopping"));
  REQUIRE(h.waitFor("SELECT count(*) FROM responses", "5"));
  REQUIRE(h.waitFor("SELECT count(*) FROM rejected_messages", "1"));

  CHECK(waitSample(port, "edgelink_requests_total{type=\"ping\"}", 6));
  CHECK(waitSample(port, "edgelink_requests_total{type=\"system_info\"}", 1));
  CHECK(waitSample(port, "edgelink_requests_finished_total{state=\"succeeded\",type=\"ping\"}", 3));
  CHECK(waitSample(port, "edgelink_requests_finished_total{state=\"failed\",type=\"ping\"}", 1));
  CHECK(waitSample(port, "edgelink_requests_finished_total{state=\"stale\",type=\"ping\"}", 1));
  CHECK(waitSample(port, "edgelink_request_round_trip_seconds_count{type=\"ping\"}", 5));
  CHECK(waitSample(port, "edgelink_ingest_messages_total{kind=\"request\"}", 7));
  CHECK(waitSample(port, "edgelink_ingest_messages_total{kind=\"response\"}", 5));
  CHECK(waitSample(port, "edgelink_ingest_messages_total{kind=\"event\"}", 1));
  CHECK(waitSample(port, "edgelink_messages_rejected_total{reason=\"invalid_json\"}", 1));
  CHECK(waitSample(port, "edgelink_late_answers_total", 0));
  CHECK(waitSample(port, "edgelink_ingest_failures_total", 0));
  CHECK(waitUntil(
      [&] { return sample(httpGet(port, "/metrics").body, "edgelink_rebalances_total") >= 1.0; },
      10000));
  CHECK(waitSample(port, "edgelink_consumer_lag_messages", 0));
  // The database gauges: the edge is known (it answered) but sent no heartbeat.
  CHECK(waitSample(port, "edgelink_edges_offline", 1));
  CHECK(waitSample(port, "edgelink_edges_online", 0));
  CHECK(waitSample(port, "edgelink_sessions_active", 0));
  const std::string scrape = httpGet(port, "/metrics").body;
  const auto batches = sample(scrape, "edgelink_ingest_batch_size_count");
  const auto batchMessages = sample(scrape, "edgelink_ingest_batch_size_sum");
  CHECK(batches.value_or(0) >= 1);
  CHECK(batchMessages == 14);  // every message stored, counted once
  CHECK(sample(scrape, "edgelink_pg_transaction_seconds_count") == batches);
  CHECK(httpGet(port, "/nothing-here").status == 404);
}

TEST_CASE("an answer past its deadline counts as late", "[dispatcher][metrics]") {
  auto config = kMetricsConfig;
  config.push_back("request-deadline = \"1s\"");
  config.push_back("sweep-interval = \"1s\"");
  DispatcherHarness h({{"m2"}, config});
  const int port = startWithMetrics(h);
  REQUIRE(port > 0);
  REQUIRE(h.waitAssigned(1));
  KafkaTestClient kafka(h.broker().bootstrap());
  kafka.produce(h.topic("m2"), "m2", requestJson("slow"));
  CHECK(waitSample(port, "edgelink_requests_finished_total{state=\"timeout\",type=\"ping\"}", 1));
  kafka.produce(h.topic("m2"), "m2", responseJson("slow", 200));
  CHECK(waitSample(port, "edgelink_late_answers_total", 1));
  // Counted once: as timeout, not again as succeeded.
  CHECK(sample(httpGet(port, "/metrics").body,
               "edgelink_requests_finished_total{state=\"succeeded\",type=\"ping\"}") ==
        std::nullopt);
}

TEST_CASE("a scrape counts the answers to edge requests", "[dispatcher][metrics]") {
  DispatcherHarness h({{"m1"}, kMetricsConfig});
  const int port = startWithMetrics(h);
  REQUIRE(port > 0);
  REQUIRE(h.waitAssigned(1));
  CHECK(sample(httpGet(port, "/metrics").body, "edgelink_edge_requests_answered_total") == 0);
  KafkaTestClient kafka(h.broker().bootstrap());
  for (const char* id : {"cfg-m1", "cfg-m2"}) {
    auto r =
        envelope::Envelope::request(envelope::Id::text(id), "edge_board", nowMs(), "get_config");
    r.recipient = envelope::kRecipientCloud;
    kafka.produce(h.topic("m1"), "m1", envelope::encode(r));
  }
  REQUIRE(h.waitFor("SELECT count(*) FROM edge_requests WHERE edge_id = 'm1'", "2"));
  REQUIRE(waitUntil(
      [&] {
        return sample(httpGet(port, "/metrics").body, "edgelink_edge_requests_answered_total") == 2;
      },
      30000));
  CHECK(sample(httpGet(port, "/metrics").body, "edgelink_edge_answer_retries_total") == 0);
}

TEST_CASE("/readyz says 503 while PostgreSQL is down and 200 once it is back",
          "[dispatcher][metrics][faults]") {
  auto cluster = PgCluster::start();  // private: stopping it disturbs no other test
  DispatcherHarness h({{"r1"}, kMetricsConfig, cluster->createDatabase("readyz_pg")});
  const int port = startWithMetrics(h);
  REQUIRE(port > 0);
  REQUIRE(waitReady(port, 200));
  cluster->stop();
  REQUIRE(waitReady(port, 503));
  const auto down = httpGet(port, "/readyz");
  CHECK_THAT(down.body, Catch::Contains("postgresql: unreachable"));
  CHECK(httpGet(port, "/healthz").status == 200);
  CHECK(sample(httpGet(port, "/metrics").body, "edgelink_ready") == 0);
  cluster->startAgain();
  CHECK(waitReady(port, 200));
}

TEST_CASE("/readyz says 503 once Kafka is gone", "[dispatcher][metrics][faults]") {
  DispatcherHarness::Setup setup({"r2"}, kMetricsConfig);
  setup.privateBroker = true;  // killed below
  DispatcherHarness h(setup);
  const int port = startWithMetrics(h);
  REQUIRE(port > 0);
  REQUIRE(waitReady(port, 200));
  h.broker().kill9();
  // The group session times out (session.timeout.ms 6 s in the tests): the assignment is lost.
  REQUIRE(waitReady(port, 503, 90000));
  CHECK_THAT(httpGet(port, "/readyz").body, Catch::Contains("kafka: no partition assigned"));
  CHECK(httpGet(port, "/healthz").status == 200);
}
