// The agents' metrics (issue 14): a heartbeat's `metrics` stored per edge, `edges show` printing
// them in both forms, and docs/DISPATCHER.md's fleet aggregate query over the stored column.
#include <rapidjson/document.h>

#include <catch2/catch.hpp>

#include "dispatcher_harness.h"
#include "edge_simulator.h"

using namespace edgelink;
using namespace edgelink::testing;

namespace {

std::string heartbeatWithMetrics(int frpcStarts) {
  return R"({"agent_version": "1.4.0", "interval_seconds": 60, "uptime_seconds": 180.5,)"
         R"( "frp_running": false, "metrics": {"requests": {"ok": 12, "rejected": 1, "stale": 2,)"
         R"( "failed": 1, "redelivered": 0}, "frpc_starts": )" +
         std::to_string(frpcStarts) +
         R"(, "frpc_unexpected_exits": 1, "kafka_reconnects": 2, "outbox_depth": 3,)"
         R"( "rss_bytes": 12681216, "clock_offset_ms": -38}})";
}

/// The ```sql block of docs/DISPATCHER.md holding the fleet aggregates.
std::string fleetAggregateQuery() {
  const std::string doc = readText(std::string(EDGELINK_SOURCE_DIR) + "/docs/DISPATCHER.md");
  const auto marker = doc.find("-- Fleet aggregates of the agents' metrics");
  REQUIRE(marker != std::string::npos);
  const auto end = doc.find("```", marker);
  REQUIRE(end != std::string::npos);
  std::string query = doc.substr(marker, end - marker);
  while (!query.empty() && (query.back() == '\n' || query.back() == ';')) {
    query.pop_back();
  }
  return query;
}

}  // namespace

TEST_CASE("a heartbeat's metrics are stored per edge and edges show prints them",
          "[dispatcher][ingest][metrics]") {
  DispatcherHarness h({{"e1", "e2"}});
  EdgeSimulator edges(h.broker().bootstrap(), {"e1", "e2"}, h.topicPrefix());
  h.startDaemon();
  REQUIRE(h.waitAssigned(2));
  edges.event("e1", "heartbeat", heartbeatWithMetrics(3));
  REQUIRE(h.waitFor("SELECT agent_metrics->>'frpc_starts' FROM edges WHERE edge_id = 'e1'", "3"));
  CHECK(h.sql("SELECT agent_metrics->'requests'->>'stale' FROM edge_status"
              " WHERE edge_id = 'e1'") == "2");
  CHECK(h.sql("SELECT agent_metrics_at = last_heartbeat_at FROM edges WHERE edge_id = 'e1'") ==
        "t");

  auto table = h.cli({"edges", "show", "e1"});
  CHECK(table.code == 0);
  CHECK_THAT(table.out, Catch::Contains("ok 12, rejected 1, stale 2, failed 1, redelivered 0"));
  CHECK_THAT(table.out, Catch::Contains("frpc_unexpected_exits:"));
  CHECK_THAT(table.out, Catch::Contains("kafka_reconnects:"));
  CHECK_THAT(table.out, Catch::Contains("12681216"));
  CHECK_THAT(table.out, Catch::Contains("-38"));
  auto json = h.cli({"edges", "show", "e1", "--json"});
  CHECK(json.code == 0);
  rapidjson::Document d;
  d.Parse(json.out.c_str());
  REQUIRE(d.IsObject());
  REQUIRE(d.HasMember("agent_metrics"));
  const auto& m = d["agent_metrics"];
  REQUIRE(m.IsObject());
  CHECK(m["frpc_starts"].GetInt() == 3);
  CHECK(m["requests"]["ok"].GetInt() == 12);
  CHECK(m["outbox_depth"].GetInt() == 3);
  CHECK(m["clock_offset_ms"].GetInt() == -38);
  CHECK(d["agent_metrics_at"].IsString());

  // An older agent's heartbeat (no metrics) keeps the last ones; a newer one replaces them.
  edges.heartbeat("e1", "1.3.0");
  REQUIRE(h.waitFor("SELECT agent_version FROM edges WHERE edge_id = 'e1'", "1.3.0"));
  CHECK(h.sql("SELECT agent_metrics->>'frpc_starts' FROM edges WHERE edge_id = 'e1'") == "3");
  edges.event("e1", "heartbeat", heartbeatWithMetrics(4));
  REQUIRE(h.waitFor("SELECT agent_metrics->>'frpc_starts' FROM edges WHERE edge_id = 'e1'", "4"));

  // An edge that never sent metrics, and one that does not exist.
  edges.heartbeat("e2", "1.3.0");
  REQUIRE(h.waitFor("SELECT agent_version FROM edges WHERE edge_id = 'e2'", "1.3.0"));
  auto none = h.cli({"edges", "show", "e2", "--json"});
  CHECK(none.code == 0);
  CHECK_THAT(none.out, Catch::Contains("\"agent_metrics\":null"));
  CHECK(h.cli({"edges", "show", "e2"}).code == 0);
  auto unknown = h.cli({"edges", "show", "nope"});
  CHECK(unknown.code == 6);
  CHECK_THAT(unknown.err, Catch::Contains("no edge nope"));
  auto listed = h.cli({"edges", "list", "--json"});
  CHECK_THAT(listed.out, Catch::Contains("\"frpc_starts\":4"));
  CHECK(edges.problems().empty());
}

