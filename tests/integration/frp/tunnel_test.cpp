// The agent with real frpc against a real frps on loopback: once the agent says "200", bytes and
// ssh sessions go through frps's remote port to the board's service; after a stop the port is
// closed; frps restarting mid-session; two edges with the same service names on one frps.
#include <catch2/catch.hpp>

#include "frp_test_util.h"

using namespace edgelink;
using namespace edgelink::testing;

namespace {

/// Start, bytes and ssh through the tunnel, stop: the remote ports close.
void tunnelEndToEnd(const std::string& format, bool verify) {
  FrpsProcess frps;
  EchoServer echo;
  SshServer sshd;
  AgentSetup setup = realFrp(frps,
                             {"echo=127.0.0.1:" + std::to_string(echo.port()),
                              "ssh=127.0.0.1:" + std::to_string(sshd.port())},
                             "e1", format);
  if (verify) {
    setup.extraConfig.push_back("frpc-verify = true");
  }
  AgentUnderTest agent(setup);
  agent.start();
  const uint16_t echoPort = freeTcpPort();
  const uint16_t sshPort = freeTcpPort();
  auto r = startAndWait(agent, {{"echo", echoPort}, {"ssh", sshPort}});
  INFO(agent.agentLog());
  REQUIRE(r.statusCode == 200);
  CHECK(bodyString(r, "state") == "running");
  CHECK(serviceString(r, "echo", "status") == "running");
  CHECK(serviceString(r, "ssh", "status") == "running");
  CHECK(serviceString(r, "ssh", "proxy_name") == "e1.ssh");
  const int pid = static_cast<int>(bodyInt(r, "pid"));
  CHECK(frpcOf(agent) == std::vector<int>{pid});

  // "200" means it works now: no waiting before the first byte.
  const std::string sent = payload(256 * 1024, "e1");
  CHECK(exchange(echoPort, sent) == sent);
  CHECK(echo.connections() == 1);
  auto ssh = sshd.ssh(sshPort, "echo hi-from-$(hostname) && uname -s");
  INFO(ssh.output << sshd.log());
  CHECK(ssh.ok());
  CHECK_THAT(ssh.output, Catch::Contains("hi-from-") && Catch::Contains("Linux"));

  auto status = agent.response(agent.send("frp_status"));
  CHECK(serviceString(status, "echo", "status") == "running");

  auto s = agent.response(agent.send("frp_stop"));
  CHECK(s.statusCode == 200);
  CHECK(bodyString(s, "state") == "stopped");
  CHECK(frpcOf(agent).empty());
  // frps closes a proxy's listener when it sees frpc's connection end (asynchronously).
  CHECK(waitUntil([&] { return tcpRefused(echoPort) && tcpRefused(sshPort); }, 10000));
}

}  // namespace

TEST_CASE(
    "real frp TOML: after a 200 bytes and ssh go through frps to the edge's services "
    "and a stop closes the remote ports",
    "[frp][real]") {
  tunnelEndToEnd("toml", false);
}

TEST_CASE(
    "real frp INI: after a 200 bytes and ssh go through frps to the edge's services "
    "and a stop closes the remote ports",
    "[frp][real]") {
  tunnelEndToEnd("ini", true);
}

TEST_CASE("frps restarted mid-session: frpc logs in again and the same session carries bytes again",
          "[frp][real]") {
  FrpsProcess frps;
  EchoServer echo;
  AgentUnderTest agent(realFrp(frps, {"echo=127.0.0.1:" + std::to_string(echo.port())}));
  agent.start();
  const uint16_t port = freeTcpPort();
  auto r = startAndWait(agent, {{"echo", port}});
  INFO(agent.agentLog());
  REQUIRE(r.statusCode == 200);
  const int pid = static_cast<int>(bodyInt(r, "pid"));
  CHECK(exchange(port, "before") == "before");

  frps.stop();
  CHECK(waitUntil([&] { return tcpRefused(port); }, 10000));
  // frpc keeps running and retrying (loginFailExit covers only its first login): the session
  // goes on, and frp_status says frpc is not logged in to frps (its /api/status lists nothing).
  std::optional<envelope::Envelope> during;
  CHECK(waitUntil(
      [&] {
        during = agent.response(agent.send("frp_status"));
        return serviceString(*during, "echo", "status") == "disconnected";
      },
      10000));
  CHECK(bodyString(*during, "state") == "running");
  CHECK(bodyInt(*during, "pid") == pid);
  CHECK_THAT(serviceString(*during, "echo", "error"), Catch::Contains("not logged in to frps"));

  frps.start();
  // frpc's reconnect backoff grows to 20 s at most.
  CHECK(waitUntil(
      [&] { return exchange(port, "after", 2000) == std::optional<std::string>("after"); }, 60000,
      200));
  auto after = agent.response(agent.send("frp_status"));
  CHECK(bodyInt(after, "pid") == pid);
  CHECK(serviceString(after, "echo", "status") == "running");
  CHECK(agent.log().count(eventOf("frp_stopped")) == 0);
  CHECK(frpcOf(agent) == std::vector<int>{pid});
}

