// The monitoring files against a real dispatcher (issue 14): after real traffic, the fleet
// aggregates of the agents' heartbeat metrics are exported, and every metric and label the
// Grafana dashboard and the alert rules query is one the dispatcher really exports
// (scripts/check-observability --metrics on the scrape, which also runs promtool's checks and
// the alert rules' unit tests).
#include <sys/wait.h>

#include <catch2/catch.hpp>

#include "core/strings.h"
#include "core/subprocess.h"
#include "dispatcher_harness.h"
#include "edge_simulator.h"
#include "harness/http_probe.h"
#include "harness/kafka_test_client.h"
#include "test_messages.h"

using namespace edgelink;
using namespace edgelink::testing;

namespace {

std::string heartbeat(int ok, int stale, int starts, int outbox, int64_t rss, int offsetMs) {
  return R"({"agent_version": "0.1.0", "interval_seconds": 60, "uptime_seconds": 60.0,)"
         R"( "frp_running": false, "metrics": {"requests": {"ok": )" +
         std::to_string(ok) + R"(, "rejected": 0, "stale": )" + std::to_string(stale) +
         R"(, "failed": 0, "redelivered": 0}, "frpc_starts": )" + std::to_string(starts) +
         R"(, "frpc_unexpected_exits": 0, "kafka_reconnects": 1, "outbox_depth": )" +
         std::to_string(outbox) + R"(, "rss_bytes": )" + std::to_string(rss) +
         R"(, "clock_offset_ms": )" + std::to_string(offsetMs) + "}}";
}

/// scripts/check-observability --metrics `scrapePath`: its exit code, its output in `out`.
int checkObservability(DispatcherHarness& h, const std::string& scrapePath, std::string& out) {
  SpawnOptions opts;
  opts.argv = {std::string(EDGELINK_SOURCE_DIR) + "/scripts/check-observability", "--metrics",
               scrapePath};
  opts.stdoutPath = h.dir().file("check.out");
  opts.stderrPath = h.dir().file("check.err");
  auto p = Subprocess::spawn(opts);
  REQUIRE(p.ok());
  auto status = p->waitFor(120000);
  out = readText(opts.stdoutPath) + readText(opts.stderrPath);
  return status && WIFEXITED(*status) ? WEXITSTATUS(*status) : -1;
}

}  // namespace

TEST_CASE(
    "the agents' heartbeat metrics are exported as fleet aggregates, and the dashboard and "
    "alert rules query only what the dispatcher exports",
    "[dispatcher][metrics][observability]") {
  DispatcherHarness h({{"o1", "o2"}, kMetricsConfig});
  EdgeSimulator edges(h.broker().bootstrap(), {"o1", "o2"}, h.topicPrefix());
  const int port = startWithMetrics(h);
  REQUIRE(port > 0);
  REQUIRE(h.waitAssigned(2));

  // Two agents report; the fleet gauges are their sums and maxima.
  edges.event("o1", "heartbeat", heartbeat(10, 1, 2, 0, 11'000'000, -40));
  edges.event("o2", "heartbeat", heartbeat(5, 0, 1, 3, 14'000'000, 250));
  // Traffic, so the labelled families carry samples for the label checks.
  KafkaTestClient kafka(h.broker().bootstrap());
  kafka.produce(h.topic("o1"), "o1", requestJson("q1"));
  kafka.produce(h.topic("o1"), "o1", responseJson("q1", 200));
  kafka.produce(h.topic("o2"), "o2", "not JSON");
  REQUIRE(h.waitFor("SELECT count(*) FROM edges WHERE agent_metrics IS NOT NULL", "2"));

  CHECK(waitSample(port, "edgelink_fleet_agents_reporting", 2));
  CHECK(waitSample(port, "edgelink_fleet_agent_requests{outcome=\"ok\"}", 15));
  CHECK(waitSample(port, "edgelink_fleet_agent_requests{outcome=\"stale\"}", 1));
  CHECK(waitSample(port, "edgelink_fleet_agent_requests{outcome=\"failed\"}", 0));
  CHECK(waitSample(port, "edgelink_fleet_frpc_starts", 3));
  CHECK(waitSample(port, "edgelink_fleet_kafka_reconnects", 2));
  CHECK(waitSample(port, "edgelink_fleet_outbox_depth", 3));
  CHECK(waitSample(port, "edgelink_fleet_outbox_depth_max", 3));
  CHECK(waitSample(port, "edgelink_fleet_agent_rss_bytes_max", 14'000'000));
  CHECK(waitSample(port, "edgelink_fleet_clock_offset_seconds_max", 0.25));
  CHECK(waitSample(port, "edgelink_requests_finished_total{state=\"succeeded\",type=\"ping\"}", 1));
  CHECK(waitSample(port, "edgelink_messages_rejected_total{reason=\"invalid_json\"}", 1));

  // The dispatcher's line per answer carries the request's id, as the agent's and the CLI's do.
  CHECK_THAT(h.daemonLog(0), Catch::Contains("answer id=q1 type=ping from=edge_board edge=o1 "
                                             "outcome=200 stored"));
  auto sent = h.cli({"-v", "send", "--edge", "o2", "--type", "ping"});
  CHECK(sent.code == 0);
  CHECK_THAT(sent.err, Catch::Contains("published request id="));
  CHECK_THAT(sent.err, Catch::Contains("edge=o2"));

  // Metrics older than offline-after are not the fleet's any more.
  h.sql("UPDATE edges SET agent_metrics_at = now() - interval '1 day' WHERE edge_id = 'o2'");
  CHECK(waitSample(port, "edgelink_fleet_agents_reporting", 1));
  CHECK(waitSample(port, "edgelink_fleet_agent_rss_bytes_max", 11'000'000));
  CHECK(waitSample(port, "edgelink_fleet_clock_offset_seconds_max", 0.04));

  const std::string scrapePath = h.dir().file("scrape.txt");
  writeText(scrapePath, httpGet(port, "/metrics").body);
  std::string out;
  CHECK(checkObservability(h, scrapePath, out) == 0);
  INFO(out);
  CHECK_THAT(out, Catch::Contains("check-observability: OK"));
  CHECK_THAT(out, Catch::Contains("all exported"));

  // The check is not a formality: a scrape without the fleet gauges fails it, naming one.
  std::string trimmed;
  for (const auto& line : split(readText(scrapePath), '\n')) {
    if (line.find("edgelink_fleet_") == std::string::npos) {
      trimmed += line + "\n";
    }
  }
  writeText(scrapePath, trimmed);
  CHECK(checkObservability(h, scrapePath, out) == 1);
  CHECK_THAT(out, Catch::Contains("'edgelink_fleet_agents_reporting' is not exported"));
}
