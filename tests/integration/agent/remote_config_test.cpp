// The agent's remote configuration against real Kafka (docs/AGENT.md "Remote configuration"):
// the test plays the cloud, reading the agent's get_config requests on its topic and producing
// the answers; a good config is applied without dropping a running session and survives a
// restart; a local-only key or a bad value is refused with the old config kept; config_changed
// makes the agent ask at once.
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "agent_harness.h"
#include "agent_test_util.h"
#include "core/strings.h"
#include "remote_config_util.h"

using namespace edgelink;
using namespace edgelink::testing;

TEST_CASE(
    "a remote config is applied without dropping the running session, and kept across a "
    "restart",
    "[agent][remote-config]") {
  AgentUnderTest agent;
  agent.start(kSlowRetry);
  auto first = nthGetConfig(agent, 1);
  CHECK(num(first.body(), "applied_version") == 0);
  CHECK(first.id.str().rfind("cfg-e1-", 0) == 0);
  auto started = startSession(agent, R"({"services":{"ssh":31022},"auto_stop_seconds":600})");
  const int pid = pidOf(started);
  const std::string expires = str(started, "expires_at");

  answer(agent, first, 4,
         R"({"heartbeat-interval":1,"auto-stop-default":900,"log-level":"debug"})");
  agent.event(eventWithVersion("config_applied", 4));
  agent.event(heartbeatWith(1, 4));
  struct stat st {};
  REQUIRE(::stat((agent.stateDir() + "/remote-config.json").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  const std::string saved = readText(agent.stateDir() + "/remote-config.json");
  CHECK_THAT(saved, Catch::Contains(R"("version":4)"));
  CHECK_THAT(saved, Catch::Contains(R"("heartbeat-interval":1)"));
  // The session runs on: same frpc, same deadline.
  auto status = agent.response(agent.send("frp_status"));
  CHECK(str(status, "state") == "running");
  CHECK(pidOf(status) == pid);
  CHECK(str(status, "expires_at") == expires);
  CHECK(processAlive(pid));
  CHECK(agent.frpcStarts().size() == 1);

  // A restart runs with the stored config before the cloud answers (and asks with its version).
  REQUIRE(agent.stop() == 0);
  const size_t before = agent.log().count(heartbeatWith(1, 4));
  agent.start(kSlowRetry);
  auto again = nthGetConfig(agent, 2);
  CHECK(num(again.body(), "applied_version") == 4);
  REQUIRE(waitUntil([&] { return agent.log().count(heartbeatWith(1, 4)) > before; }, 20000));
  CHECK_THAT(agent.agentLog(), Catch::Contains("remote config version 4 from"));
}

TEST_CASE(
    "config_changed makes the agent ask at once, and a local-only key is refused, the old "
    "config kept",
    "[agent][remote-config]") {
  AgentUnderTest agent;
  agent.start(kSlowRetry);
  answer(agent, nthGetConfig(agent, 1), 4, R"({"heartbeat-interval":1})");
  agent.event(eventWithVersion("config_applied", 4));
  int64_t version = 5;
  for (const std::string key : {"service", "remote-ports", "trusted-keys"}) {
    const size_t n = agent.log().count(getConfigRequest());
    configChanged(agent, version);
    auto asked = nthGetConfig(agent, n + 1);  // at once: the refresh is an hour away
    CHECK(num(asked.body(), "applied_version") == 4);
    answer(agent, asked, version,
           R"({"heartbeat-interval":2,")" + key + R"(":"ssh=127.0.0.1:2222"})");
    auto refused = agent.event(eventWithVersion("config_refused", version));
    CHECK(str(refused, "reason").rfind(key + ": local-only", 0) == 0);
    ++version;
  }
  // Version 4 still runs; nothing of 5 was applied or stored.
  const size_t hb = agent.log().count(heartbeatWith(1, 4));
  REQUIRE(waitUntil([&] { return agent.log().count(heartbeatWith(1, 4)) > hb + 1; }, 20000));
  CHECK(agent.log().count(eventOf("config_applied")) == 1);
  CHECK(agent.log().count([](const envelope::Envelope& e) {
    return e.type == "heartbeat" && num(e.body(), "interval_seconds") == 2;
  }) == 0);
  CHECK_THAT(readText(agent.stateDir() + "/remote-config.json"), Catch::Contains(R"("version":4)"));
  CHECK_THAT(agent.agentLog(), Catch::Contains("remote config version 5 refused: service: "));
}

TEST_CASE("a remote config verify would reject is refused with every problem, the old one kept",
          "[agent][remote-config]") {
  AgentUnderTest agent;
  agent.start(kSlowRetry);
  answer(agent, nthGetConfig(agent, 1), 7,
         R"({"auto-stop-default":90000,"heartbeat-interval":100000})");
  auto refused = agent.event(eventWithVersion("config_refused", 7));
  CHECK_THAT(str(refused, "reason"), Catch::Contains("auto-stop-default: "));
  CHECK_THAT(str(refused, "reason"), Catch::Contains("heartbeat-interval: "));
  CHECK(agent.log().count(eventOf("config_applied")) == 0);
  struct stat st {};
  CHECK(::stat((agent.stateDir() + "/remote-config.json").c_str(), &st) != 0);
  // The board's own auto-stop default (7200 s) still applies to a start.
  auto started = startSession(agent, R"({"services":{"ssh":31022}})");
  CHECK(num(started.body(), "auto_stop_seconds") == 7200);
}
