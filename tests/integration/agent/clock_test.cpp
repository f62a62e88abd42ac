// Boards whose clock is wrong (docs/RELIABILITY.md): the real agent with its wall clock hours
// off (its test-only EDGELINK_TEST_WALL_CLOCK_OFFSET_MS) on the real broker. On a LogAppendTime
// topic it judges requests against the broker's time, learnt from its heartbeats, and reports its
// offset; on a CreateTime topic it falls back to its own clock, as before.
#include <catch2/catch.hpp>

#include "agent_harness.h"
#include "agent_test_util.h"
#include "envelope/json_util.h"

using namespace edgelink;
using namespace edgelink::testing;

namespace {

constexpr int64_t kHourMs = 3'600'000;

/// The agent's environment for a wall clock off by `offsetMs` (the agent's test-only
/// EDGELINK_TEST_WALL_CLOCK_OFFSET_MS; its monotonic clock and librdkafka untouched).
std::vector<std::string> wrongClock(int64_t offsetMs) {
  return {"EDGELINK_TEST_WALL_CLOCK_OFFSET_MS=" + std::to_string(offsetMs)};
}

AgentSetup skewedAgent(int64_t offsetMs, const char* timestampType) {
  AgentSetup s;
  s.env = wrongClock(offsetMs);
  s.topicConfigs = {{"message.timestamp.type", timestampType}};
  return s;
}

TopicLog::Pred heartbeatWithOffset() {
  return [](const envelope::Envelope& e) {
    return e.kind == envelope::Kind::kEvent && e.type == "heartbeat" &&
           json::member(e.body(), "clock_offset_ms") != nullptr;
  };
}

}  // namespace

TEST_CASE("an agent 5 h behind answers a fresh request on a LogAppendTime topic and reports it",
          "[agent][clock]") {
  AgentUnderTest agent(skewedAgent(-5 * kHourMs, "LogAppendTime"));
  agent.start({"--heartbeat-interval", "1s"});
  auto hb = agent.event(heartbeatWithOffset());
  auto r = agent.response(agent.send("ping"));
  CHECK(r.statusCode == 200);
  const int64_t offset = num(hb.body(), "clock_offset_ms");
  CHECK(offset < -5 * kHourMs + 60'000);
  CHECK(offset > -5 * kHourMs - 60'000);
  CHECK_THAT(agent.agentLog(),
             Catch::Contains("the edge clock is") && Catch::Contains("behind it"));
}

TEST_CASE(
    "a request appended while the agent was down longer than max age is stale, its clock "
    "wrong or not",
    "[agent][clock]") {
  AgentUnderTest agent(skewedAgent(-5 * kHourMs, "LogAppendTime"));
  const std::vector<std::string> args = {"--heartbeat-interval", "1s", "--max-request-age", "5s"};
  agent.start(args);
  agent.event(heartbeatWithOffset());
  REQUIRE(agent.stop() == 0);
  // Dated 50 s ahead by its sender (within max-clock-skew): only its broker append time can
  // tell it waited longer than max age.
  const int64_t appended = nowMs();
  auto waited = agent.send("ping", "{}", appended + 50'000);
  REQUIRE(waitUntil([&] { return nowMs() > appended + 6000; }, 20000));
  agent.start(args);
  auto r = agent.response(waited);
  CHECK(r.statusCode == 408);
  CHECK_THAT(str(r, "error"),
             Catch::Contains("appended by the broker") && Catch::Contains("broker time"));
  CHECK(agent.response(agent.send("ping")).statusCode == 200);
}

TEST_CASE("on a CreateTime topic an agent 5 h behind refuses as before, naming the edge clock",
          "[agent][clock]") {
  AgentUnderTest agent(skewedAgent(-5 * kHourMs, "CreateTime"));
  agent.start({"--heartbeat-interval", "1s"});
  auto r = agent.response(agent.send("ping"));
  CHECK(r.statusCode == 400);
  CHECK(str(r, "field") == "request.timestamp");
  CHECK_THAT(str(r, "error"), Catch::Contains("edge clock"));
  // Heartbeats go on without an offset (their timestamps are the board's own clock).
  REQUIRE(waitUntil([&] { return agent.log().count(eventOf("heartbeat")) >= 3; }, 20000));
  CHECK(agent.log().count(heartbeatWithOffset()) == 0);
}
