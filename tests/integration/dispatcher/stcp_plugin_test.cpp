// stcp sessions through frps's server plugin: real frps asks the dispatcher (frps-plugin-listen)
// before every login and proxy. `session open --mode stcp` through the real dispatcher, Kafka, the
// real agent and real frpc: the agent's stcp proxy is accepted, and the printed visitor config,
// run unmodified by a real frpc, logs in with its proof and reaches the board's sshd. The same
// config with its proof altered is refused at login (frpc exits, saying the plugin's reason), and
// an stcp proxy from an edge with no stcp session is refused.
#include <catch2/catch.hpp>
#include <regex>

#include "agent_harness.h"
#include "dispatcher_harness.h"
#include "harness/frp_visitor.h"
#include "stcp_util.h"

using namespace edgelink;
using namespace edgelink::testing;

namespace {

const char* const kPluginPath = "/frps-plugin/stcp-s3cr3t-path";

std::string proofIn(const std::string& config) {
  std::smatch m;
  return std::regex_search(config, m, std::regex("metadatas.edgelink_proof = \"([A-Za-z0-9_-]+)\""))
             ? m.str(1)
             : "";
}

/// The visitor config with its bind port moved to `bindPort` and its proof replaced by `proof`.
std::string withProof(std::string config, const std::string& proof, uint16_t fromPort,
                      uint16_t bindPort) {
  config = std::regex_replace(config, std::regex("edgelink_proof = \"[A-Za-z0-9_-]+\""),
                              "edgelink_proof = \"" + proof + "\"");
  return std::regex_replace(config, std::regex("bindPort = " + std::to_string(fromPort)),
                            "bindPort = " + std::to_string(bindPort));
}

/// frpc's config for an stcp proxy `name` of `edge` (its metadata as the agent writes it).
std::string stcpProxyConfig(const FrpsProcess& frps, const std::string& edge,
                            const std::string& name, uint16_t localPort) {
  return "serverAddr = \"127.0.0.1\"\nserverPort = " + std::to_string(frps.port()) +
         "\nloginFailExit = true\nauth.method = \"token\"\nauth.token = \"" + frps.token() +
         "\"\nmetadatas.edgelink_edge = \"" + edge + "\"\n\n[[proxies]]\nname = \"" + name +
         "\"\ntype = \"stcp\"\nlocalIP = \"127.0.0.1\"\nlocalPort = " + std::to_string(localPort) +
         "\nsecretKey = \"not-a-session-secret\"\nmetadatas.edgelink_edge = \"" + edge + "\"\n";
}

}  // namespace

TEST_CASE(
    "frps plugin and stcp: the agent's stcp proxy is accepted, the printed visitor config logs "
    "in with its proof and reaches sshd, an altered proof and a sessionless stcp proxy are "
    "refused",
    "[dispatcher][agent][frp][real][stcp][frps-plugin]") {
  const uint16_t pluginPort = freeTcpPort();
  FrpsOptions fo;
  fo.pluginAddr = "127.0.0.1:" + std::to_string(pluginPort);
  fo.pluginPath = kPluginPath;
  FrpsProcess frps(fo);
  SshServer sshd;
  DispatcherHarness h(DispatcherHarness::Setup(
      {"sd1", "sd2"}, {"frps-port = " + std::to_string(frps.port()),
                       "frps-plugin-listen = \"127.0.0.1:" + std::to_string(pluginPort) + "\"",
                       std::string("frps-plugin-path = \"") + kPluginPath + "\""}));
  h.startDaemon();
  REQUIRE(h.waitForLog(0, "frps plugin on http://127.0.0.1:" + std::to_string(pluginPort)));
  AgentUnderTest agent(stcpAgentSetup(h, frps, sshd.port(), "sd1"));
  agent.start();
  REQUIRE(h.waitFor("SELECT online FROM edge_status WHERE edge_id = 'sd1'", "t"));

  TempDir dir("maintainer");
  const uint16_t bindPort = freeTcpPort();
  auto open = openStcpSession(h, frps, dir, bindPort);
  INFO(open.out << open.err << agent.agentLog() << h.daemonLog(0) << frps.log());
  REQUIRE(open.code == 0);
  CHECK_THAT(open.out, Catch::Contains("(stcp: no public port) is open until"));
  const std::string sid = h.sql("SELECT session_id FROM sessions");
  // The agent's login and its stcp proxy, each asked of the plugin and allowed.
  CHECK(h.waitForLog(0, "type=Login edge=sd1 port=0 outcome=allowed"));
  CHECK(h.waitForLog(0, "type=NewProxy edge=sd1 port=0 outcome=allowed"));

  // (a) The printed visitor config, unmodified: its login carries the proof.
  const std::string config = visitorPart(open.out);
  const std::string proof = proofIn(config);
  REQUIRE(proof.size() == 43);
  CHECK_THAT(config, Catch::Contains("metadatas.edgelink_session = \"" + sid + "\""));
  writeText(dir.file("visitor.toml"), config);
  checkVisitorReachesSsh(dir.file("visitor.toml"), bindPort, sshd, frps);
  CHECK(h.waitForLog(0, "type=Login edge=sd1 port=0 visitor-of=" + sid + " outcome=allowed"));

  // (b) The same config with the proof altered: refused at login, frpc exits saying why.
  std::string altered = proof;
  altered[5] = altered[5] == 'A' ? 'B' : 'A';
  const uint16_t badPort = freeTcpPort();
  writeText(dir.file("forged.toml"), withProof(config, altered, bindPort, badPort));
  FrpcProcess forged(dir.file("forged.toml"));
  const bool exited = waitUntil([&] { return !forged.running(); }, 20000);
  INFO(forged.log());
  CHECK(exited);
  CHECK_THAT(forged.log(), Catch::Contains("is not session " + sid + "'s proof"));
  CHECK(tcpRefused(badPort));
  CHECK(h.waitForLog(0, "visitor-of=" + sid + " outcome=bad_proof"));
  const std::string daemonLog = h.daemonLog(0);
  CHECK(daemonLog.find(proof) == std::string::npos);
  CHECK(daemonLog.find(altered) == std::string::npos);

  // (c) An stcp proxy from an edge with no stcp session (the frps token and a known edge are
  // not enough): refused with the plugin's reason.
  h.sql("INSERT INTO edges (edge_id, first_seen_at) VALUES ('sd2', now()) ON CONFLICT DO NOTHING");
  writeText(dir.file("sd2.toml"), stcpProxyConfig(frps, "sd2", "sd2.ssh", sshd.port()));
  FrpcProcess sd2(dir.file("sd2.toml"));
  CHECK(h.waitForLog(0, "type=NewProxy edge=sd2 port=0 outcome=no_stcp_session"));
  CHECK(waitUntil(
      [&] { return sd2.log().find("edge sd2 has no live stcp session") != std::string::npos; },
      20000));
  INFO(sd2.log());

  auto close = h.cli({"session", "close", "--edge", "sd1", "--wait", "30"});
  CHECK(close.code == 0);
  REQUIRE(h.waitFor("SELECT state FROM sessions", "closed"));
  // (d) Once the session closed, even the right proof no longer logs in.
  const uint16_t latePort = freeTcpPort();
  writeText(dir.file("late.toml"), withProof(config, proof, bindPort, latePort));
  FrpcProcess late(dir.file("late.toml"));
  CHECK(waitUntil([&] { return !late.running(); }, 20000));
  INFO(late.log());
  CHECK_THAT(late.log(), Catch::Contains("is not a live stcp session of edge sd1"));
}
