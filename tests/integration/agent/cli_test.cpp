// The edge-agent command line as operators use it: verify, render-frpc, the example config and
// the systemd unit.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <regex>

#include "agent_harness.h"
#include "core/strings.h"
#include "envelope/envelope.h"

using namespace edgelink;
using namespace edgelink::testing;

namespace {

struct Run {
  int status = -1;
  std::string output;
};

/// Runs a program to completion, stdout and stderr together.
Run runCapture(std::vector<std::string> argv, const std::string& outFile) {
  SpawnOptions opts;
  opts.argv = std::move(argv);
  opts.stdoutPath = outFile;
  opts.stderrPath = outFile;
  auto p = Subprocess::spawn(opts);
  REQUIRE(p.ok());
  Run r;
  r.status = p->waitFor(30000).value_or(-1);
  r.output = readText(outFile);
  return r;
}

std::string exampleConfig() {
  return sourceDir() + "/config/edge-agent.example.conf";
}

/// The example config as the package installs it (mode 0640: it holds a SASL password).
std::string installedExample(const TempDir& dir) {
  writeText(dir.file("edge-agent.conf"), readText(exampleConfig()));
  ::chmod(dir.file("edge-agent.conf").c_str(), 0640);
  return dir.file("edge-agent.conf");
}

}  // namespace

TEST_CASE("the example config passes edge-agent verify", "[agent][cli]") {
  TempDir dir;
  writeText(dir.file("token"), "secret\n");
  ::chmod(dir.file("token").c_str(), 0600);
  writeText(dir.file("ca.pem"), "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
  // Paths on this machine replace the board's; every other key is checked as written.
  auto r = runCapture({edgeAgentPath(), "verify", "--config", installedExample(dir), "--frpc-path",
                       fakeFrpcPath(), "--frps-token-file", dir.file("token"), "--frps-ca-file",
                       dir.file("ca.pem"), "--state-dir", dir.file("state")},
                      dir.file("out"));
  INFO(r.output);
  CHECK(r.status == 0);
  CHECK_THAT(r.output, Catch::Contains("configuration OK: edge elevator-0042"));
  CHECK_THAT(r.output, !Catch::Contains("warning"));
}

TEST_CASE("the example config comments every option the agent has", "[agent][cli]") {
  TempDir dir;
  auto help = runCapture({edgeAgentPath(), "--help"}, dir.file("help"));
  std::string example = readText(exampleConfig());
  std::regex flag("--([a-z][a-z0-9-]+)");
  size_t checked = 0;
  for (auto it = std::sregex_iterator(help.output.begin(), help.output.end(), flag);
       it != std::sregex_iterator(); ++it) {
    std::string key = (*it)[1];
    if (key == "help" || key == "version" || key == "config" || key == "no-frpc-verify" ||
        key == "kafka-brokers)") {
      continue;
    }
    INFO("key " << key);
    CHECK(std::regex_search(example, std::regex("\n#[^\n]*\n" + key + " = ")));
    ++checked;
  }
  CHECK(checked >= 25);
}

TEST_CASE("verify reports every problem, each naming its key, and exits 1", "[agent][cli]") {
  TempDir dir;
  writeText(dir.file("token"), "s3cr3t-t0ken\n");
  ::chmod(dir.file("token").c_str(), 0644);
  writeText(dir.file("bad.conf"),
            "edge-id = \"bad id!\"\n"
            "kafka-brokers = \"\"\n"
            "kafka-property = [\"no-equals-sign\"]\n"
            "frpc-path = \"/nonexistent/frpc\"\n"
            "frpc-format = \"yaml\"\n"
            "frps-addr = \"frps example\"\n"
            "frps-port = 70000\n"
            "frps-token-file = \"" +
                dir.file("token") +
                "\"\n"
                "service = [\"ssh=127.0.0.1\", \"Web=127.0.0.1:80\"]\n"
                "remote-ports = \"5000-4000\"\n"
                "auto-stop-default = \"3d\"\n"
                "auto-stop-max = \"1d\"\n"
                "heartbeat-interval = 0\n"
                "log-level = \"loud\"\n");
  auto r =
      runCapture({edgeAgentPath(), "verify", "--config", dir.file("bad.conf")}, dir.file("out"));
  INFO(r.output);
  CHECK(r.status == 1 << 8);
  for (const char* key :
       {"edge-id:", "kafka-brokers:", "kafka-property:", "frpc-path:", "frpc-format:", "frps-addr:",
        "frps-port:", "service: expected NAME=HOST:PORT", "service: service name",
        "remote-ports:", "auto-stop-default:", "heartbeat-interval:", "log-level:"}) {
    CHECK_THAT(r.output, Catch::Contains(std::string("error: ") + key));
  }
  CHECK_THAT(r.output, Catch::Contains("error: frps-token-file"));
  CHECK_THAT(r.output, Catch::Contains("mode 0644"));
  CHECK_THAT(r.output, !Catch::Contains("s3cr3t-t0ken"));
  // An unknown key is a usage error naming it (exit 2).
  writeText(dir.file("typo.conf"), "edge_id = \"e1\"\n");
  auto typo =
      runCapture({edgeAgentPath(), "verify", "--config", dir.file("typo.conf")}, dir.file("out2"));
  CHECK(typo.status == 2 << 8);
  CHECK_THAT(typo.output, Catch::Contains("unknown key 'edge_id'"));
}

TEST_CASE("render-frpc prints the config for a request, or the error response it would send",
          "[agent][cli]") {
  TempDir dir;
  writeText(dir.file("token"), "tok\"en\n");
  ::chmod(dir.file("token").c_str(), 0600);
  writeText(dir.file("ca.pem"), "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
  std::vector<std::string> base = {edgeAgentPath(),     "render-frpc",     "--config",
                                   installedExample(dir),     "--frpc-path",     fakeFrpcPath(),
                                   "--frps-token-file", dir.file("token"), "--frps-ca-file",
                                   dir.file("ca.pem"),  "--state-dir",     dir.file("state")};
  auto legacy = base;
  legacy.insert(legacy.end(), {"--remote-ports", "3000-4000", "--show-secrets", "--request",
                               sourceDir() + "/schemas/examples/valid/"
                                             "request-change_frp_client_config-original.json"});
  auto r = runCapture(legacy, dir.file("out"));
  INFO(r.output);
  CHECK(r.status == 0);
  CHECK_THAT(r.output, Catch::Contains("name = \"elevator-0042.ssh\""));
  CHECK_THAT(r.output, Catch::Contains("remotePort = 3997"));
  CHECK_THAT(r.output, Catch::Contains("auth.token = \"tok\\\"en\""));
  // The example's secure defaults: TLS on, frps verified against the CA.
  CHECK_THAT(r.output,
             Catch::Contains("transport.tls.enable = true\ntransport.tls.trustedCaFile = \"" +
                             dir.file("ca.pem") + "\""));
  // The printed config is one the stand-in (strict) accepts.
  writeText(dir.file("frpc.toml"), r.output);
  auto check =
      runCapture({fakeFrpcPath(), "verify", "-c", dir.file("frpc.toml")}, dir.file("out2"));
  CHECK(check.status == 0);
  CHECK(::access(dir.file("state").c_str(), F_OK) != 0);  // nothing written

  writeText(dir.file("telnet.json"),
            R"({"request":{"id":7,"sender":"web_backend","timestamp":0,"type":"frp_start",
                "body":{"services":{"telnet":3023}}}})");
  auto refused = base;
  refused.insert(refused.end(), {"--request", dir.file("telnet.json")});
  auto e = runCapture(refused, dir.file("out3"));
  CHECK(e.status == 1 << 8);
  envelope::Decoder decoder;
  auto decoded = decoder.decode(std::string(trim(e.output)));
  REQUIRE(decoded.ok());
  CHECK(decoded->statusCode == 403);
  CHECK_THAT(e.output, Catch::Contains("request.body.services.telnet"));
}