TEST_CASE("the fleet aggregate query sums and maxes the recent edges' metrics",
          "[dispatcher][metrics]") {
  DispatcherHarness h({{"e1"}});
  // Rows as the ingest writes them: two edges recent, one whose metrics are an hour old.
  h.sql(R"(INSERT INTO edges (edge_id, first_seen_at, last_heartbeat_at, agent_metrics,)"
        R"( agent_metrics_at) VALUES)"
        R"( ('a', now(), now(), '{"requests": {"ok": 5, "failed": 1}, "frpc_starts": 2,)"
        R"(  "frpc_unexpected_exits": 1, "kafka_reconnects": 0, "outbox_depth": 4,)"
        R"(  "rss_bytes": 1000, "clock_offset_ms": -700}', now()),)"
        R"( ('b', now(), now(), '{"requests": {"ok": 3, "stale": 2}, "frpc_starts": 1,)"
        R"(  "frpc_unexpected_exits": 0, "kafka_reconnects": 3, "outbox_depth": 1,)"
        R"(  "rss_bytes": 3000, "clock_offset_ms": 200}', now()),)"
        R"( ('old', now(), now() - interval '1 hour', '{"requests": {"ok": 100},)"
        R"(  "frpc_starts": 100, "frpc_unexpected_exits": 100, "kafka_reconnects": 100,)"
        R"(  "outbox_depth": 100, "rss_bytes": 100000, "clock_offset_ms": 100000}',)"
        R"(  now() - interval '1 hour'),)"
        R"( ('silent', now(), NULL, NULL, NULL) RETURNING 1)");
  const std::string row =
      h.sql("SELECT row_to_json(a)::text FROM (" + fleetAggregateQuery() + ") a");
  INFO(row);
  rapidjson::Document d;
  d.Parse(row.c_str());
  REQUIRE(d.IsObject());
  CHECK(d["edges"].GetInt() == 2);
  CHECK(d["requests_by_outcome"]["ok"].GetInt() == 8);
  CHECK(d["requests_by_outcome"]["failed"].GetInt() == 1);
  CHECK(d["requests_by_outcome"]["stale"].GetInt() == 2);
  CHECK(d["frpc_starts"].GetInt() == 3);
  CHECK(d["frpc_unexpected_exits"].GetInt() == 1);
  CHECK(d["kafka_reconnects"].GetInt() == 3);
  CHECK(d["outbox_depth_sum"].GetInt() == 5);
  CHECK(d["outbox_depth_max"].GetInt() == 4);
  CHECK(d["rss_bytes_max"].GetInt() == 3000);
  CHECK(d["clock_offset_ms_max_abs"].GetInt() == 700);
}

TEST_CASE("a heartbeat's clock offset from broker time reaches edges list and edges show",
          "[dispatcher][ingest][clock]") {
  DispatcherHarness h({{"e1"}});
  EdgeSimulator edges(h.broker().bootstrap(), {"e1"}, h.topicPrefix());
  h.startDaemon();
  REQUIRE(h.waitAssigned(1));
  edges.event(
      "e1", "heartbeat",
      R"({"agent_version": "1.5.0", "interval_seconds": 60, "clock_offset_ms": -11520000})");
  REQUIRE(h.waitFor("SELECT clock_offset_ms FROM edges WHERE edge_id = 'e1'", "-11520000"));
  auto show = h.cli({"edges", "show", "e1"});
  CHECK(show.code == 0);
  CHECK_THAT(show.out, Catch::Contains("clock -3h12m off"));
  auto list = h.cli({"edges", "list"});
  CHECK(list.code == 0);
  CHECK_THAT(list.out, Catch::Contains("CLOCK") && Catch::Contains("clock -3h12m off"));
  auto json = h.cli({"edges", "list", "--json"});
  CHECK_THAT(json.out, Catch::Contains("\"clock_offset_ms\":-11520000"));
  // Within the tolerance: in sync. A restarted agent (agent_started) does not know it yet.
  edges.event("e1", "heartbeat",
              R"({"agent_version": "1.5.0", "interval_seconds": 60, "clock_offset_ms": 420})");
  REQUIRE(h.waitFor("SELECT clock_offset_ms FROM edges WHERE edge_id = 'e1'", "420"));
  CHECK_THAT(h.cli({"edges", "show", "e1"}).out, Catch::Contains("in sync"));
  edges.event("e1", "agent_started", R"({"agent_version": "1.5.0", "hostname": "b"})");
  REQUIRE(h.waitFor("SELECT clock_offset_ms IS NULL FROM edges WHERE edge_id = 'e1'", "t"));
}
