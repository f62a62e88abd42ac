// The metrics' pure parts: the listen address, the rejection reasons, what a stored batch
// records; and the endpoints' server on a free loopback port (no broker, no database).
#include "observe/metrics.h"

#include <catch2/catch.hpp>

#include "envelope/envelope.h"
#include "harness/http_probe.h"
#include "observe/health.h"
#include "observe/http_server.h"
#include "options.h"

using namespace edgelink;
using namespace edgelink::dispatcher;
using edgelink::testing::httpGet;
using edgelink::testing::sample;

TEST_CASE("metrics-listen takes ADDRESS:PORT, IPv6 in brackets", "[dispatcher][metrics]") {
  auto a = parseListenAddress("127.0.0.1:9464");
  REQUIRE(a);
  CHECK(a->host == "127.0.0.1");
  CHECK(a->port == 9464);
  CHECK(a->civetweb() == "127.0.0.1:9464");
  auto any = parseListenAddress(":9464");
  REQUIRE(any);
  CHECK(any->host == "0.0.0.0");
  auto v6 = parseListenAddress("[::1]:9464");
  REQUIRE(v6);
  CHECK(v6->host == "::1");
  CHECK(v6->civetweb() == "[::1]:9464");
  CHECK(parseListenAddress("127.0.0.1:0"));
  CHECK_FALSE(parseListenAddress("9464"));
  CHECK_FALSE(parseListenAddress("localhost:9464"));
  CHECK_FALSE(parseListenAddress("127.0.0.1:65536"));
  CHECK_FALSE(parseListenAddress("127.0.0.1:http"));
  CHECK_FALSE(parseListenAddress("[nope]:9464"));
  CHECK_FALSE(parseListenAddress("::1:9464"));
}

TEST_CASE("a bad metrics-listen is a configuration problem naming the key",
          "[dispatcher][metrics]") {
  Options o;
  CHECK(o.validate().empty());
  CHECK_FALSE(o.metricsAddress);  // unset: off
  o.metricsListen = "localhost:9464";
  auto p = o.validate();
  REQUIRE_FALSE(p.empty());
  CHECK(p.lines().front().find("metrics-listen") != std::string::npos);
  o.metricsListen = "127.0.0.1:9464";
  CHECK(o.validate().empty());
  REQUIRE(o.metricsAddress);
  CHECK(o.metricsAddress->port == 9464);
  o.metricsIntervalSeconds = 0;
  CHECK_FALSE(o.validate().empty());
}

TEST_CASE("rejections are counted under a few fixed reasons", "[dispatcher][metrics]") {
  RejectedRow r;
  r.edgeId = "e1";
  r.statusCode = 413;
  CHECK(rejectionReason(r) == "too_large");
  r.statusCode = 500;
  CHECK(rejectionReason(r) == "database_refused");
  r.statusCode = 400;
  r.reason = "invalid JSON at byte 3: ...";
  CHECK(rejectionReason(r) == "invalid_json");
  r.reason = "expected integer";
  CHECK(rejectionReason(r) == "invalid");
  r.edgeId.reset();
  CHECK(rejectionReason(r) == "unknown_edge");
}

TEST_CASE("a stored batch records its messages, requests, answers and transaction",
          "[dispatcher][metrics]") {
  Options o;
  REQUIRE(o.validate().empty());
  envelope::Decoder decoder;
  Batch batch(o);
  auto add = [&](const std::string& json, int64_t offset) {
    RawMessage m;
    m.topic = "edge.e1";
    m.offset = offset;
    m.key = "e1";
    m.payload = json;
    return batch.add(m, decoder, 1000000);
  };
  const std::string req = envelope::encode(
      envelope::Envelope::request(envelope::Id::text("a"), "web", 1000000, "ping"));
  const std::string garbage = "{";
  CHECK(add(req, 0) == Classified::kRequest);
  CHECK(add(garbage, 1) == Classified::kRejected);
  StoredFacts facts;
  facts.newRequests["ping"] = 1;
  facts.answered.push_back({"ping", "succeeded", 1000000, false, false});
  facts.answered.push_back({"ping", "failed", 1000000, true, true});  // after its timeout
  facts.sessions.opened = 1;
  facts.sessions.ended["replaced"] = 1;
  Metrics m;
  m.batchStored(batch, facts, 0.002, 1000250);
  m.timedOut({{"ping", 2}});
  m.batchFailed();
  DbGauges g{1, 2, 30.5, 4, 5, 6, {}};
  g.fleet.agentsReporting = 3;
  g.fleet.requests = {{"ok", 40}, {"stale", 2}};
  g.fleet.frpcUnexpectedExits = 1;
  g.fleet.rssBytesMax = 12.5e6;
  g.fleet.clockOffsetSecondsMax = 0.25;
  m.dbGauges(g);
  m.ready(true);
  const std::string s = m.scrape();
  CHECK(sample(s, "edgelink_requests_total{type=\"ping\"}") == 1);
  CHECK(sample(s, "edgelink_ingest_messages_total{kind=\"request\"}") == 1);
  CHECK(sample(s, "edgelink_ingest_messages_total{kind=\"response\"}") == 0);
  CHECK(sample(s, "edgelink_messages_rejected_total{reason=\"invalid_json\"}") == 1);
  CHECK(sample(s, "edgelink_requests_finished_total{state=\"succeeded\",type=\"ping\"}") == 1);
  CHECK(sample(s, "edgelink_requests_finished_total{state=\"failed\",type=\"ping\"}") ==
        std::nullopt);
  CHECK(sample(s, "edgelink_requests_finished_total{state=\"timeout\",type=\"ping\"}") == 2);
  CHECK(sample(s, "edgelink_late_answers_total") == 1);
  CHECK(sample(s, "edgelink_request_round_trip_seconds_count{type=\"ping\"}") == 2);
  CHECK(sample(s, "edgelink_request_round_trip_seconds_sum{type=\"ping\"}") == Approx(0.5));
  CHECK(sample(s, "edgelink_request_round_trip_seconds_bucket{type=\"ping\",le=\"0.25\"}") == 2);
  CHECK(sample(s, "edgelink_ingest_batch_size_sum") == 2);
  CHECK(sample(s, "edgelink_pg_transaction_seconds_count") == 1);
  CHECK(sample(s, "edgelink_ingest_failures_total") == 1);
  CHECK(sample(s, "edgelink_sessions_opening_oldest_seconds") == 30.5);
  CHECK(sample(s, "edgelink_edges_offline_over_1h") == 6);
  CHECK(sample(s, "edgelink_ready") == 1);
  CHECK(sample(s, "edgelink_fleet_agents_reporting") == 3);
  CHECK(sample(s, "edgelink_fleet_agent_requests{outcome=\"ok\"}") == 40);
  CHECK(sample(s, "edgelink_fleet_agent_requests{outcome=\"stale\"}") == 2);
  CHECK(sample(s, "edgelink_fleet_agent_requests{outcome=\"redelivered\"}") == 0);
  CHECK(sample(s, "edgelink_fleet_frpc_unexpected_exits") == 1);
  CHECK(sample(s, "edgelink_fleet_agent_rss_bytes_max") == 12.5e6);
  CHECK(sample(s, "edgelink_fleet_clock_offset_seconds_max") == 0.25);
  CHECK(sample(s, "edgelink_sessions_opened_total") == 1);
  CHECK(sample(s, "edgelink_sessions_ended_total{reason=\"replaced\"}") == 1);
  SessionTally swept;
  swept.ended["expired"] = 2;
  m.sessions(swept);
  CHECK(sample(m.scrape(), "edgelink_sessions_ended_total{reason=\"expired\"}") == 2);
  CHECK(s.find("# TYPE edgelink_request_round_trip_seconds histogram") != std::string::npos);
}

