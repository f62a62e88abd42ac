// Remote configuration end to end (docs/REMOTE-CONFIG.md): the operator's `config set` and
// `config push` on the real dispatcher, the real agent asking with get_config, the dispatcher
// answering from PostgreSQL, the agent applying it and reporting its version in heartbeats.
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "agent_harness.h"
#include "dispatcher_harness.h"

using namespace edgelink;
using namespace edgelink::testing;

namespace {

std::string one(DispatcherHarness& h, const std::string& sql) {
  return std::to_string(h.count(sql));
}

}  // namespace

TEST_CASE("config set and push reach the real agent, which applies and reports the version",
          "[dispatcher][agent][remote-config]") {
  DispatcherHarness::Setup setup({"rc1"});
  setup.broker = BrokerKind::kKafka;
  DispatcherHarness h(setup);
  h.startDaemon();
  AgentSetup as;
  as.edgeId = "rc1";
  as.sharedBroker = &h.broker();
  as.topicPrefix = h.topicPrefix();
  AgentUnderTest agent(as);
  agent.start();
  // At start the agent asks; the dispatcher answers version 0 (nothing set) and stores the ask.
  REQUIRE(
      h.waitFor("SELECT count(*) FROM edge_requests WHERE edge_id = 'rc1'"
                " AND type = 'get_config' AND status_code = 200",
                "1"));
  REQUIRE(h.waitFor("SELECT count(*) FROM edges WHERE edge_id = 'rc1'", "1"));

  auto fleet = h.cli({"config", "set", "--fleet", "heartbeat-interval=1", "log-level=debug"});
  REQUIRE(fleet.code == 0);
  auto own = h.cli({"config", "set", "--edge", "rc1", "log-level=info", "auto-stop-default=900"});
  REQUIRE(own.code == 0);
  const int64_t desired =
      h.count("SELECT max(version) FROM config_scopes WHERE scope IN ('*', 'rc1')");
  REQUIRE(desired > 0);
  auto push = h.cli({"config", "push", "--edge", "rc1"});
  REQUIRE(push.code == 0);

  // The agent fetched at once, applied, and its heartbeats (every second now) say so.
  REQUIRE(
      h.waitFor("SELECT config_version FROM edges WHERE edge_id = 'rc1'", std::to_string(desired)));
  CHECK(h.count("SELECT count(*) FROM edge_requests WHERE edge_id = 'rc1'") >= 2);
  CHECK(h.count("SELECT count(*) FROM events WHERE edge_id = 'rc1' AND type = 'config_applied'"
                " AND (body->>'version')::bigint = " +
                std::to_string(desired)) == 1);
  // The pushed config_changed is the cloud's own: not stored as the edge's event, not rejected.
  CHECK(h.count("SELECT count(*) FROM events WHERE type = 'config_changed'") == 0);
  CHECK(h.count("SELECT count(*) FROM rejected_messages") == 0);
  const std::string stored = readText(agent.stateDir() + "/remote-config.json");
  CHECK_THAT(stored, Catch::Contains("\"auto-stop-default\":900"));
  CHECK_THAT(stored, Catch::Contains("\"log-level\":\"info\""));  // the edge's over the fleet's
  struct stat st {};
  REQUIRE(::stat((agent.stateDir() + "/remote-config.json").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  auto show = h.cli({"edges", "show", "rc1"});
  REQUIRE(show.code == 0);
  CHECK_THAT(show.out, Catch::Contains("applied " + std::to_string(desired)));

  // A value each key allows but the whole refuses (a default auto-stop above the maximum) is
  // refused by the agent, which keeps the version it runs with and says why.
  REQUIRE(h.cli({"config", "set", "--edge", "rc1", "auto-stop-default=7200", "auto-stop-max=600"})
              .code == 0);
  const int64_t refusedVersion = h.count("SELECT version FROM config_scopes WHERE scope = 'rc1'");
  REQUIRE(h.cli({"config", "push", "--edge", "rc1"}).code == 0);
  REQUIRE(
      h.waitFor("SELECT count(*) FROM events WHERE edge_id = 'rc1' AND type = "
                "'config_refused' AND (body->>'version')::bigint = " +
                    std::to_string(refusedVersion),
                "1"));
  CHECK_THAT(one(h,
                 "SELECT count(*) FROM events WHERE type = 'config_refused'"
                 " AND body->>'reason' LIKE '%auto-stop%'"),
             Catch::Equals("1"));
  CHECK(h.count("SELECT config_version FROM edges WHERE edge_id = 'rc1'") == desired);
}
