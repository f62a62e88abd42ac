#pragma once

// What the stcp tests share: the visitor config the CLI printed, and an agent set up for an stcp
// session on the dispatcher's broker with real frpc.

#include <catch2/catch.hpp>
#include <string>

#include "agent_harness.h"
#include "dispatcher_harness.h"
#include "harness/frp_peers.h"
#include "harness/frp_visitor.h"
#include "harness/test_util.h"

namespace edgelink::testing {

/// The visitor config `session open` / `sessions show --visitor` printed (from its first line).
inline std::string visitorPart(const std::string& out) {
  auto at = out.find("# frpc visitor for stcp session");
  return at == std::string::npos ? std::string() : out.substr(at);
}

/// Edge `edge`'s agent on `h`'s broker, trusting its signing key, one service ssh on 127.0.0.1
/// `sshPort`, real frpc logging in to `frps` with its token.
inline AgentSetup stcpAgentSetup(DispatcherHarness& h, const FrpsProcess& frps, uint16_t sshPort,
                                 const std::string& edge) {
  AgentSetup as;
  as.edgeId = edge;
  as.sharedBroker = &h.broker();
  as.topicPrefix = h.topicPrefix();
  as.services = {"ssh=127.0.0.1:" + std::to_string(sshPort)};
  as.frpcPath = realFrpcPath();
  as.frpsAddr = "127.0.0.1";
  as.frpsPort = frps.port();
  as.frpsToken = frps.token();
  as.trustedKeys = {h.signingPublicKey()};  // the dispatcher signs its requests
  return as;
}

/// `session open --mode stcp` of edge sd1's ssh, as a maintainer whose frps token is in `dir`
/// (written there) and whose visitor binds `bindPort`; the visitor logs in to this test's frps
/// (the harness's config names a placeholder host).
inline CliResult openStcpSession(DispatcherHarness& h, const FrpsProcess& frps, TempDir& dir,
                                 uint16_t bindPort) {
  writeText(dir.file("frps-token"), frps.token() + "\n");
  return h.cli({"--frps-host", "127.0.0.1", "session", "open", "--edge", "sd1", "--mode", "stcp",
                "--services", "ssh", "--wait", "30", "--visitor-token-file", dir.file("frps-token"),
                "--visitor-bind-port", std::to_string(bindPort)});
}

/// Real frpc runs `configPath` (a visitor config binding 127.0.0.1:`bindPort`) and an ssh through
/// it reaches `sshd`: checked, frpc stopped after.
inline void checkVisitorReachesSsh(const std::string& configPath, uint16_t bindPort,
                                   SshServer& sshd, const FrpsProcess& frps) {
  FrpcProcess visitor(configPath);
  REQUIRE(visitor.waitListening(bindPort));
  auto ssh = sshd.ssh(bindPort, "echo via-visitor-$(uname -s)");
  INFO(ssh.output << visitor.log() << frps.log());
  CHECK(ssh.ok());
  CHECK_THAT(ssh.output, Catch::Contains("via-visitor-Linux"));
}

}  // namespace edgelink::testing
