// The agent's own numbers in its heartbeat: the counters (decisions/agent_metrics.h) and where
// AgentCore counts them, driven with a manual clock and fakes like agent_core_test.cpp.

#include "decisions/agent_metrics.h"

#include <catch2/catch.hpp>

#include "core_fakes.h"
#include "envelope/bodies.h"
#include "envelope/types.h"

using namespace edgelink;
using namespace edgelink::agent;

namespace ro = envelope::request_outcome;

namespace {

/// The metrics of the one heartbeat among `msgs`.
envelope::body::AgentMetrics heartbeatMetrics(const std::vector<envelope::Envelope>& msgs) {
  std::optional<envelope::body::AgentMetrics> found;
  for (const auto& m : msgs) {
    if (m.type == envelope::event_type::kHeartbeat) {
      REQUIRE_FALSE(found);
      auto hb = envelope::body::readHeartbeat(m.body());
      REQUIRE(hb);
      REQUIRE(hb->metrics);
      found = hb->metrics;
    }
  }
  REQUIRE(found);
  return *found;
}

using Counts = std::map<std::string, uint64_t>;

}  // namespace

TEST_CASE("metrics: an answer counts under the outcome of its status code", "[agent][metrics]") {
  CHECK(std::string(requestOutcome(200)) == ro::kOk);
  CHECK(std::string(requestOutcome(204)) == ro::kOk);
  CHECK(std::string(requestOutcome(408)) == ro::kStale);
  for (int code : {400, 403, 404, 409, 413, 100, 302}) {
    INFO(code);
    CHECK(std::string(requestOutcome(code)) == ro::kRejected);
  }
  for (int code : {500, 502, 503, 504}) {
    INFO(code);
    CHECK(std::string(requestOutcome(code)) == ro::kFailed);
  }
}

TEST_CASE("metrics: only requests of others give the clock offset, ignored messages count nothing",
          "[agent][metrics]") {
  AgentCounters c;
  c.triaged(Verdict::kIgnore, 10'000, 1'000);  // our own heartbeat, read back
  c.triaged(Verdict::kDrop, 10'000, 2'000);
  c.triaged(Verdict::kSkipSilently, 10'000, 3'000);  // an old request before the first start
  auto m = c.snapshot(0);
  CHECK_FALSE(m.clockOffsetMs);
  CHECK(m.requests == Counts{{ro::kOk, 0},
                             {ro::kRejected, 0},
                             {ro::kStale, 0},
                             {ro::kFailed, 0},
                             {ro::kRedelivered, 0}});
  c.triaged(Verdict::kAct, 10'000, 9'960);
  CHECK(c.snapshot(0).clockOffsetMs == int64_t{40});
  c.triaged(Verdict::kAnswer, 10'000, 10'025);  // an edge clock behind: negative
  CHECK(c.snapshot(0).clockOffsetMs == int64_t{-25});
  c.triaged(Verdict::kResend, 20'000, -1);  // no Kafka timestamp: the last offset stays
  c.setRssBytes(uint64_t{4096});
  m = c.snapshot(3);
  CHECK(m.clockOffsetMs == int64_t{-25});
  CHECK(m.requests.at(ro::kRedelivered) == 1);
  CHECK(m.outboxDepth == 3);
  CHECK(m.rssBytes == uint64_t{4096});
}

TEST_CASE("core: the heartbeat carries the counts of what the agent did",
          "[agent][core][metrics]") {
  test::CoreRig h;
  h.begin();
  h.timers();
  // The first heartbeat: nothing handled yet, agent_started not delivered.
  auto first = heartbeatMetrics(h.fresh());
  CHECK(first.requests == Counts{{ro::kOk, 0},
                                 {ro::kRejected, 0},
                                 {ro::kStale, 0},
                                 {ro::kFailed, 0},
                                 {ro::kRedelivered, 0}});
  CHECK(first.outboxDepth == 2);  // agent_started and get_config
  CHECK(first.rssBytes == uint64_t{12'345'678});
  CHECK_FALSE(first.clockOffsetMs);
  CHECK(first.frpcStarts == 0);
  h.deliverAll();

  for (int64_t offset = 1; offset <= 3; ++offset) {  // ok x3
    h.request(offset, "ping");
  }
  h.request(4, "frobnicate");  // rejected x2: unknown type, bad body
  h.request(5, "frp_start", R"({"services":{"ssh":"x"}})");
  const int64_t old = h.clock.wallMs() - 11 * 60'000;  // stale: older than max age
  h.runner->run(
      h.core->onMessage(Inbound{test::requestBytes(6, "ping", old), 0, 6, h.clock.wallMs()}));
  h.frpc.startError = Error(Status::kInternal, "cannot spawn frpc");  // failed: not started
  h.request(7, "frp_start", R"({"services":{"ssh":31022}})");
  h.frpc.startError.reset();
  const std::string again = test::requestBytes(1, "ping", h.clock.wallMs());  // redelivered
  h.runner->run(h.core->onMessage(Inbound{again, 0, 8, h.clock.wallMs()}));
  h.startSession(9, 600);                      // ok, frpc started
  h.frpc.exitStatus = "exited with status 1";  // ... and exits on its own
  h.signal();
  REQUIRE_FALSE(h.core->running());
  // The last request read was written 250 ms ago by the edge's clock.
  h.runner->run(h.core->onMessage(
      Inbound{test::requestBytes(10, "ping", h.clock.wallMs()), 0, 10, h.clock.wallMs() - 250}));
  h.core->counters().setKafkaReconnects(2);  // the daemon's Kafka clients count these
  h.probe.rss = 13'000'000;
  h.deliverAll();
  h.fresh();
  h.advance(60'000);

  auto m = heartbeatMetrics(h.fresh());
  CHECK(m.requests == Counts{{ro::kOk, 5},
                             {ro::kRejected, 2},
                             {ro::kStale, 1},
                             {ro::kFailed, 1},
                             {ro::kRedelivered, 1}});
  CHECK(m.frpcStarts == 1);
  CHECK(m.frpcUnexpectedExits == 1);
  CHECK(m.kafkaReconnects == 2);
  CHECK(m.outboxDepth == 0);
  CHECK(m.rssBytes == uint64_t{13'000'000});
  CHECK(m.clockOffsetMs == int64_t{250});
}

TEST_CASE("core: the outbox depth is the undelivered answers and events at the heartbeat",
          "[agent][core][metrics]") {
  test::CoreRig h;
  h.begin();
  h.timers();
  h.deliverAll();
  h.fresh();
  h.request(1, "ping");
  h.request(2, "ping");
  h.probe.rss.reset();  // unreadable: left out
  h.advance(60'000);
  auto msgs = h.fresh();
  auto m = heartbeatMetrics(msgs);
  CHECK(m.outboxDepth == 2);
  CHECK(m.outboxDepth == h.core->state().outbox.size());
  CHECK_FALSE(m.rssBytes);
}
