// frp sessions through the real agent binary against the dev broker and real frpc/frps (or the
// frpc stand-in): starts in both config formats, frp's refusals, frpc dying, extending and
// restarting a session.
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "agent_harness.h"
#include "agent_test_util.h"
#include "core/time_format.h"
#include "envelope/json_util.h"

using namespace edgelink;
using namespace edgelink::testing;

namespace {

mode_t fileMode(const std::string& path) {
  struct stat st {};
  ::stat(path.c_str(), &st);
  return st.st_mode & 07777;
}

const char* kLegacyStop = R"({"actions":[{"name":"stop_frp_client_service"}]})";

}  // namespace

TEST_CASE("a legacy start is answered 200 with frpc running on a 0600 TOML config and stop ends it",
          "[agent][frp]") {
  AgentUnderTest agent;
  agent.start();
  // The original design's shape: body as a one-element array, actions beside it.
  auto id = envelope::Id::number(111);
  agent.produceRaw(R"({"request":{"id":111,"sender":"web_backend","timestamp":)" +
                   std::to_string(nowMs()) +
                   R"(,"description":"setup and start frp","type":"change_frp_client_config",
      "body":[{"edge_ssh_remote_port":31022,"edge_fcc_web_config_page_remote_port":31080,
      "camera_admin_web_page_remote_port":31081,"auto_stop_service_in":3600}],
      "actions":[{"name":"start_frp_client_service"}]}})");
  auto r = agent.response(id);
  REQUIRE(r.statusCode == 200);
  CHECK(r.type == "change_frp_client_config");
  CHECK(str(r, "state") == "running");
  CHECK(num(service(r, "ssh"), "remote_port") == 31022);
  CHECK(num(service(r, "fcc_web"), "remote_port") == 31080);
  CHECK(num(service(r, "camera_admin"), "remote_port") == 31081);
  CHECK(std::string(json::getString(service(r, "ssh"), "proxy_name")) == "e1.ssh");
  CHECK(std::string(json::getString(service(r, "ssh"), "status")) == "running");
  CHECK(num(r.body(), "auto_stop_seconds") == 3600);
  auto started = parseRfc3339Ms(str(r, "started_at"));
  auto expires = parseRfc3339Ms(str(r, "expires_at"));
  REQUIRE(started);
  REQUIRE(expires);
  CHECK(*expires - *started == 3600 * 1000);
  int pid = pidOf(r);
  CHECK(processAlive(pid));
  CHECK(agent.frpcStarts() == std::vector<int>{pid});
  const std::string config = agent.stateDir() + "/frpc.toml";
  CHECK(fileMode(config) == 0600);
  CHECK_THAT(readText(config), Catch::Contains("remotePort = 31022"));
  auto ev = agent.event(eventOf("frp_started"));
  CHECK(num(ev.body(), "pid") == pid);

  auto stopId = agent.send("change_frp_client_config", kLegacyStop);
  auto s = agent.response(stopId);
  CHECK(s.statusCode == 200);
  CHECK(str(s, "state") == "stopped");
  CHECK(str(s, "stop_reason") == "requested");
  CHECK(waitDead(pid));
  agent.event(eventWith("frp_stopped", "stop_reason", "requested"));
  CHECK(agent.stop() == 0);
}

TEST_CASE("a canonical frp_start works with the legacy INI format too and frp_stop stops it",
          "[agent][frp]") {
  AgentSetup setup;
  setup.format = "ini";
  AgentUnderTest agent(setup);
  agent.start({"--frpc-verify"});  // `frpc verify -c` first: the stand-in checks the INI too
  auto id = agent.send("frp_start", R"({"services":{"ssh":32022},"auto_stop_seconds":600})");
  auto r = agent.response(id);
  REQUIRE(r.statusCode == 200);
  int pid = pidOf(r);
  CHECK(processAlive(pid));
  const std::string config = agent.stateDir() + "/frpc.ini";
  CHECK(fileMode(config) == 0600);
  std::string text = readText(config);
  CHECK_THAT(text, Catch::Contains("[common]"));
  CHECK_THAT(text, Catch::Contains("[e1.ssh]"));
  CHECK_THAT(text, Catch::Contains("remote_port = 32022"));
  CHECK_THAT(text, !Catch::Contains("fcc_web"));
  // Every line about the start names its request, so one grep on the id follows it.
  const std::string log = agent.agentLog();
  auto lineWith = [&log](const std::string& needle) {
    const size_t at = log.find(needle);
    if (at == std::string::npos) {
      return std::string();
    }
    const size_t begin = log.rfind('\n', at);
    return log.substr(begin == std::string::npos ? 0 : begin + 1,
                      log.find('\n', at) - (begin == std::string::npos ? 0 : begin + 1));
  };
  // The agent writes a string id in quotes (a number id bare), as the wire tells them apart.
  const std::string tag = "(request id=\"" + id.str() + "\")";
  CHECK_THAT(lineWith("waiting up to"), Catch::Contains(tag));
  CHECK_THAT(lineWith("frp session running"), Catch::Contains(tag));
  CHECK_THAT(log, Catch::Contains("request id=\"" + id.str() + "\" type=frp_start"));

  auto stopId = agent.send("frp_stop");
  auto s = agent.response(stopId);
  CHECK(s.statusCode == 200);
  CHECK(str(s, "state") == "stopped");
  CHECK(waitDead(pid));
  agent.event(eventWith("frp_stopped", "stop_reason", "requested"));
  // A stop with nothing running is still a 200 saying so.
  auto again = agent.response(agent.send("frp_stop"));
  CHECK(again.statusCode == 200);
  CHECK(str(again, "state") == "stopped");
}

