// The edge agent as a real process against the dev broker and the frpc stand-in: each bullet of
// issue #3's "Behaviour" section.
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>

#include "agent_harness.h"
#include "core/strings.h"
#include "core/time_format.h"
#include "envelope/json_util.h"

using namespace edgelink;
using namespace edgelink::testing;

namespace {

std::string str(const envelope::Envelope& e, const char* key) {
  const char* v = json::getString(e.body(), key);
  return v ? v : "";
}

int64_t num(const rapidjson::Value& obj, const char* key) {
  const auto* v = json::member(obj, key);
  return v && v->IsInt64() ? v->GetInt64() : -1;
}

const rapidjson::Value& service(const envelope::Envelope& e, const char* name) {
  static const rapidjson::Value kNull;
  const auto* services = json::member(e.body(), "services");
  const auto* s = services ? json::member(*services, name) : nullptr;
  return s ? *s : kNull;
}

bool waitDead(int pid, int timeoutMs = 10000) {
  return waitUntil([pid] { return !processAlive(pid); }, timeoutMs);
}

/// Starts an frp session and requires the 200.
envelope::Envelope startSession(AgentUnderTest& agent, const std::string& body) {
  auto r = agent.response(agent.send("frp_start", body));
  REQUIRE(r.statusCode == 200);
  return r;
}

int pidOf(const envelope::Envelope& r) {
  return static_cast<int>(num(r.body(), "pid"));
}

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

TEST_CASE("a stale request is answered 408 and nothing is done", "[agent][time]") {
  AgentUnderTest agent;
  agent.start();
  const int64_t old = nowMs() - 700 * 1000;
  auto r = agent.response(agent.send("frp_start", R"({"services":{"ssh":31022}})", old));
  CHECK(r.statusCode == 408);
  CHECK(str(r, "request_timestamp") == formatRfc3339Ms(old));
  CHECK(num(r.body(), "max_age_seconds") == 600);
  CHECK_THAT(str(r, "error"), Catch::Contains("not acted on"));
  // Nothing was started (the ping after it is answered, so the stale one was fully handled).
  agent.response(agent.send("ping"));
  CHECK(agent.frpcStarts().empty());
}

TEST_CASE("a request dated ahead of the edge clock is refused naming both clocks",
          "[agent][time]") {
  AgentUnderTest agent;
  agent.start();
  const int64_t future = nowMs() + 3600 * 1000;
  auto r = agent.response(agent.send("frp_start", R"({"services":{"ssh":31022}})", future));
  CHECK(r.statusCode == 400);
  CHECK(str(r, "field") == "request.timestamp");
  CHECK_THAT(str(r, "error"), Catch::Contains(formatRfc3339Ms(future)));
  CHECK_THAT(str(r, "error"), Catch::Contains("edge clock"));
  CHECK(!str(r, "edge_time").empty());
  agent.response(agent.send("ping"));
  CHECK(agent.frpcStarts().empty());
}

TEST_CASE(
    "a redelivered id is answered from the stored response, never acted on twice, also "
    "across a restart",
    "[agent][dedupe]") {
  AgentUnderTest agent;
  agent.start();
  auto id = envelope::Id::text("dup-1");
  const std::string body = R"({"services":{"ssh":31022},"auto_stop_seconds":600})";
  agent.send("frp_start", body, nowMs(), id);
  auto first = agent.response(id);
  REQUIRE(first.statusCode == 200);
  agent.send("frp_start", body, nowMs(), id);
  REQUIRE(waitUntil([&] { return agent.responseCount(id) == 2; }, 20000));
  auto values = agent.log().values(responseTo(id));
  CHECK(values[0] == values[1]);  // byte for byte: the stored response
  CHECK(agent.frpcStarts().size() == 1);

  REQUIRE(agent.stop() == 0);
  agent.start();
  agent.send("frp_start", body, nowMs(), id);
  REQUIRE(waitUntil([&] { return agent.responseCount(id) == 3; }, 20000));
  values = agent.log().values(responseTo(id));
  CHECK(values[2] == values[0]);
  CHECK(agent.frpcStarts().size() == 1);
  // The same id from another sender is another request.
  agent.produceRaw(requestJson(id, "ping", "{}", nowMs(), "cloud_dispatcher"));
  REQUIRE(waitUntil([&] { return agent.responseCount(id) == 4; }, 20000));
  CHECK_THAT(agent.log().values(responseTo(id))[3], Catch::Contains("pong"));
}

TEST_CASE(
    "after kill -9 no frpc is left, and the restarted agent resumes the session with its "
    "original deadline",
    "[agent][restart]") {
  AgentUnderTest agent;
  agent.start();
  auto r = startSession(agent, R"({"services":{"ssh":31022},"auto_stop_seconds":600})");
  int pid = pidOf(r);
  const std::string expires = str(r, "expires_at");
  agent.kill9();
  CHECK(waitDead(pid));  // PR_SET_PDEATHSIG: no orphan

  agent.start();
  auto resumed = agent.event([](const envelope::Envelope& e) {
    const auto* v = json::member(e.body(), "resumed");
    return e.type == "frp_started" && v && v->IsBool() && v->GetBool();
  });
  CHECK(str(resumed, "expires_at") == expires);
  int newPid = pidOf(resumed);
  CHECK(newPid != pid);
  CHECK(processAlive(newPid));
  agent.event([](const envelope::Envelope& e) {
    const auto* v = json::member(e.body(), "session_resumed");
    return e.type == "agent_started" && v && v->IsBool() && v->GetBool();
  });
  auto status = agent.response(agent.send("frp_status"));
  CHECK(str(status, "state") == "running");
  CHECK(str(status, "expires_at") == expires);
  CHECK(num(status.body(), "pid") == newPid);
  // The request answered before the crash is not acted on again after it.
  CHECK(agent.frpcStarts().size() == 2);
  CHECK(agent.stop() == 0);
  CHECK(waitDead(newPid));
}

TEST_CASE("unnamed services, out-of-range ports and bad bodies get 4xx answers naming the field",
          "[agent][bad-input]") {
  AgentUnderTest agent;
  agent.start();
  auto unnamed = agent.response(agent.send("frp_start", R"({"services":{"telnet":31023}})"));
  CHECK(unnamed.statusCode == 403);
  CHECK(str(unnamed, "field") == "request.body.services.telnet");

  auto range = agent.response(
      agent.send("change_frp_client_config",
                 R"({"edge_ssh_remote_port":80,"actions":[{"name":"start_frp_client_service"}]})"));
  CHECK(range.statusCode == 403);
  CHECK(str(range, "field") == "request.body.edge_ssh_remote_port");
  CHECK_THAT(str(range, "error"), Catch::Contains("30000-39999"));

  auto badType = agent.response(agent.send("frp_start", R"({"services":{"ssh":"31022"}})"));
  CHECK(badType.statusCode == 400);
  CHECK(str(badType, "field") == "request.body.services.ssh");

  auto unknown = agent.response(agent.send("reboot_now"));
  CHECK(unknown.statusCode == 404);
  CHECK(str(unknown, "field") == "request.type");

  // Undecodable, but the id can be read: answered.
  agent.produceRaw(R"({"request":{"id":"bad-ts","sender":"web_backend","timestamp":true,
      "type":"ping"}})");
  auto badTs = agent.response(envelope::Id::text("bad-ts"));
  CHECK(badTs.statusCode == 400);
  CHECK(str(badTs, "field") == "request.timestamp");

  // Larger than max-message-bytes: not acted on, answered 413 when the id can be read.
  agent.produceRaw(requestJson(
      envelope::Id::text("big"), "frp_start",
      R"({"services":{"ssh":31022},"padding":")" + std::string(70000, 'x') + "\"}", nowMs()));
  auto big = agent.response(envelope::Id::text("big"));
  CHECK(big.statusCode == 413);
  CHECK_THAT(str(big, "error"), Catch::Contains("65536"));

  // Not even JSON: logged and skipped; the next request is still served.
  agent.produceRaw("\x01not json at all{{{");
  auto ping = agent.response(agent.send("ping"));
  CHECK(ping.statusCode == 200);
  CHECK_THAT(agent.agentLog(), Catch::Contains("no readable request id to answer"));
  CHECK(agent.frpcStarts().empty());
  CHECK(agent.running());
}