TEST_CASE("the endpoints answer on a free port: /healthz, /readyz by the facts, /metrics",
          "[dispatcher][metrics]") {
  Metrics metrics;
  Health health;
  auto server = HttpServer::start(ListenAddress{"127.0.0.1", 0}, metrics, health);
  REQUIRE(server);
  const int port = (*server)->port();
  REQUIRE(port > 0);
  CHECK(httpGet(port, "/healthz").status == 200);
  auto notReady = httpGet(port, "/readyz");
  CHECK(notReady.status == 503);
  CHECK(notReady.body.find("kafka: no partition assigned") != std::string::npos);
  health.assignedPartitions = 3;
  health.databaseReachable = true;
  health.schemaCurrent = true;
  auto ready = httpGet(port, "/readyz");
  CHECK(ready.status == 200);
  CHECK(ready.body.find("kafka: 3 partitions assigned") != std::string::npos);
  health.databaseReachable = false;
  CHECK(httpGet(port, "/readyz").status == 503);
  metrics.batchFailed();
  CHECK(sample(httpGet(port, "/metrics").body, "edgelink_ingest_failures_total") == 1);
  CHECK(httpGet(port, "/metricsx").status == 404);
  // A second server on the same port fails, naming the key.
  auto again =
      HttpServer::start(ListenAddress{"127.0.0.1", static_cast<uint16_t>(port)}, metrics, health);
  REQUIRE_FALSE(again);
  CHECK(again.error().field == "metrics-listen");
}

TEST_CASE("frps plugin decisions are counted by op and outcome", "[dispatcher][metrics]") {
  Metrics m;
  CHECK(sample(m.scrape(),
               "edgelink_frps_plugin_decisions_total{op=\"NewProxy\",outcome=\"allowed\"}") == 0);
  m.frpsPluginDecision("NewProxy", "no_session");
  m.frpsPluginDecision("NewProxy", "no_session");
  m.frpsPluginDecision("Login", "allowed");
  m.frpsPluginDecision("whatever-a-client-sent", "unknown_op");
  const std::string s = m.scrape();
  CHECK(sample(s, "edgelink_frps_plugin_decisions_total{op=\"NewProxy\",outcome=\"no_session\"}") ==
        2);
  CHECK(sample(s, "edgelink_frps_plugin_decisions_total{op=\"Login\",outcome=\"allowed\"}") == 1);
  CHECK(sample(s, "edgelink_frps_plugin_decisions_total{op=\"other\",outcome=\"unknown_op\"}") ==
        1);
}

TEST_CASE("answers to edge requests are counted, and their retried deliveries",
          "[dispatcher][metrics]") {
  Metrics m;
  CHECK(sample(m.scrape(), "edgelink_edge_requests_answered_total") == 0);
  CHECK(sample(m.scrape(), "edgelink_edge_answer_retries_total") == 0);
  m.edgeAnswersDelivered(3);
  m.edgeAnswersDelivered(1);
  m.edgeAnswersRetried();
  const std::string s = m.scrape();
  CHECK(sample(s, "edgelink_edge_requests_answered_total") == 4);
  CHECK(sample(s, "edgelink_edge_answer_retries_total") == 1);
}
