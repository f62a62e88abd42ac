// The dispatcher's ingest against the dev broker and PostgreSQL: whoever publishes, everything is
// recorded and correlated; states; bad input; edges from heartbeats.
#include <catch2/catch.hpp>

#include "dispatcher_harness.h"
#include "edge_simulator.h"
#include "harness/kafka_test_client.h"
#include "test_messages.h"

using namespace edgelink;
using namespace edgelink::testing;

TEST_CASE("a request a web backend produced straight to Kafka is recorded and correlated",
          "[dispatcher][ingest]") {
  DispatcherHarness h;
  EdgeSimulator edges(h.broker().bootstrap(), {"e1"}, h.topicPrefix());
  h.startDaemon();
  KafkaTestClient backend(h.broker().bootstrap());
  // The original design's integer id, produced with plain librdkafka as a web backend would.
  backend.produce(h.topic("e1"), "e1", requestJson("111", "ping", "web_backend", nowMs(), true));
  REQUIRE(h.waitFor("SELECT state FROM request_status WHERE edge_id = 'e1' AND id = '111'",
                    "succeeded"));
  CHECK(h.sql("SELECT sender || ' ' || id_is_number FROM requests WHERE id = '111'") ==
        "web_backend true");
  CHECK(h.sql("SELECT answered_by || ' ' || status_code FROM request_status WHERE id = '111'") ==
        "edge_board 200");
  CHECK(h.sql("SELECT response_body->>'pong' FROM request_status WHERE id = '111'") == "true");
  auto shown = h.cli({"requests", "show", "111", "--json"});
  CHECK(shown.code == 0);
  CHECK_THAT(shown.out, Catch::Contains("\"state\":\"succeeded\""));
  CHECK_THAT(shown.out, Catch::Contains("\"sender\":\"web_backend\""));
  CHECK(edges.problems().empty());
}

TEST_CASE("a response seen before its request is kept and joined when the request arrives",
          "[dispatcher][ingest]") {
  DispatcherHarness h;
  h.startDaemon();
  KafkaTestClient kafka(h.broker().bootstrap());
  kafka.produce(h.topic("e1"), "e1", responseJson("early-1", 200));
  REQUIRE(h.waitFor("SELECT count(*) FROM responses WHERE id = 'early-1'", "1"));
  CHECK(h.count("SELECT count(*) FROM request_status WHERE id = 'early-1'") == 0);
  auto orphan = h.cli({"requests", "show", "early-1", "--json"});
  CHECK(orphan.code == 0);
  CHECK_THAT(orphan.out, Catch::Contains("\"state\":\"unmatched\""));
  kafka.produce(h.topic("e1"), "e1", requestJson("early-1"));
  REQUIRE(h.waitFor("SELECT state FROM request_status WHERE id = 'early-1'", "succeeded"));
}

TEST_CASE("every request state, and a late answer stored and marked late", "[dispatcher][ingest]") {
  DispatcherHarness h({{"e1"}, {"type-deadline = [\"ping=2s\"]", "request-deadline = \"1h\""}});
  h.startDaemon();
  KafkaTestClient kafka(h.broker().bootstrap());
  kafka.produce(h.topic("e1"), "e1", requestJson("ok", "system_info"));
  kafka.produce(h.topic("e1"), "e1", requestJson("bad", "system_info"));
  kafka.produce(h.topic("e1"), "e1", requestJson("old", "system_info"));
  kafka.produce(h.topic("e1"), "e1", requestJson("waiting", "system_info"));
  kafka.produce(h.topic("e1"), "e1", requestJson("slow", "ping"));
  kafka.produce(h.topic("e1"), "e1", responseJson("ok", 200, "system_info"));
  kafka.produce(h.topic("e1"), "e1", responseJson("bad", 500, "system_info"));
  kafka.produce(h.topic("e1"), "e1", responseJson("old", 408, "system_info"));
  REQUIRE(h.waitFor("SELECT count(*) FROM responses", "3"));
  CHECK(h.sql("SELECT state FROM request_status WHERE id = 'ok'") == "succeeded");
  CHECK(h.sql("SELECT state FROM request_status WHERE id = 'bad'") == "failed");
  CHECK(h.sql("SELECT state FROM request_status WHERE id = 'old'") == "stale");
  CHECK(h.sql("SELECT state FROM request_status WHERE id = 'waiting'") == "pending");
  // 'slow' has a 2 s deadline: with no answer it becomes 'timeout' by itself.
  REQUIRE(h.waitFor("SELECT state FROM request_status WHERE id = 'slow'", "timeout"));
  auto listed = h.cli({"requests", "list", "--status", "timeout", "--json"});
  CHECK(listed.code == 0);
  CHECK_THAT(listed.out, Catch::Contains("\"id\":\"slow\""));
  CHECK_THAT(listed.out, !Catch::Contains("\"id\":\"waiting\""));
  kafka.produce(h.topic("e1"), "e1", responseJson("slow", 200, "ping"));
  REQUIRE(h.waitFor("SELECT state || ' ' || late FROM request_status WHERE id = 'slow'",
                    "succeeded true"));
  CHECK(h.sql("SELECT late FROM request_status WHERE id = 'ok'") == "f");
}