TEST_CASE("two edges with the same service names share one frps at the same time", "[frp][real]") {
  FrpsProcess frps;
  EchoServer echoA;
  EchoServer echoB;
  AgentUnderTest a(realFrp(frps, {"ssh=127.0.0.1:" + std::to_string(echoA.port())}, "edge-a"));
  AgentUnderTest b(realFrp(frps, {"ssh=127.0.0.1:" + std::to_string(echoB.port())}, "edge-b"));
  a.start();
  b.start();
  const uint16_t portA = freeTcpPort();
  const uint16_t portB = freeTcpPort();
  // Both asked before either answers.
  auto idA = a.send("frp_start", startBody({{"ssh", portA}}));
  auto idB = b.send("frp_start", startBody({{"ssh", portB}}));
  auto ra = a.response(idA, 30000);
  auto rb = b.response(idB, 30000);
  INFO(a.agentLog() << b.agentLog() << frps.log());
  REQUIRE(ra.statusCode == 200);
  REQUIRE(rb.statusCode == 200);
  CHECK(serviceString(ra, "ssh", "proxy_name") == "edge-a.ssh");
  CHECK(serviceString(rb, "ssh", "proxy_name") == "edge-b.ssh");
  CHECK(exchange(portA, "to a") == "to a");
  CHECK(exchange(portB, "to b") == "to b");
  CHECK(echoA.connections() == 1);
  CHECK(echoB.connections() == 1);
  // One edge stopping leaves the other's tunnel alone.
  CHECK(a.response(a.send("frp_stop")).statusCode == 200);
  CHECK(waitUntil([&] { return tcpRefused(portA); }, 10000));
  CHECK(exchange(portB, "still b") == "still b");
}

TEST_CASE("a token full of quotes and spaces reaches frps intact from TOML and INI configs",
          "[frp][real]") {
  FrpsOptions opts;
  opts.token = R"( t"o`k'e\n %s #x ; é )";
  FrpsProcess frps(opts);
  EchoServer echo;
  for (const char* format : {"toml", "ini"}) {
    SECTION(format) {
      AgentUnderTest agent(
          realFrp(frps, {"echo=127.0.0.1:" + std::to_string(echo.port())}, "e1", format));
      agent.start();
      const uint16_t port = freeTcpPort();
      auto r = startAndWait(agent, {{"echo", port}});
      INFO(agent.agentLog() << readText(agent.frpcConfigPath()));
      CHECK(r.statusCode == 200);
      CHECK(exchange(port, "quoted") == "quoted");
    }
  }
}

TEST_CASE(
    "a start with other ports replaces real frpc: the new port carries bytes and the old "
    "one closes",
    "[frp][real]") {
  FrpsProcess frps;
  EchoServer echo;
  AgentUnderTest agent(realFrp(frps, {"echo=127.0.0.1:" + std::to_string(echo.port())}));
  agent.start();
  const uint16_t first = freeTcpPort();
  auto a = startAndWait(agent, {{"echo", first}});
  INFO(agent.agentLog() << frps.log());
  REQUIRE(a.statusCode == 200);
  uint16_t second = freeTcpPort();
  while (second == first) {
    second = freeTcpPort();
  }
  // The same proxy name again, from a new frpc: frps must have let go of the old one.
  auto b = startAndWait(agent, {{"echo", second}});
  REQUIRE(b.statusCode == 200);
  CHECK(bodyInt(b, "pid") != bodyInt(a, "pid"));
  CHECK(exchange(second, "second") == "second");
  CHECK(waitUntil([&] { return tcpRefused(first); }, 10000));
  CHECK(frpcOf(agent) == std::vector<int>{static_cast<int>(bodyInt(b, "pid"))});
}

TEST_CASE("an agent killed -9 mid-session resumes it with real frpc and the tunnel works again",
          "[frp][real]") {
  FrpsProcess frps;
  EchoServer echo;
  AgentUnderTest agent(realFrp(frps, {"echo=127.0.0.1:" + std::to_string(echo.port())}));
  agent.start();
  const uint16_t port = freeTcpPort();
  auto r = startAndWait(agent, {{"echo", port}});
  INFO(agent.agentLog() << frps.log());
  REQUIRE(r.statusCode == 200);
  const int oldPid = static_cast<int>(bodyInt(r, "pid"));
  agent.kill9();
  // frpc dies with the agent (PR_SET_PDEATHSIG); the agent comes back at once, as systemd
  // would restart it, and logs in again with the same proxy names and ports.
  CHECK(waitUntil([&] { return !processAlive(oldPid); }, 10000));
  agent.start();
  auto resumed = agent.event(
      [](const envelope::Envelope& e) {
        const auto* v = json::member(e.body(), "resumed");
        return e.type == "frp_started" && v && v->IsBool() && v->GetBool();
      },
      30000);
  CHECK(serviceString(resumed, "echo", "status") == "running");
  CHECK(exchange(port, "resumed") == "resumed");
  CHECK(agent.log().count(eventWith("frp_stopped", "stop_reason", "start_failed")) == 0);
  auto pids = frpcOf(agent);
  REQUIRE(pids.size() == 1);
  CHECK(pids[0] != oldPid);
}
