// The agent's behaviour over time, driven through AgentCore and its ActionRunner with a manual
// clock, a fake producer and a fake frpc: heartbeats, auto-stop, start timeouts, sessions across
// restarts, frpc dying, shutdown, the position. Each runs in milliseconds; tests/integration/agent
// runs the real binary against real peers.

#include "agent_core.h"

#include <catch2/catch.hpp>

#include "core_fakes.h"
#include "envelope/json_util.h"

using namespace edgelink;
using namespace edgelink::agent;

namespace {

using Harness = test::CoreRig;
using test::kinds;
using test::str;

}  // namespace

TEST_CASE("core: announces itself and sends heartbeats on the interval, one undelivered at most",
          "[agent][core]") {
  Harness h;
  h.begin();
  h.advance(0);
  auto first = h.fresh();
  REQUIRE(kinds(first) == std::vector<std::string>{"agent_started", "get_config", "heartbeat"});
  CHECK(json::member(first[0].body(), "pid")->GetInt64() == 7);
  CHECK(first[1].recipient == "cloud");
  CHECK(json::member(first[2].body(), "interval_seconds")->GetInt64() == 60);
  CHECK(json::member(first[2].body(), "config_version")->GetInt64() == 0);
  CHECK_FALSE(json::member(first[2].body(), "frp_running")->GetBool());
  CHECK(h.core->nextDueMono() == h.clock.monoMs() + 60'000);
  h.advance(59'999);
  CHECK(h.fresh().empty());
  h.advance(1);  // the first heartbeat is still undelivered: this one is skipped
  CHECK(h.fresh().empty());
  h.deliverAll();
  h.advance(60'000);
  CHECK(kinds(h.fresh()) == std::vector<std::string>{"heartbeat"});
}

TEST_CASE("core: a session stops itself at its auto-stop deadline", "[agent][core]") {
  Harness h;
  h.begin();
  h.startSession(5, 60);
  auto started = h.fresh();
  CHECK(kinds(started) == std::vector<std::string>{"agent_started", "get_config", "heartbeat",
                                                   "frp_start 200", "frp_started"});
  CHECK(str(started[3], "state") == "running");
  h.advance(59'000 - 50);
  CHECK(h.core->running());
  CHECK(h.core->nextDueMono() <= h.clock.monoMs() + 1000);  // wakes for the deadline
  h.advance(1000);
  CHECK_FALSE(h.core->running());
  CHECK(h.frpc.stops == 1);
  auto stopped = h.fresh();
  REQUIRE(kinds(stopped) == std::vector<std::string>{"frp_stopped"});
  CHECK(str(stopped[0], "stop_reason") == "auto_stop");
  CHECK_FALSE(h.core->state().session);
  CHECK(h.core->state().lastStop->reason == "auto_stop");
  h.request(6, "frp_status");
  auto status = h.fresh();
  REQUIRE(kinds(status) == std::vector<std::string>{"frp_status 200"});
  CHECK(str(status[0], "state") == "stopped");
  CHECK(str(status[0], "stop_reason") == "auto_stop");
}

TEST_CASE("core: a start whose proxies never run within the bound is a 504 and leaves no frpc",
          "[agent][core]") {
  Harness h;
  h.begin();
  h.fresh();
  h.request(5, "frp_start", R"({"services":{"ssh":31022}})");
  ProxyStatuses waiting;
  waiting["elevator-0042.ssh"] = ProxyStatus{"elevator-0042.ssh", "tcp", "wait start", "", "", ""};
  h.frpc.proxies = waiting;
  REQUIRE(h.core->busy());  // no further request is taken meanwhile
  h.advance(14'000);
  CHECK(h.frpc.running);
  CHECK(kinds(h.fresh()) == std::vector<std::string>{"heartbeat"});
  h.advance(1000);
  CHECK_FALSE(h.frpc.running);
  CHECK_FALSE(h.core->busy());
  auto out = h.fresh();
  REQUIRE(kinds(out) == std::vector<std::string>{"frp_start 504", "frp_stopped"});
  CHECK_THAT(str(out[0], "error"),
             Catch::Contains("not all running within 15 s: elevator-0042.ssh: wait start"));
  CHECK(str(out[1], "stop_reason") == "start_failed");
}

TEST_CASE("core: frpc exiting or a proxy refused during a start is a 500 at the next check",
          "[agent][core]") {
  Harness h;
  h.begin();
  h.advance(0);  // the first heartbeat
  h.fresh();
  h.request(5, "frp_start", R"({"services":{"ssh":31022}})");
  h.frpc.exitStatus = "exited with status 1";
  h.frpc.output = "login to the server failed: token mismatch";
  h.signal();
  h.advance(0);
  auto out = h.fresh();
  REQUIRE(kinds(out) == std::vector<std::string>{"frp_start 500", "frp_stopped"});
  CHECK_THAT(str(out[0], "error"), Catch::Contains("login to the server failed"));
  CHECK(str(out[1], "exit_status") == "exited with status 1");

  h.frpc.output.clear();
  h.request(6, "frp_start", R"({"services":{"ssh":31022}})");
  ProxyStatuses refused;
  refused["elevator-0042.ssh"] =
      ProxyStatus{"elevator-0042.ssh", "tcp", "start error", "port already used", "", ""};
  h.frpc.proxies = refused;
  h.advance(50);
  out = h.fresh();
  REQUIRE(kinds(out) == std::vector<std::string>{"frp_start 500", "frp_stopped"});
  CHECK_THAT(str(out[0], "error"), Catch::Contains("port already used"));
  CHECK_FALSE(h.frpc.running);
}

TEST_CASE("core: a session that expired while the agent was down is ended, a live one resumes",
          "[agent][core]") {
  Session stored;
  stored.services["ssh"] = {31022, "elevator-0042.ssh", "127.0.0.1", 22};
  stored.requestId = envelope::Id::number(1);
  {
    Harness h;
    stored.startedAtMs = h.clock.wallMs() - 7'200'000;
    stored.expiresAtMs = h.clock.wallMs() - 1;
    AgentState state;
    state.session = stored;
    h.begin(state);
    auto out = h.fresh();
    REQUIRE(kinds(out) == std::vector<std::string>{"frp_stopped", "agent_started", "get_config"});
    CHECK(str(out[0], "stop_reason") == "expired_while_down");
    CHECK_FALSE(json::member(out[1].body(), "session_resumed")->GetBool());
    CHECK(h.frpc.starts == 0);
    CHECK_FALSE(h.core->state().session);
  }
  {
    Harness h;
    stored.startedAtMs = h.clock.wallMs() - 60'000;
    stored.expiresAtMs = h.clock.wallMs() + 60'000;
    AgentState state;
    state.session = stored;
    h.begin(state);
    CHECK(h.frpc.starts == 1);
    CHECK(h.frpc.lastSession.services == stored.services);  // the same ports
    h.frpc.allRunning();
    h.advance(50);
    auto out = h.fresh();
    REQUIRE(kinds(out) ==
            std::vector<std::string>{"agent_started", "get_config", "heartbeat", "frp_started"});
    CHECK(json::member(out[0].body(), "session_resumed")->GetBool());
    CHECK(json::member(out[3].body(), "resumed")->GetBool());
    CHECK(h.core->state().session->expiresAtMs == stored.expiresAtMs);  // the original deadline
    h.advance(60'000);
    CHECK(str(h.fresh().back(), "stop_reason") == "auto_stop");
  }
}

TEST_CASE("core: frpc dying on its own ends the session with its exit status and output",
          "[agent][core]") {
  Harness h;
  h.begin();
  h.startSession(5, 600);
  h.fresh();
  h.frpc.exitStatus = "killed by signal 9";
  h.frpc.output = "[E] something bad";
  h.signal();
  CHECK_FALSE(h.core->running());
  auto out = h.fresh();
  REQUIRE(kinds(out) == std::vector<std::string>{"frp_stopped"});
  CHECK(str(out[0], "stop_reason") == "exited_unexpectedly");
  CHECK(str(out[0], "exit_status") == "killed by signal 9");
  CHECK(str(out[0], "frpc_output") == "[E] something bad");
  CHECK(h.statusLines.back() == "idle");
}

TEST_CASE("core: shutdown stops the session (agent_shutdown) and says agent_stopping",
          "[agent][core]") {
  Harness h;
  h.begin();
  h.startSession(5, 600);
  h.fresh();
  h.shutdown("SIGTERM");
  auto out = h.fresh();
  REQUIRE(kinds(out) == std::vector<std::string>{"frp_stopped", "agent_stopping"});
  CHECK(str(out[0], "stop_reason") == "agent_shutdown");
  CHECK(str(out[1], "reason") == "SIGTERM");
  CHECK(h.frpc.stops == 1);
  CHECK_FALSE(h.core->state().session);  // it does not resume
}

TEST_CASE("core: a pending start is abandoned unanswered at shutdown", "[agent][core]") {
  Harness h;
  h.begin();
  h.fresh();
  h.request(5, "frp_start", R"({"services":{"ssh":31022}})");
  h.shutdown("SIGTERM");
  CHECK(kinds(h.fresh()) == std::vector<std::string>{"agent_stopping"});
  CHECK_FALSE(h.frpc.running);
  CHECK(h.core->state().positions.at(0) == 5);  // served again after a restart
}

TEST_CASE("core: the position moves past a request only once its answer is delivered",
          "[agent][core]") {
  Harness h;
  h.begin();
  h.fresh();
  h.request(5, "ping");
  REQUIRE(kinds(h.fresh()) == std::vector<std::string>{"ping 200"});
  CHECK(h.core->state().positions.at(0) == 5);
  CHECK(h.core->state().outbox.size() == 3);  // agent_started, get_config and the answer
  h.deliverAll();
  CHECK(h.core->state().positions.at(0) == 6);
  CHECK(h.core->state().outbox.empty());
  // Redelivered (e.g. after a crash before the position was written): the stored answer again.
  h.request(5, "ping");
  auto again = h.fresh();
  REQUIRE(again.size() == 1);
  CHECK(h.sink.produced.back().first == h.sink.produced[2].first);  // byte for byte
}

TEST_CASE(
    "core: system_info samples the CPU twice 250 ms apart and answers with the probe's numbers",
    "[agent][core][system-info]") {
  Harness h;
  h.begin();
  h.advance(0);
  h.fresh();
  h.request(5, "system_info");
  CHECK(h.probe.samples == 1);
  CHECK(h.core->busy());  // no further message is taken meanwhile
  CHECK(h.core->nextDueMono() == h.clock.monoMs() + 250);
  h.advance(249);
  CHECK(h.fresh().empty());
  h.advance(1);
  CHECK(h.probe.samples == 2);
  CHECK_FALSE(h.core->busy());
  auto out = h.fresh();
  REQUIRE(kinds(out) == std::vector<std::string>{"system_info 200"});
  const auto& body = out[0].body();
  CHECK(json::member(body, "cpu_usage_percent")->GetDouble() == Approx(50.0));  // 50 of 100 ticks
  CHECK(str(out[0], "hostname") == "board");
  CHECK(str(out[0], "kernel") == "Linux 5.10.160 armv7l");
  CHECK(json::member(body, "uptime_seconds")->GetDouble() == 3600.5);
  CHECK(json::member(body, "cpu_count")->GetInt64() == 4);
  CHECK(json::member(body, "load_average")->Size() == 3);
  const auto* memory = json::member(body, "memory");
  REQUIRE(memory);
  CHECK(json::member(*memory, "total_bytes")->GetUint64() == 1'000'000'000);
  CHECK(json::member(*memory, "used_percent")->GetDouble() == Approx(75.0));
  const auto* disks = json::member(body, "disks");
  REQUIRE(disks->Size() == 1);
  CHECK(json::member((*disks)[0], "used_percent")->GetDouble() == Approx(62.5));  // 5 of 8 GB
  CHECK(json::member(body, "agent_rss_bytes")->GetInt64() == 12'345'678);
  CHECK(h.probe.diskPathsAsked == std::vector<std::string>{"/", h.config.options.stateDir});
}

TEST_CASE("core: system_info without readable CPU counters answers without cpu_usage_percent",
          "[agent][core][system-info]") {
  Harness h;
  h.begin();
  h.advance(0);
  h.fresh();
  h.probe.cpuReadable = false;
  h.request(5, "system_info");
  h.advance(250);
  auto out = h.fresh();
  REQUIRE(kinds(out) == std::vector<std::string>{"system_info 200"});
  CHECK(json::member(out[0].body(), "cpu_usage_percent") == nullptr);
  CHECK(json::member(out[0].body(), "cpu_count")->GetInt64() == 4);
}