TEST_CASE("systemd-analyze verify accepts the unit", "[agent][cli][systemd]") {
  TempDir dir;
  std::string unit = readText(sourceDir() + "/systemd/edge-agent.service");
  REQUIRE(unit.find("Type=notify") != std::string::npos);
  REQUIRE(unit.find("WatchdogSec=") != std::string::npos);
  REQUIRE(unit.find("Restart=always") != std::string::npos);
  REQUIRE(unit.find("StateDirectory=edge-agent") != std::string::npos);
  const std::string installed = "/usr/local/bin/edge-agent";
  REQUIRE(unit.find(installed) != std::string::npos);
  unit.replace(unit.find(installed), installed.size(), edgeAgentPath());
  writeText(dir.file("edge-agent.service"), unit);
  REQUIRE(::access("/usr/bin/systemd-analyze", X_OK) == 0);  // scripts/bootstrap installs it
  auto r = runCapture({"/usr/bin/systemd-analyze", "verify", dir.file("edge-agent.service")},
                      dir.file("out"));
  INFO(r.output);
  CHECK(r.status == 0);
  CHECK(trim(r.output).empty());  // unknown keys are only warned about: none allowed
}

TEST_CASE("secrets only from files: not on the command line, not in a config others may read",
          "[agent][cli][security]") {
  TempDir dir;
  writeText(dir.file("token"), "secret\n");
  ::chmod(dir.file("token").c_str(), 0600);
  writeText(dir.file("ca.pem"), "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
  const std::string conf = installedExample(dir);
  const std::vector<std::string> base = {
      edgeAgentPath(), "verify",         "--config",          conf,
      "--frpc-path",   fakeFrpcPath(),   "--frps-token-file", dir.file("token"),
      "--state-dir",   dir.file("state")};
  auto onCommandLine = base;
  onCommandLine.insert(onCommandLine.end(), {"--kafka-property", "sasl.password=hunter2"});
  auto r = runCapture(onCommandLine, dir.file("out1"));
  INFO(r.output);
  CHECK(r.status == 1 << 8);
  CHECK_THAT(r.output, Catch::Contains("error: kafka-property: sasl.password on the command line "
                                       "is visible to every user in ps"));
  CHECK_THAT(r.output, !Catch::Contains("hunter2"));

  ::chmod(conf.c_str(), 0644);
  auto open = runCapture(base, dir.file("out2"));
  INFO(open.output);
  CHECK(open.status == 1 << 8);
  CHECK_THAT(open.output, Catch::Contains("error: config: " + conf +
                                          " holds secrets (kafka-property sasl.password) and is "
                                          "mode 0644"));
  CHECK_THAT(open.output, !Catch::Contains("change-me"));
  // The daemon refuses to start the same way (exit 2), before touching Kafka.
  std::vector<std::string> run(base.begin(), base.end());
  run.erase(run.begin() + 1);  // no "verify"
  auto daemon = runCapture(run, dir.file("out3"));
  CHECK(daemon.status == 2 << 8);
  CHECK_THAT(daemon.output, Catch::Contains("holds secrets"));
}