TEST_CASE("a port refused by frps is a 500 carrying frp's text, and no frpc is left",
          "[agent][frp]") {
  AgentUnderTest agent;
  agent.setFrpcMode("port_in_use=31022");
  agent.start();
  auto id = agent.send("frp_start", R"({"services":{"ssh":31022,"fcc_web":31080}})");
  auto r = agent.response(id);
  CHECK(r.statusCode == 500);
  CHECK_THAT(str(r, "error"), Catch::Contains("port already used"));
  CHECK_THAT(str(r, "error"), Catch::Contains("e1.ssh"));
  const auto* proxies = json::member(r.body(), "proxies");
  REQUIRE(proxies != nullptr);
  CHECK(std::string(json::getString((*proxies)["ssh"], "status")) == "start error");
  auto starts = agent.frpcStarts();
  REQUIRE(starts.size() == 1);
  CHECK(waitDead(starts[0]));
  agent.event(eventWith("frp_stopped", "stop_reason", "start_failed"));
  auto status = agent.response(agent.send("frp_status"));
  CHECK(str(status, "state") == "stopped");
}

TEST_CASE("frpc exiting at login is a 500 carrying frp's text", "[agent][frp]") {
  AgentUnderTest agent;
  agent.setFrpcMode("login_fail");
  agent.start();
  auto r = agent.response(agent.send("frp_start", R"({"services":{"ssh":31022}})"));
  CHECK(r.statusCode == 500);
  CHECK_THAT(str(r, "error"), Catch::Contains("login to the server failed"));
  CHECK_THAT(str(r, "error"), Catch::Contains("exited with status 1"));
  auto starts = agent.frpcStarts();
  REQUIRE(starts.size() == 1);
  CHECK(waitDead(starts[0]));
}

TEST_CASE("frpc dying on its own is reported at once with its exit status and output",
          "[agent][frp]") {
  AgentUnderTest agent;
  agent.setFrpcMode("exit_after=1:3");
  agent.start();
  auto r = startSession(agent, R"({"services":{"ssh":31022}})");
  auto ev = agent.event(eventWith("frp_stopped", "stop_reason", "exited_unexpectedly"));
  CHECK(str(ev, "exit_status") == "exited with status 3");
  CHECK_THAT(str(ev, "frpc_output"), Catch::Contains("scripted failure"));
  auto status = agent.response(agent.send("frp_status"));
  CHECK(str(status, "state") == "stopped");
  CHECK(str(status, "stop_reason") == "exited_unexpectedly");
}

TEST_CASE("a start with the same ports extends the deadline and other ports restart frpc",
          "[agent][frp]") {
  AgentUnderTest agent;
  agent.start();
  auto a = startSession(agent, R"({"services":{"ssh":31022},"auto_stop_seconds":60})");
  int pid = pidOf(a);
  auto b = startSession(agent, R"({"services":{"ssh":31022},"auto_stop_seconds":120})");
  CHECK(json::member(b.body(), "extended")->GetBool());
  CHECK(num(b.body(), "pid") == pid);
  CHECK(*parseRfc3339Ms(str(b, "expires_at")) > *parseRfc3339Ms(str(a, "expires_at")));
  CHECK(agent.frpcStarts().size() == 1);

  auto c = startSession(agent, R"({"services":{"ssh":31023}})");
  CHECK_FALSE(json::member(c.body(), "extended")->GetBool());
  CHECK(num(c.body(), "pid") != pid);
  CHECK(waitDead(pid));
  agent.event(eventWith("frp_stopped", "stop_reason", "replaced"));
  CHECK(agent.frpcStarts().size() == 2);
}
