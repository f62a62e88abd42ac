// The edge agent as a real process against the dev broker and the frpc stand-in, over its life:
// time checks, redelivery, restarts, the requests it answers, shutdown, broker outages, the
// first start's position, systemd (issue #3's "Behaviour" section; frp sessions: frp_test.cpp).
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>

#include "agent_harness.h"
#include "agent_test_util.h"
#include "core/strings.h"
#include "core/time_format.h"
#include "envelope/json_util.h"

using namespace edgelink;
using namespace edgelink::testing;

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
