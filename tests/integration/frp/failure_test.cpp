// frps refusing a start, in frp's own words, with real frpc and frps: the agent answers a failure
// carrying frp's text and leaves no frpc running.
#include <catch2/catch.hpp>

#include "frp_test_util.h"

using namespace edgelink;
using namespace edgelink::testing;

namespace {

/// The answer to a start that must fail: a 500 carrying `frpText`, no frpc left, and an
/// frp_stopped event saying start_failed.
void requireFailedStart(AgentUnderTest& agent, const envelope::Envelope& r,
                        const std::string& frpText) {
  INFO(agent.agentLog());
  CHECK(r.statusCode == 500);
  CHECK_THAT(bodyString(r, "error"), Catch::Contains(frpText));
  CHECK(frpcOf(agent).empty());
  agent.event(eventWith("frp_stopped", "stop_reason", "start_failed"));
  auto status = agent.response(agent.send("frp_status"));
  CHECK(bodyString(status, "state") == "stopped");
  CHECK(bodyString(status, "stop_reason") == "start_failed");
}

const rapidjson::Value* proxy(const envelope::Envelope& r, const char* service) {
  const auto* proxies = json::member(r.body(), "proxies");
  return proxies ? json::member(*proxies, service) : nullptr;
}

}  // namespace

TEST_CASE("a remote port another edge's proxy holds is a 500 with frp's port already used",
          "[frp][real]") {
  FrpsProcess frps;
  EchoServer echo;
  const std::string svc = "ssh=127.0.0.1:" + std::to_string(echo.port());
  AgentUnderTest holder(realFrp(frps, {svc}, "holder"));
  AgentUnderTest agent(realFrp(frps, {svc}, "e1"));
  holder.start();
  agent.start();
  const uint16_t port = freeTcpPort();
  REQUIRE(startAndWait(holder, {{"ssh", port}}).statusCode == 200);

  auto r = startAndWait(agent, {{"ssh", port}});
  requireFailedStart(agent, r, "port already used");
  CHECK_THAT(bodyString(r, "error"), Catch::Contains("e1.ssh"));
  const auto* p = proxy(r, "ssh");
  REQUIRE(p != nullptr);
  CHECK(std::string(json::getString(*p, "status")) == "start error");
  CHECK(std::string(json::getString(*p, "error")) == "port already used");
  // The holder's tunnel is untouched.
  CHECK(exchange(port, "holder's") == "holder's");
}

TEST_CASE("a remote port outside frps's allowPorts is a 500 with frp's port not allowed",
          "[frp][real]") {
  const uint16_t allowed = freeTcpPort();
  uint16_t other = freeTcpPort();
  while (other == allowed) {
    other = freeTcpPort();
  }
  FrpsOptions opts;
  opts.allowPorts = "[{ single = " + std::to_string(allowed) + " }]";
  FrpsProcess frps(opts);
  EchoServer echo;
  AgentUnderTest agent(realFrp(frps, {"ssh=127.0.0.1:" + std::to_string(echo.port())}));
  agent.start();
  auto r = startAndWait(agent, {{"ssh", other}});
  requireFailedStart(agent, r, "port not allowed");
  // The allowed one works.
  auto ok = startAndWait(agent, {{"ssh", allowed}});
  CHECK(ok.statusCode == 200);
}

TEST_CASE("a remote port a non-frp program listens on is a 500 with frp's port unavailable",
          "[frp][real]") {
  FrpsProcess frps;
  EchoServer echo;
  PortSquatter squatter;
  AgentUnderTest agent(realFrp(frps, {"ssh=127.0.0.1:" + std::to_string(echo.port())}));
  agent.start();
  auto r = startAndWait(agent, {{"ssh", squatter.port()}});
  requireFailedStart(agent, r, "port unavailable");
}

TEST_CASE("one refused proxy fails the whole start and frpc is stopped with the good one",
          "[frp][real]") {
  FrpsProcess frps;
  EchoServer echo;
  PortSquatter squatter;
  AgentUnderTest agent(realFrp(frps, {"ssh=127.0.0.1:" + std::to_string(echo.port()),
                                      "web=127.0.0.1:" + std::to_string(echo.port())}));
  agent.start();
  const uint16_t good = freeTcpPort();
  auto r = startAndWait(agent, {{"ssh", good}, {"web", squatter.port()}});
  requireFailedStart(agent, r, "port unavailable");
  // The proxy frps had accepted went with frpc.
  CHECK(waitUntil([&] { return tcpRefused(good); }, 10000));
}

TEST_CASE("a wrong frps token is a 500 with frp's login failure and frpc has exited",
          "[frp][real]") {
  FrpsProcess frps;
  EchoServer echo;
  AgentSetup setup = realFrp(frps, {"ssh=127.0.0.1:" + std::to_string(echo.port())});
  setup.frpsToken = "not-the-token";
  AgentUnderTest agent(setup);
  agent.start();
  auto r = startAndWait(agent, {{"ssh", freeTcpPort()}});
  requireFailedStart(agent, r, "login to the server failed");
  CHECK_THAT(bodyString(r, "error"),
             Catch::Contains("token in login doesn't match token from configuration"));
  CHECK_THAT(bodyString(r, "error"), Catch::Contains("exited with status 1"));
}

TEST_CASE("frps not listening is a 500 with frpc's connection refused and frpc has exited",
          "[frp][real]") {
  FrpsProcess frps;
  EchoServer echo;
  AgentUnderTest agent(realFrp(frps, {"ssh=127.0.0.1:" + std::to_string(echo.port())}));
  frps.stop();
  agent.start();
  auto r = startAndWait(agent, {{"ssh", freeTcpPort()}});
  requireFailedStart(agent, r, "login to the server failed");
  CHECK_THAT(bodyString(r, "error"), Catch::Contains("connection refused"));
}

TEST_CASE("an frps that never answers the login is a 504 in frpc's own words and no frpc is left",
          "[frp][real]") {
  FrpsProcess frps;
  PortSquatter silent;  // accepts TCP connections (the kernel does) and never says a word
  EchoServer echo;
  AgentSetup setup = realFrp(frps, {"ssh=127.0.0.1:" + std::to_string(echo.port())});
  setup.frpsPort = silent.port();
  AgentUnderTest agent(setup);
  agent.start({"--frpc-start-timeout", "2s"});
  auto r = startAndWait(agent, {{"ssh", freeTcpPort()}});
  INFO(agent.agentLog());
  CHECK(r.statusCode == 504);
  const std::string error = bodyString(r, "error");
  CHECK_THAT(error, Catch::Contains("e1.ssh: frpc is not logged in to frps"));
  // What frpc said, not the agent's own status polls in frpc's access log.
  CHECK_THAT(error, Catch::Contains("try to connect to server"));
  CHECK_THAT(error, !Catch::Contains("/api/status"));
  CHECK(frpcOf(agent).empty());
  auto ev = agent.event(eventWith("frp_stopped", "stop_reason", "start_failed"));
  CHECK_THAT(bodyString(ev, "frpc_output"), !Catch::Contains("/api/status"));
}
