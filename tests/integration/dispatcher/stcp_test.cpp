// stcp end to end, as a maintainer does it: `session open --mode stcp` through the real
// dispatcher, Kafka, the real agent and real frpc to a real frps; the printed visitor config run
// by a real frpc reaches the board's sshd. No port opens on frps; the secret is shown to the
// operator only (the CLI's output, `sessions show --visitor`), never logged or stored in the
// request row.
#include <catch2/catch.hpp>
#include <regex>

#include "agent_harness.h"
#include "dispatcher_harness.h"
#include "harness/frp_visitor.h"
#include "stcp_util.h"

using namespace edgelink;
using namespace edgelink::testing;

namespace {

std::string secretIn(const std::string& config) {
  std::smatch m;
  return std::regex_search(config, m, std::regex("secretKey = \"([A-Za-z0-9_-]+)\"")) ? m.str(1)
                                                                                      : "";
}

}  // namespace

TEST_CASE(
    "session open --mode stcp: no port on frps, the printed visitor config reaches the board's "
    "sshd, the secret shown to the operator only",
    "[dispatcher][agent][frp][real][stcp]") {
  FrpsProcess frps;
  SshServer sshd;
  DispatcherHarness h(
      DispatcherHarness::Setup({"sd1"}, {"frps-port = " + std::to_string(frps.port())}));
  h.startDaemon();
  AgentUnderTest agent(stcpAgentSetup(h, frps, sshd.port(), "sd1"));
  agent.start();
  REQUIRE(h.waitFor("SELECT online FROM edge_status WHERE edge_id = 'sd1'", "t"));
  const std::set<uint16_t> before = listeningPorts(frps.pid());

  TempDir dir("maintainer");
  const uint16_t bindPort = freeTcpPort();
  auto open = openStcpSession(h, frps, dir, bindPort);
  INFO(open.out << open.err << agent.agentLog() << h.daemonLog(0));
  REQUIRE(open.code == 0);
  CHECK_THAT(open.out, Catch::Contains("(stcp: no public port) is open until"));
  CHECK_THAT(open.out, Catch::Contains("ssh -p " + std::to_string(bindPort) + " root@127.0.0.1"));
  const std::string config = visitorPart(open.out);
  const std::string secret = secretIn(config);
  REQUIRE(secret.size() == 43);  // 32 random bytes, base64url
  CHECK_THAT(config, Catch::Contains("serverName = \"sd1.ssh\""));
  CHECK(listeningPorts(frps.pid()) == before);
  CHECK(h.sql("SELECT mode || ' ' || state FROM sessions") == "stcp active");
  CHECK(h.count("SELECT count(*) FROM session_ports") == 0);

  writeText(dir.file("visitor.toml"), config);
  checkVisitorReachesSsh(dir.file("visitor.toml"), bindPort, sshd, frps);

  // Shown again on request; never in the session's other views, the stored request or a log.
  const std::string sid = h.sql("SELECT session_id FROM sessions");
  auto again = h.cli({"--frps-host", "127.0.0.1", "sessions", "show", sid, "--visitor",
                      "--visitor-token-file", dir.file("frps-token"), "--visitor-bind-port",
                      std::to_string(bindPort)});
  CHECK(again.code == 0);
  CHECK(visitorPart(again.out) == config);
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"sessions", "show", sid}, {"--json", "sessions", "list"}, {"requests", "list"}}) {
    auto r = h.cli(args);
    CHECK(r.code == 0);
    CHECK(r.out.find(secret) == std::string::npos);
  }
  CHECK(h.sql("SELECT body->>'secret_key' FROM requests WHERE type = 'frp_start'") ==
        "redacted-by-the-dispatcher");
  CHECK(h.daemonLog(0).find(secret) == std::string::npos);
  CHECK(agent.agentLog().find(secret) == std::string::npos);

  auto close = h.cli({"session", "close", "--edge", "sd1", "--wait", "30"});
  CHECK(close.code == 0);
  REQUIRE(h.waitFor("SELECT state FROM sessions", "closed"));
  auto ended = h.cli({"sessions", "show", sid, "--visitor"});
  CHECK(ended.code == 1);
  CHECK_THAT(ended.err, Catch::Contains("has ended"));
}
