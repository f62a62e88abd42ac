// stcp sessions and TLS to frps with real frps, frpc and sshd: an stcp start opens no port on
// frps, a real frpc visitor with the session's secret reaches the board's sshd and one with
// another secret does not; frpc verifies frps against the CA the agent's config names, and a
// frps with a certificate from another CA is a failed start, not a hang.
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "frp_test_util.h"
#include "harness/frp_visitor.h"

using namespace edgelink;
using namespace edgelink::testing;

namespace {

const std::string kSecret = "q3Jx0m8ZbV2yH7tWn4cLr9sKd1fG6pAe5uQiOzXjB-_";

std::string stcpStartBody(const std::string& secret, const std::string& services) {
  return R"({"mode":"stcp","secret_key":")" + secret + R"(","services":)" + services + "}";
}

/// An frpc visitor config for `serverName` (an stcp proxy) with `secret`, on 127.0.0.1:`bindPort`.
std::string visitorToml(const FrpsProcess& frps, const std::string& tokenFile,
                        const std::string& serverName, const std::string& secret,
                        uint16_t bindPort) {
  return "serverAddr = \"127.0.0.1\"\nserverPort = " + std::to_string(frps.port()) +
         "\nloginFailExit = true\nauth.tokenSource.type = \"file\"\n"
         "auth.tokenSource.file.path = \"" +
         tokenFile + "\"\n\n[[visitors]]\nname = \"maintainer\"\ntype = \"stcp\"\nserverName = \"" +
         serverName + "\"\nsecretKey = \"" + secret +
         "\"\nbindAddr = \"127.0.0.1\"\nbindPort = " + std::to_string(bindPort) + "\n";
}

}  // namespace

