// The agent's side of the contract through the real binary: long auto-stops are capped whatever
// their spelling (issue #9 item 3), render-frpc masks secrets (item 6), unknown commands are
// named (item 5), and what a stop answer's request_id names (issue #17 item 4).
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "agent_harness.h"
#include "envelope/json_util.h"

using namespace edgelink;
using namespace edgelink::testing;

namespace {

std::string str(const envelope::Envelope& e, const char* key) {
  const char* v = json::getString(e.body(), key);
  return v ? v : "";
}

int64_t num(const envelope::Envelope& e, const char* key) {
  const auto* v = json::member(e.body(), key);
  return v && v->IsInt64() ? v->GetInt64() : -1;
}

/// The original design's start for ssh on 31022 with `autoStop` written as given (raw JSON).
std::string legacyStart(const std::string& id, const std::string& autoStop) {
  return R"({"request":{"id":")" + id + R"(","sender":"web_backend","timestamp":)" +
         std::to_string(nowMs()) +
         R"(,"type":"change_frp_client_config","body":[{"edge_ssh_remote_port":31022,)"
         R"("auto_stop_service_in":)" +
         autoStop + R"(}],"actions":[{"name":"start_frp_client_service"}]}})";
}

struct Run {
  int status = -1;
  std::string output;
};

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

}  // namespace

TEST_CASE("an auto-stop above the maximum is capped however large or however it is written",
          "[agent][contract][auto-stop]") {
  AgentUnderTest agent;
  agent.start({"--auto-stop-max", "1h", "--auto-stop-default", "10m"});
  struct Row {
    std::string label;
    std::string value;  // raw JSON
    int64_t expected;
  };
  const std::vector<Row> rows = {
      {"far above the maximum", "1000000000000000", 3600},
      {"beyond 64-bit integers", "99999999999999999999", 3600},
      {"above the maximum as a float", "1.5e9", 3600},
      {"just above 365 days", "31536001", 3600},
      {"below the maximum with a fraction", "90.5", 91},
      {"below the maximum", "1800", 1800},
  };
  for (size_t i = 0; i < rows.size(); ++i) {
    INFO(rows[i].label);
    const std::string id = "auto-stop-" + std::to_string(i);
    agent.produceRaw(legacyStart(id, rows[i].value));
    auto r = agent.response(envelope::Id::text(id));
    REQUIRE(r.statusCode == 200);
    CHECK(num(r, "auto_stop_seconds") == rows[i].expected);
  }
  // One frpc: the later starts with the same ports only moved the deadline.
  CHECK(agent.frpcStarts().size() == 1);
  // A negative value is still refused, with a message that says what is accepted.
  agent.produceRaw(legacyStart("auto-stop-negative", "-5"));
  auto refused = agent.response(envelope::Id::text("auto-stop-negative"));
  CHECK(refused.statusCode == 400);
  CHECK(str(refused, "field") == "request.body.auto_stop_service_in");
  CHECK_THAT(str(refused, "error"), Catch::Contains("non-negative number of seconds"));
  CHECK_THAT(str(refused, "error"), Catch::Contains("capped"));
  // frp_start's auto_stop_seconds reads the same way.
  auto canonical = agent.response(
      agent.send("frp_start", R"({"services":{"ssh":31022},"auto_stop_seconds":1e300})"));
  CHECK(canonical.statusCode == 200);
  CHECK(num(canonical, "auto_stop_seconds") == 3600);
}

TEST_CASE("a stop answer carries its own id and names the stopped session's start request",
          "[agent][contract]") {
  AgentUnderTest agent;
  agent.start();
  auto startId = agent.send("frp_start", R"({"services":{"ssh":31022}})");
  REQUIRE(agent.response(startId).statusCode == 200);
  auto stopId = agent.send("frp_stop");
  auto stop = agent.response(stopId);
  CHECK(stop.statusCode == 200);
  CHECK(stop.id == stopId);
  CHECK(str(stop, "state") == "stopped");
  CHECK(str(stop, "request_id") == startId.str());
  auto ev = agent.event(eventWith("frp_stopped", "stop_reason", "requested"));
  CHECK(str(ev, "request_id") == startId.str());
}

TEST_CASE("render-frpc masks the frps token and the admin password unless --show-secrets",
          "[agent][contract][cli]") {
  TempDir dir;
  writeText(dir.file("token"), "tok-s3cret\n");
  ::chmod(dir.file("token").c_str(), 0600);
  // As the package installs it: 0640 (it holds a SASL password).
  writeText(dir.file("agent.conf"), readText(sourceDir() + "/config/edge-agent.example.conf"));
  ::chmod(dir.file("agent.conf").c_str(), 0640);
  writeText(dir.file("ca.pem"), "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
  const std::vector<std::string> base = {
      edgeAgentPath(),
      "render-frpc",
      "--config",
      dir.file("agent.conf"),
      "--frpc-path",
      fakeFrpcPath(),
      "--frps-token-file",
      dir.file("token"),
      "--frps-ca-file",
      dir.file("ca.pem"),
      "--state-dir",
      dir.file("state"),
      "--remote-ports",
      "3000-4000",
      "--request",
      sourceDir() + "/schemas/examples/valid/request-change_frp_client_config-original.json"};
  auto masked = runCapture(base, dir.file("masked"));
  INFO(masked.output);
  CHECK(masked.status == 0);
  CHECK_THAT(masked.output, !Catch::Contains("tok-s3cret"));
  CHECK_THAT(masked.output, Catch::Contains("auth.token = \"*****\""));
  CHECK_THAT(masked.output, Catch::Contains("webServer.password = \"*****\""));
  CHECK_THAT(masked.output, Catch::Contains("--show-secrets"));
  CHECK_THAT(masked.output, Catch::Contains("remotePort = 3997"));

  auto ini = base;
  ini.insert(ini.end(), {"--frpc-format", "ini"});
  auto maskedIni = runCapture(ini, dir.file("masked-ini"));
  INFO(maskedIni.output);
  CHECK(maskedIni.status == 0);
  CHECK_THAT(maskedIni.output, !Catch::Contains("tok-s3cret"));
  CHECK_THAT(maskedIni.output, Catch::Contains("admin_pwd"));

  auto shown = base;
  shown.push_back("--show-secrets");
  auto clear = runCapture(shown, dir.file("shown"));
  INFO(clear.output);
  CHECK(clear.status == 0);
  CHECK_THAT(clear.output, Catch::Contains("auth.token = \"tok-s3cret\""));
  CHECK_THAT(clear.output, !Catch::Contains("*****"));
}

TEST_CASE("an unknown edge-agent command is named with the valid ones", "[agent][contract][cli]") {
  TempDir dir;
  auto r = runCapture({edgeAgentPath(), "frobnicate"}, dir.file("out"));
  CHECK(r.status == 2 << 8);
  CHECK_THAT(r.output, Catch::Contains("unknown command 'frobnicate'"));
  CHECK_THAT(r.output, Catch::Contains("verify, render-frpc"));
}