TEST_CASE("frp_status, system_info and ping are answered", "[agent][requests]") {
  AgentUnderTest agent;
  agent.start();
  auto ping = agent.response(agent.send("ping"));
  CHECK(ping.statusCode == 200);
  CHECK(json::member(ping.body(), "pong")->GetBool());

  auto info = agent.response(agent.send("system_info"));
  REQUIRE(info.statusCode == 200);
  const auto* cpu = json::member(info.body(), "cpu_usage_percent");
  REQUIRE(cpu != nullptr);
  CHECK(cpu->GetDouble() >= 0.0);
  CHECK(json::member(info.body(), "memory") != nullptr);
  CHECK(json::member(info.body(), "disks")->Size() >= 1);
  CHECK(json::member(info.body(), "agent_rss_bytes")->GetInt64() > 0);
  CHECK(json::member(info.body(), "load_average") != nullptr);

  auto stopped = agent.response(agent.send("frp_status"));
  CHECK(str(stopped, "state") == "stopped");
  auto start = startSession(agent, R"({"services":{"camera_admin":33080}})");
  auto running = agent.response(agent.send("frp_status"));
  CHECK(str(running, "state") == "running");
  CHECK(num(running.body(), "seconds_left") > 0);
  CHECK(std::string(json::getString(service(running, "camera_admin"), "status")) == "running");
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

TEST_CASE("SIGTERM stops frpc (agent_shutdown), flushes its events and exits 0",
          "[agent][shutdown]") {
  AgentUnderTest agent;
  agent.start();
  auto r = startSession(agent, R"({"services":{"ssh":31022}})");
  int pid = pidOf(r);
  CHECK(agent.stop() == 0);
  CHECK_FALSE(processAlive(pid));
  // Both were delivered before the agent exited.
  agent.event(eventWith("frp_stopped", "stop_reason", "agent_shutdown"), 5000);
  auto stopping = agent.event(eventOf("agent_stopping"), 5000);
  CHECK(str(stopping, "reason") == "SIGTERM");
  // The session is over: a restart does not resume it.
  agent.start();
  agent.response(agent.send("ping"));
  CHECK(agent.frpcStarts().size() == 1);
}

TEST_CASE("with Kafka down at start the agent keeps running and catches up when it is back",
          "[agent][outage]") {
  AgentSetup setup;
  setup.privateBroker = true;  // stopped before the agent starts, started again below
  setup.brokerDownAtStart = true;
  AgentUnderTest agent(setup);
  agent.start();
  REQUIRE(waitUntil([&] { return agent.agentLog().find("waiting for topic") != std::string::npos; },
                    20000));
  CHECK(agent.running());
  agent.broker().restart();
  auto ping = agent.response(agent.send("ping"), 30000);
  CHECK(ping.statusCode == 200);
  agent.event(eventOf("agent_started"));
}

TEST_CASE(
    "a broker outage mid-run loses nothing: events made during it arrive after, and "
    "requests now too old get 408",
    "[agent][outage]") {
  AgentSetup setup;
  setup.privateBroker = true;  // killed -9 and started again
  AgentUnderTest agent(setup);
  agent.start();
  agent.response(agent.send("ping"));
  auto r = startSession(agent, R"({"services":{"ssh":31022},"auto_stop_seconds":2})");
  int pid = pidOf(r);
  agent.broker().kill9();
  CHECK(waitDead(pid));  // auto-stop during the outage
  CHECK(agent.running());
  agent.broker().restart();
  agent.event(eventWith("frp_stopped", "stop_reason", "auto_stop"), 30000);
  auto stale = agent.response(agent.send("ping", "{}", nowMs() - 900 * 1000), 30000);
  CHECK(stale.statusCode == 408);
  auto fresh = agent.response(agent.send("ping"));
  CHECK(fresh.statusCode == 200);
}

TEST_CASE("a first start serves requests younger than max age and never older ones",
          "[agent][time]") {
  AgentUnderTest agent;
  const int64_t old = nowMs() - 3600 * 1000;
  std::vector<envelope::Id> oldIds;
  auto produceOld = [&] {
    oldIds.push_back(envelope::Id::generate());
    agent.produceRaw(requestJson(oldIds.back(), "frp_start", R"({"services":{"ssh":31022}})", old),
                     old);
  };
  for (int i = 0; i < 5; ++i) {
    produceOld();
  }
  auto recent = envelope::Id::generate();
  const int64_t minuteAgo = nowMs() - 60 * 1000;
  agent.produceRaw(requestJson(recent, "ping", "{}", minuteAgo), minuteAgo);
  produceOld();  // an old one after a young one (a producer with a wrong clock): not acted on
  agent.start();
  CHECK(agent.response(recent).statusCode == 200);
  auto ping = agent.response(agent.send("ping"));
  CHECK(ping.statusCode == 200);
  for (const auto& id : oldIds) {
    CHECK(agent.responseCount(id) == 0);
  }
  CHECK(agent.frpcStarts().empty());
  if (agent.broker().isMock()) {
    // The mock answers offsets-for-times with -1: the agent reads from the beginning.
    CHECK_THAT(agent.agentLog(), Catch::Contains("from the beginning (no stored position"));
  } else {
    // A real broker finds the first young message by its timestamp: offset 5.
    CHECK_THAT(agent.agentLog(),
               Catch::Contains(agent.topic() + "[0] from offset 5: the first message younger "
                                               "than 600 s, found by timestamp"));
  }
}

TEST_CASE("under systemd the agent says READY, pings the watchdog from its loop and says STOPPING",
          "[agent][systemd]") {
  TempDir dir("agent-notify");
  const std::string path = dir.file("notify.sock");
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  std::vector<std::string> got;
  auto receive = [&](int timeoutMs) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, timeoutMs) > 0) {
      char buf[256];
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n > 0) {
        got.emplace_back(buf, static_cast<size_t>(n));
      }
    }
  };
  auto count = [&](const std::string& what) {
    return std::count_if(got.begin(), got.end(), [&](const std::string& s) { return s == what; });
  };
  AgentSetup setup;
  setup.env = {"NOTIFY_SOCKET=" + path, "WATCHDOG_USEC=300000"};
  AgentUnderTest agent(setup);
  agent.start();
  REQUIRE(waitUntil(
      [&] {
        receive(50);
        return count("READY=1") == 1 && count("WATCHDOG=1") >= 3;
      },
      20000));
  agent.stop();
  REQUIRE(waitUntil(
      [&] {
        receive(50);
        return count("STOPPING=1") == 1;
      },
      5000));
  ::close(fd);
}