TEST_CASE("malformed envelopes are recorded and the partition keeps flowing",
          "[dispatcher][ingest]") {
  DispatcherHarness h;
  h.startDaemon();
  KafkaTestClient kafka(h.broker().bootstrap());
  kafka.produce(h.topic("e1"), "e1", "this is not JSON");
  kafka.produce(h.topic("e1"), "e1",
                "{\"request\":{\"id\":9,\"sender\":\"web\",\"timestamp\":true,\"type\":\"ping\"}}");
  kafka.produce(h.topic("e1"), "e1", std::string(70 * 1024, '{'));
  kafka.produce(h.topic("e1"), "e1", requestJson("after-garbage"));
  REQUIRE(h.waitFor("SELECT count(*) FROM requests WHERE id = 'after-garbage'", "1"));
  CHECK(h.count("SELECT count(*) FROM rejected_messages") == 3);
  CHECK(h.sql("SELECT field || ' ' || message_id FROM rejected_messages WHERE kafka_offset = 1") ==
        "request.timestamp 9");
  CHECK(h.sql("SELECT status_code || ' ' || payload_bytes FROM rejected_messages"
              " WHERE kafka_offset = 2") == "413 71680");
  CHECK_THAT(h.daemonLog(0), Catch::Contains("rejected"));
  // An answer that breaks the contract is rejected, and `requests show` says so.
  kafka.produce(h.topic("e1"), "e1", requestJson("asked"));
  auto bad = envelope::Envelope::response(envelope::Id::text("asked"), "ping", "edge_board",
                                          nowMs(), 200);  // a ping answer without pong
  kafka.produce(h.topic("e1"), "e1", envelope::encode(bad));
  REQUIRE(h.waitFor("SELECT count(*) FROM rejected_messages WHERE message_id = 'asked'", "1"));
  auto shown = h.cli({"requests", "show", "asked", "--json"});
  CHECK_THAT(shown.out, Catch::Contains("\"rejected_response\":\"response.body.pong"));
}

TEST_CASE("heartbeats mark edges online, agent_stopping and silence mark them offline",
          "[dispatcher][ingest]") {
  DispatcherHarness h({{"e1", "e2"}, {"offline-after = \"5s\""}});
  EdgeSimulator edges(h.broker().bootstrap(), {"e1", "e2"}, h.topicPrefix());
  h.startDaemon();
  // Edges are filed under Kafka's time: a heartbeat is only "recent" if stored promptly.
  REQUIRE(h.waitAssigned(2));
  KafkaTestClient kafka(h.broker().bootstrap());
  edges.heartbeat("e1", "2.0.1");
  kafka.produce(h.topic("e2"), "e2", requestJson("to-e2"));  // known, never heard from
  REQUIRE(h.waitFor("SELECT online FROM edge_status WHERE edge_id = 'e1'", "t"));
  CHECK(h.sql("SELECT agent_version FROM edges WHERE edge_id = 'e1'") == "2.0.1");
  CHECK(h.count("SELECT count(*) FROM events") == 0);  // heartbeats are not event rows
  auto online = h.cli({"edges", "list", "--online", "--json"});
  CHECK(online.code == 0);
  CHECK_THAT(online.out, Catch::Contains("\"edge_id\":\"e1\""));
  CHECK_THAT(online.out, !Catch::Contains("\"edge_id\":\"e2\""));
  auto offline = h.cli({"edges", "list", "--offline"});
  CHECK_THAT(offline.out, Catch::Contains("e2"));
  kafka.produce(h.topic("e1"), "e1", eventJson("agent_stopping"));
  REQUIRE(h.waitFor("SELECT online FROM edge_status WHERE edge_id = 'e1'", "f"));
  edges.event("e1", "agent_started",
              R"({"agent_version": "2.0.2", "hostname": "board-e1", "pid": 12})");
  REQUIRE(
      h.waitFor("SELECT online || ' ' || agent_version || ' ' || hostname FROM edge_status"
                " WHERE edge_id = 'e1'",
                "true 2.0.2 board-e1"));
  // No heartbeat for longer than offline-after: offline again.
  REQUIRE(h.waitFor("SELECT online FROM edge_status WHERE edge_id = 'e1'", "f", 15000));
  CHECK(edges.problems().empty());
}
