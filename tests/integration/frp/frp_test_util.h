#pragma once

// Shared by the real-frp tests: an agent set up for real frpc against a test's frps, and small
// readers of the agent's answers.

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "agent_harness.h"
#include "envelope/json_util.h"
#include "harness/frp_peers.h"

namespace edgelink::testing {

/// An agent running real frpc against `frps`, exposing `services` ("NAME=127.0.0.1:PORT").
inline AgentSetup realFrp(const FrpsProcess& frps, std::vector<std::string> services,
                          const std::string& edgeId = "e1", const std::string& format = "toml") {
  AgentSetup s;
  s.edgeId = edgeId;
  s.format = format;
  s.services = std::move(services);
  s.remotePorts = "1024-65535";  // remote ports are free ports the test picks
  s.frpcPath = realFrpcPath();
  s.frpsAddr = "127.0.0.1";
  s.frpsPort = frps.port();
  s.frpsToken = frps.token();
  return s;
}

inline std::string bodyString(const envelope::Envelope& e, const char* key) {
  const char* v = json::getString(e.body(), key);
  return v ? v : "";
}

inline std::string serviceString(const envelope::Envelope& e, const char* service,
                                 const char* key) {
  const auto* services = json::member(e.body(), "services");
  const auto* s = services ? json::member(*services, service) : nullptr;
  const char* v = s ? json::getString(*s, key) : nullptr;
  return v ? v : "";
}

inline int64_t bodyInt(const envelope::Envelope& e, const char* key) {
  const auto* v = json::member(e.body(), key);
  return v && v->IsInt64() ? v->GetInt64() : -1;
}

/// `{"services":{"NAME":PORT,...}}`
inline std::string startBody(const std::vector<std::pair<std::string, uint16_t>>& services) {
  std::string out = "{\"services\":{";
  for (size_t i = 0; i < services.size(); ++i) {
    out += (i ? "," : "") + std::string("\"") + services[i].first +
           "\":" + std::to_string(services[i].second);
  }
  return out + "}}";
}

/// Sends a start and returns the answer (generous bound: real frpc logs in to frps first).
inline envelope::Envelope startAndWait(AgentUnderTest& agent,
                                       const std::vector<std::pair<std::string, uint16_t>>& s) {
  return agent.response(agent.send("frp_start", startBody(s)), 30000);
}

/// The agent's live frpc processes (those running on its generated config).
inline std::vector<int> frpcOf(const AgentUnderTest& agent) {
  return processesWithArg(agent.frpcConfigPath());
}

/// A payload that is not all one byte (so a mix-up shows), of `size` bytes.
inline std::string payload(size_t size, const std::string& tag) {
  std::string out;
  for (size_t i = 0; out.size() < size; ++i) {
    out += tag + ":" + std::to_string(i) + "\n";
  }
  out.resize(size);
  return out;
}

}  // namespace edgelink::testing
