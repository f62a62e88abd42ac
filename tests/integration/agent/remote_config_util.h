#pragma once

// The cloud's side of the remote configuration, played by a test on the agent's topic
// (remote_config_test.cpp, cluster_move_test.cpp): the agent's get_config requests, the
// answers, config_changed, and the events and heartbeats that tell what the agent applied.

#include <string>
#include <vector>

#include "agent_harness.h"
#include "agent_test_util.h"

namespace edgelink::testing {

/// No retry within a test's own pace: the answers below are to the first ask.
inline const std::vector<std::string> kSlowRetry = {"--config-request-timeout", "60s"};

inline TopicLog::Pred getConfigRequest() {
  return [](const envelope::Envelope& e) {
    return e.kind == envelope::Kind::kRequest && e.type == "get_config" && e.recipient == "cloud" &&
           e.sender == "edge_board";
  };
}

/// The agent's n-th get_config (1 = first), waiting for it.
inline envelope::Envelope nthGetConfig(AgentUnderTest& agent, size_t n, int timeoutMs = 20000) {
  REQUIRE(waitUntil([&] { return agent.log().count(getConfigRequest()) >= n; }, timeoutMs));
  envelope::Decoder decoder;
  auto d = decoder.decode(agent.log().values(getConfigRequest()).at(n - 1));
  REQUIRE(d.ok());
  return std::move(*d);
}

/// The cloud's answer to `request`.
inline void answer(AgentUnderTest& agent, const envelope::Envelope& request, int64_t version,
                   const std::string& configJson) {
  agent.produceRaw(R"({"response":{"id":")" + request.id.str() +
                   R"(","sender":"cloud_dispatcher","timestamp":)" + std::to_string(nowMs()) +
                   R"(,"type":"get_config","overall_status_code":"200","body":{"version":)" +
                   std::to_string(version) + R"(,"config":)" + configJson + "}}}");
}

inline void configChanged(AgentUnderTest& agent, int64_t version) {
  agent.produceRaw(R"({"event":{"id":"cfg-push-)" + std::to_string(version) +
                   R"(","sender":"cloud_dispatcher","timestamp":)" + std::to_string(nowMs()) +
                   R"(,"type":"config_changed","body":{"version":)" + std::to_string(version) +
                   "}}}");
}

inline TopicLog::Pred heartbeatWith(int64_t interval, int64_t version) {
  return [=](const envelope::Envelope& e) {
    return e.kind == envelope::Kind::kEvent && e.type == "heartbeat" &&
           num(e.body(), "interval_seconds") == interval &&
           num(e.body(), "config_version") == version;
  };
}

inline TopicLog::Pred eventWithVersion(const std::string& type, int64_t version) {
  return [=](const envelope::Envelope& e) {
    return e.kind == envelope::Kind::kEvent && e.type == type &&
           num(e.body(), "version") == version;
  };
}

}  // namespace edgelink::testing
