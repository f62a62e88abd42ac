// A request the cloud has written off never acts later (issue #17 item 1), through both real
// binaries: the agent is down, the session's start request times out at the dispatcher, the
// agent starts afterwards and finds it in its topic -- younger than its max age, but past its own
// expires_at: no frpc, a 408 recorded as late, the session ended, its ports back in the pool.
#include <catch2/catch.hpp>

#include "agent_harness.h"
#include "dispatcher_harness.h"
#include "online_edges.h"

using namespace edgelink;
using namespace edgelink::testing;

TEST_CASE("a start that timed out while the agent was down is never acted on when it comes back",
          "[dispatcher][agent][expiry]") {
  DispatcherHarness h({{"e1"},
                       {"request-deadline = \"3s\"", "answer-grace = \"0s\"",
                        "sweep-interval = \"1s\"", "port-pool = \"31100-31102\""}});
  h.startDaemon();
  REQUIRE(h.waitAssigned(1));
  // The edge was online a moment ago; its agent is down now.
  markOnline(h, "e1");
  auto open = h.cli({"session", "open", "--edge", "e1", "--wait", "2m"});
  CHECK(open.code == 3);
  CHECK_THAT(open.out, Catch::Contains("the edge will not act on it"));
  const std::string startId = h.sql("SELECT request_id FROM sessions");
  REQUIRE(h.waitFor("SELECT state || ' ' || end_reason FROM sessions", "failed no_answer"));
  CHECK(h.sql("SELECT state FROM request_status WHERE id = '" + startId + "'") == "timeout");
  CHECK(h.count("SELECT count(*) FROM session_ports") == 0);

  // The agent comes back with no stored position: it reads its topic from the start.
  AgentSetup setup;
  setup.sharedBroker = &h.broker();
  setup.topicPrefix = h.topicPrefix();
  setup.trustedKeys = {h.signingPublicKey()};  // the dispatcher signs its requests
  AgentUnderTest agent(setup);
  agent.start();

  // It answers 408 (past expires_at, though younger than its 600 s max age), stored as late.
  REQUIRE(
      h.waitFor("SELECT state || ' ' || status_code || ' ' || late FROM request_status"
                " WHERE id = '" +
                    startId + "'",
                "stale 408 true"));
  CHECK(h.sql("SELECT response_body->>'expired_by' FROM request_status WHERE id = '" + startId +
              "'") == "expires_at");
  CHECK_THAT(
      h.sql("SELECT response_body->>'error' FROM request_status WHERE id = '" + startId + "'"),
      Catch::Contains("(its expires_at)"));
  CHECK(agent.frpcStarts().empty());
  CHECK(h.sql("SELECT state || ' ' || end_reason FROM sessions") == "failed no_answer");
  CHECK(h.count("SELECT count(*) FROM session_ports") == 0);

  // The ports are back in the pool (it holds only three): a new session gets them, and this
  // time the agent is there to start frpc.
  REQUIRE(h.waitFor("SELECT online FROM edge_status WHERE edge_id = 'e1'", "t"));
  // (a deadline for this start that a loaded machine's frpc start-up cannot outlast)
  auto again =
      h.cli({"session", "open", "--edge", "e1", "--wait", "60", "--request-deadline", "60s"});
  INFO(again.out << again.err << agent.agentLog());
  CHECK(again.code == 0);
  CHECK(h.sql("SELECT string_agg(port::text, ',' ORDER BY port) FROM session_ports") ==
        "31100,31101,31102");
  CHECK(agent.frpcStarts().size() == 1);
}