TEST_CASE(
    "real frp stcp: no port opens on frps, the visitor with the secret reaches sshd and one "
    "with another secret does not",
    "[frp][real][stcp]") {
  FrpsProcess frps;
  SshServer sshd;
  AgentUnderTest agent(realFrp(frps, {"ssh=127.0.0.1:" + std::to_string(sshd.port())}, "st1"));
  agent.start();
  const std::set<uint16_t> before = listeningPorts(frps.pid());
  REQUIRE(before == std::set<uint16_t>{frps.port()});

  auto r = agent.response(agent.send("frp_start", stcpStartBody(kSecret, "[\"ssh\"]")), 30000);
  INFO(agent.agentLog());
  REQUIRE(r.statusCode == 200);
  CHECK(serviceString(r, "ssh", "status") == "running");
  CHECK(serviceString(r, "ssh", "type") == "stcp");
  CHECK(serviceString(r, "ssh", "proxy_name") == "st1.ssh");
  const auto* ssh = json::member(*json::member(r.body(), "services"), "ssh");
  CHECK(json::member(*ssh, "remote_port") == nullptr);
  // frps listens on nothing new: the proxy has no public port.
  CHECK(listeningPorts(frps.pid()) == before);

  // The secret is in the 0600 frpc config and nowhere in the agent's log or its answer.
  struct stat st {};
  REQUIRE(::stat(agent.frpcConfigPath().c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK_THAT(readText(agent.frpcConfigPath()), Catch::Contains("secretKey = \"" + kSecret + "\""));
  CHECK(agent.agentLog().find(kSecret) == std::string::npos);
  CHECK(envelope::encode(r).find(kSecret) == std::string::npos);

  TempDir dir("visitor");
  writeText(dir.file("token"), frps.token() + "\n");
  const uint16_t good = freeTcpPort();
  writeText(dir.file("good.toml"), visitorToml(frps, dir.file("token"), "st1.ssh", kSecret, good));
  FrpcProcess visitor(dir.file("good.toml"));
  REQUIRE(visitor.waitListening(good));
  auto through = sshd.ssh(good, "echo stcp-ok-$(uname -s)");
  INFO(through.output << visitor.log() << frps.log());
  CHECK(through.ok());
  CHECK_THAT(through.output, Catch::Contains("stcp-ok-Linux"));
  CHECK(listeningPorts(frps.pid()) == before);

  const uint16_t bad = freeTcpPort();
  writeText(dir.file("bad.toml"),
            visitorToml(frps, dir.file("token"), "st1.ssh", std::string(43, 'x'), bad));
  FrpcProcess wrong(dir.file("bad.toml"));
  REQUIRE(wrong.waitListening(bad));
  auto refused = sshd.ssh(bad, "echo should-not-run", 15000);
  INFO(refused.output << wrong.log());
  CHECK_FALSE(refused.ok());
  CHECK_THAT(refused.output, !Catch::Contains("should-not-run"));

  auto s = agent.response(agent.send("frp_stop"));
  CHECK(s.statusCode == 200);
}

TEST_CASE("real frp TLS: frpc verifies frps against the configured CA and the tunnel works",
          "[frp][real][tls]") {
  TempDir pki("pki");
  TestCa ca = makeTestCa(pki, "a");
  FrpsOptions fo;
  fo.tls = ca.server;
  FrpsProcess frps(fo);
  EchoServer echo;
  for (const std::string format : {"toml", "ini"}) {
    INFO(format);
    AgentSetup setup =
        realFrp(frps, {"echo=127.0.0.1:" + std::to_string(echo.port())}, "tls-" + format, format);
    setup.extraConfig.push_back("frps-ca-file = \"" + ca.caFile + "\"");
    AgentUnderTest agent(setup);
    agent.start();
    const uint16_t port = freeTcpPort();
    auto r = startAndWait(agent, {{"echo", port}});
    INFO(agent.agentLog() << frps.log());
    REQUIRE(r.statusCode == 200);
    const std::string conf = readText(agent.frpcConfigPath());
    CHECK_THAT(conf, Catch::Contains(format == "toml" ? "transport.tls.trustedCaFile"
                                                      : "tls_trusted_ca_file"));
    CHECK(exchange(port, "over tls") == std::optional<std::string>("over tls"));
    CHECK(agent.response(agent.send("frp_stop")).statusCode == 200);
  }
}

TEST_CASE(
    "real frp TLS: a frps whose certificate another CA signed fails the start (500) where the "
    "right CA works, and one forcing TLS refuses an agent with frps-tls off",
    "[frp][real][tls]") {
  TempDir pki("pki");
  TestCa mine = makeTestCa(pki, "mine");
  TestCa other = makeTestCa(pki, "other");
  FrpsOptions fo;
  fo.tls = other.server;
  FrpsProcess frps(fo);
  EchoServer echo;
  AgentSetup setup = realFrp(frps, {"echo=127.0.0.1:" + std::to_string(echo.port())}, "tls-bad");
  setup.extraConfig.push_back("frps-ca-file = \"" + mine.caFile + "\"");
  AgentUnderTest agent(setup);
  agent.start();
  const uint16_t port = freeTcpPort();
  auto r = startAndWait(agent, {{"echo", port}});
  INFO(agent.agentLog() << frps.log());
  // frpc refuses frps's certificate in the handshake; frp reports the login as failed (its text
  // is "session shutdown", not the x509 error), and loginFailExit ends frpc: a 500, not a hang.
  CHECK(r.statusCode == 500);
  CHECK_THAT(bodyString(r, "error"), Catch::Contains("login to the server failed"));
  CHECK(frpcOf(agent).empty());
  CHECK(tcpRefused(port));

  // The control: the same frps, an agent naming the CA that did sign it.
  AgentSetup right = realFrp(frps, {"echo=127.0.0.1:" + std::to_string(echo.port())}, "tls-ok");
  right.extraConfig.push_back("frps-ca-file = \"" + other.caFile + "\"");
  AgentUnderTest good(right);
  good.start();
  auto g = startAndWait(good, {{"echo", port}});
  INFO(good.agentLog());
  CHECK(g.statusCode == 200);
  CHECK(exchange(port, "signed") == std::optional<std::string>("signed"));
  CHECK(good.response(good.send("frp_stop")).statusCode == 200);
  CHECK(waitUntil([&] { return tcpRefused(port); }, 10000));

  AgentSetup plain = realFrp(frps, {"echo=127.0.0.1:" + std::to_string(echo.port())}, "tls-off");
  plain.extraConfig.push_back("frps-tls = \"off\"");
  AgentUnderTest off(plain);
  off.start();
  auto o = startAndWait(off, {{"echo", port}});
  INFO(off.agentLog());
  CHECK(o.statusCode == 500);
  CHECK(frpcOf(off).empty());
}
