#pragma once

// Small helpers shared by the agent's integration tests (lifecycle_test.cpp, frp_test.cpp).

#include <catch2/catch.hpp>

#include "agent_harness.h"
#include "envelope/json_util.h"

namespace edgelink::testing {

inline std::string str(const envelope::Envelope& e, const char* key) {
  const char* v = json::getString(e.body(), key);
  return v ? v : "";
}

inline int64_t num(const rapidjson::Value& obj, const char* key) {
  const auto* v = json::member(obj, key);
  return v && v->IsInt64() ? v->GetInt64() : -1;
}

/// One service of a frp_status/frp_start answer's `services` (null when absent).
inline const rapidjson::Value& service(const envelope::Envelope& e, const char* name) {
  static const rapidjson::Value kNull;
  const auto* services = json::member(e.body(), "services");
  const auto* s = services ? json::member(*services, name) : nullptr;
  return s ? *s : kNull;
}

inline bool waitDead(int pid, int timeoutMs = 10000) {
  return waitUntil([pid] { return !processAlive(pid); }, timeoutMs);
}

/// Starts an frp session and requires the 200.
inline envelope::Envelope startSession(AgentUnderTest& agent, const std::string& body) {
  auto r = agent.response(agent.send("frp_start", body));
  REQUIRE(r.statusCode == 200);
  return r;
}

inline int pidOf(const envelope::Envelope& r) {
  return static_cast<int>(num(r.body(), "pid"));
}

}  // namespace edgelink::testing
