// frp sessions: opened from the pool in the original design's format, one live per edge, ports
// never shared (even by concurrent openers in several processes), ended by answers, events and
// the sweeper.
#include <rapidjson/document.h>

#include <catch2/catch.hpp>

#include "dispatcher_harness.h"
#include "edge_simulator.h"
#include "envelope/envelope.h"
#include "envelope/frp_command.h"
#include "harness/kafka_test_client.h"
#include "online_edges.h"
#include "test_messages.h"

using namespace edgelink;
using namespace edgelink::testing;

TEST_CASE(
    "session open reserves pool ports, publishes the original start request, prints how "
    "to connect and close ends it",
    "[dispatcher][sessions]") {
  DispatcherHarness h({{"e1"}, {"port-pool = \"31020-31029\""}});
  EdgeSimulator edges(h.broker().bootstrap(), {"e1"}, h.topicPrefix());
  markOnline(h, "e1");
  h.startDaemon();
  auto opened = h.cli({"session", "open", "--edge", "e1", "--auto-stop", "30m", "--wait", "20"});
  REQUIRE(opened.code == 0);
  CHECK_THAT(opened.out, Catch::Contains("is open until"));
  CHECK_THAT(opened.out, Catch::Matches("(.|\\n)*ssh: ssh -p 3102[0-9] root@frps\\.test(.|\\n)*"));
  CHECK_THAT(opened.out, Catch::Contains("fcc_web: http://frps.test:310"));
  CHECK(h.sql("SELECT state || ' ' || opened_by FROM sessions") == "active cloud_dispatcher");
  CHECK(h.count("SELECT count(*) FROM session_ports WHERE port BETWEEN 31020 AND 31029") == 3);

  // On the wire: the original design's change_frp_client_config with actions inside the body.
  KafkaTestClient kafka(h.broker().bootstrap());
  auto records = kafka.readFromStart(h.topic("e1"), 1, 10000);
  REQUIRE_FALSE(records.empty());
  rapidjson::Document d;
  d.Parse(records[0].value.c_str());
  REQUIRE(d.HasMember("request"));
  const auto& req = d["request"];
  CHECK(std::string(req["type"].GetString()) == "change_frp_client_config");
  CHECK(req["body"]["edge_ssh_remote_port"].IsInt());
  CHECK(req["body"]["edge_fcc_web_config_page_remote_port"].IsInt());
  CHECK(req["body"]["camera_admin_web_page_remote_port"].IsInt());
  CHECK(req["body"]["auto_stop_service_in"].GetInt() == 1800);
  CHECK(std::string(req["body"]["actions"][0]["name"].GetString()) == "start_frp_client_service");
  CHECK(records[0].key == "e1");

  auto closed = h.cli({"session", "close", "--edge", "e1", "--wait", "20", "--json"});
  CHECK(closed.code == 0);
  CHECK_THAT(closed.out, Catch::Contains("\"state\":\"succeeded\""));
  CHECK_THAT(closed.out, Catch::Contains("\"session_id\":1"));
  REQUIRE(h.waitFor("SELECT state || ' ' || end_reason FROM sessions", "closed requested"));
  CHECK(h.count("SELECT count(*) FROM session_ports") == 0);
  CHECK(edges.problems().empty());
}

TEST_CASE("one live session per edge: a second open is refused", "[dispatcher][sessions]") {
  DispatcherHarness h;
  markOnline(h, "e1");
  auto first = h.cli({"session", "open", "--edge", "e1", "--services", "ssh", "--wait", "0"});
  REQUIRE(first.code == 0);
  CHECK_THAT(first.out, Catch::Contains("requested"));
  auto second = h.cli({"session", "open", "--edge", "e1", "--wait", "0"});
  CHECK(second.code == 1);
  CHECK_THAT(second.err, Catch::Contains("already has session"));
  CHECK(h.count("SELECT count(*) FROM sessions") == 1);
  auto badService = h.cli({"session", "open", "--edge", "e1", "--services", "vnc"});
  CHECK(badService.code == 2);
}

TEST_CASE("concurrent session opens from several processes never hand out a port twice",
          "[dispatcher][sessions]") {
  std::vector<std::string> names;
  for (int i = 0; i < 8; ++i) {
    names.push_back("c" + std::to_string(i));
  }
  // 12 ports, 8 edges wanting 3 each (and a second opener on c0): at most 4 can win.
  DispatcherHarness h({names, {"port-pool = \"32000-32011\""}});
  for (const auto& edge : names) {
    markOnline(h, edge);
  }
  std::vector<Subprocess> openers;
  for (size_t i = 0; i <= names.size(); ++i) {
    const std::string edge = names[i % names.size()];
    openers.push_back(h.spawnCli({"session", "open", "--edge", edge, "--wait", "0"},
                                 h.dir().file("open-" + std::to_string(i) + ".out")));
  }
  int won = 0;
  int refused = 0;
  for (auto& p : openers) {
    auto status = p.waitFor(60000);
    REQUIRE(status);
    REQUIRE(WIFEXITED(*status));
    if (WEXITSTATUS(*status) == 0) {
      ++won;
    } else {
      CHECK(WEXITSTATUS(*status) == 1);
      ++refused;
    }
  }
  CHECK(won == 4);
  CHECK(refused == 5);
  CHECK(h.count("SELECT count(*) FROM sessions WHERE ended_at IS NULL") == 4);
  CHECK(h.count("SELECT count(*) FROM session_ports") == 12);
  // Every live session's ports (as published) are distinct and in the pool.
  CHECK(h.sql("SELECT count(DISTINCT p.value::int) FROM sessions s, jsonb_each(s.services) p"
              " WHERE s.ended_at IS NULL") == "12");
  CHECK(h.count("SELECT count(*) FROM sessions s, jsonb_each(s.services) p"
                " WHERE s.ended_at IS NULL AND p.value::int NOT BETWEEN 32000 AND 32011") == 0);
  CHECK(h.count("SELECT count(*) FROM (SELECT edge_id FROM sessions WHERE ended_at IS NULL"
                " GROUP BY edge_id HAVING count(*) > 1) x") == 0);
}

TEST_CASE("the database refuses a port for two live sessions, whoever writes",
          "[dispatcher][sessions]") {
  DispatcherHarness h;
  h.sql(
      "INSERT INTO sessions (edge_id, request_id, opened_by, services, state, requested_at)"
      " VALUES ('a', 'r1', 'test', '{\"ssh\": 5000}', 'opening', now()),"
      "        ('b', 'r2', 'test', '{\"ssh\": 5000}', 'opening', now()) RETURNING 1");
  h.sql("INSERT INTO session_ports VALUES (5000, 1, 'ssh') RETURNING 1");
  CHECK_THROWS_WITH(h.sql("INSERT INTO session_ports VALUES (5000, 2, 'ssh') RETURNING 1"),
                    Catch::Contains("session_ports_pkey"));
  // One active session per edge; a start awaiting its answer may sit beside it.
  h.sql(
      "INSERT INTO sessions (edge_id, request_id, opened_by, services, state, requested_at,"
      " started_at, expires_at) VALUES ('a', 'r4', 't', '{}', 'active', now(), now(),"
      " now() + interval '1 hour') RETURNING 1");
  CHECK_THROWS_WITH(h.sql("INSERT INTO sessions (edge_id, request_id, opened_by, services, state,"
                          " requested_at, started_at, expires_at) VALUES ('a', 'r3', 't', '{}',"
                          " 'active', now(), now(), now() + interval '1 hour') RETURNING 1"),
                    Catch::Contains("sessions_one_active_per_edge"));
  h.sql("UPDATE sessions SET state = 'closed', ended_at = now() WHERE session_id = 1 RETURNING 1");
  CHECK(h.count("SELECT count(*) FROM session_ports") == 0);  // ending frees the port
  CHECK_THROWS_WITH(h.sql("INSERT INTO session_ports VALUES (5001, 1, 'ssh') RETURNING 1"),
                    Catch::Contains("not live"));
  h.sql("INSERT INTO session_ports VALUES (5000, 2, 'ssh') RETURNING 1");
  CHECK(h.count("SELECT count(*) FROM session_ports") == 1);
}

TEST_CASE("the sweeper ends sessions that expired or were never answered",
          "[dispatcher][sessions]") {
  DispatcherHarness h(
      {{"e1", "e2"}, {"sweep-interval = \"1s\"", "sweep-grace = \"0s\"", "edge-max-age = \"3s\""}});
  EdgeSimulator edges(h.broker().bootstrap(), {"e1"}, h.topicPrefix());  // e2 never answers
  EdgeSimulator::Behaviour shortLived;
  shortLived.expiresInSeconds = 1;
  shortLived.frpEvents = false;  // no frp_stopped will ever come
  edges.setBehaviour("change_frp_client_config", shortLived);
  markOnline(h, "e1");
  markOnline(h, "e2");
  h.startDaemon();
  REQUIRE(h.waitAssigned(2));
  REQUIRE(h.cli({"session", "open", "--edge", "e1", "--wait", "20"}).code == 0);
  REQUIRE(h.cli({"session", "open", "--edge", "e2", "--wait", "0"}).code == 0);
  REQUIRE(h.waitFor("SELECT state || ' ' || end_reason FROM sessions WHERE edge_id = 'e1'",
                    "closed expired"));
  REQUIRE(h.waitFor("SELECT state || ' ' || end_reason FROM sessions WHERE edge_id = 'e2'",
                    "failed no_answer"));
  CHECK(h.count("SELECT count(*) FROM session_ports") == 0);
  // e1's frp_stopped comes after the sweeper ended the session: the edge's reason wins.
  const std::string rid1 = h.sql("SELECT request_id FROM sessions WHERE edge_id = 'e1'");
  edges.event(
      "e1", "frp_stopped",
      R"({"state": "stopped", "stop_reason": "auto_stop", "request_id": ")" + rid1 + R"("})");
  REQUIRE(h.waitFor("SELECT state || ' ' || end_reason FROM sessions WHERE edge_id = 'e1'",
                    "closed auto_stop"));
  CHECK_THAT(h.sql("SELECT end_detail FROM sessions WHERE edge_id = 'e1'"),
             Catch::Contains("frp_stopped event"));
  // e2 answers after all: frp runs there, so the session is live again with its ports.
  const std::string rid = h.sql("SELECT request_id FROM sessions WHERE edge_id = 'e2'");
  auto late = envelope::Envelope::response(envelope::Id::text(rid), "change_frp_client_config",
                                           "edge_board", nowMs(), 200);
  late.set("state", "running");
  KafkaTestClient kafka(h.broker().bootstrap());
  kafka.produce(h.topic("e2"), "e2", envelope::encode(late));
  REQUIRE(h.waitFor("SELECT state FROM sessions WHERE edge_id = 'e2'", "active"));
  CHECK(h.count("SELECT count(*) FROM session_ports") == 3);
}

TEST_CASE("a web backend's start is recorded as a session and frp events end it with their reason",
          "[dispatcher][sessions]") {
  DispatcherHarness h;
  EdgeSimulator edges(h.broker().bootstrap(), {"e1"}, h.topicPrefix());
  h.startDaemon();
  KafkaTestClient backend(h.broker().bootstrap());
  auto start = envelope::Envelope::request(envelope::Id::text("web-start-1"), "web_backend",
                                           nowMs(), "frp_start");
  rapidjson::Value services(rapidjson::kObjectType);
  services.AddMember("ssh", 40022, start.allocator());
  start.set("services", std::move(services));
  start.set("auto_stop_seconds", 600);
  backend.produce(h.topic("e1"), "e1", envelope::encode(start));
  REQUIRE(
      h.waitFor("SELECT state || ' ' || opened_by || ' ' || (services->>'ssh')"
                " FROM sessions WHERE request_id = 'web-start-1'",
                "active web_backend 40022"));
  CHECK(h.sql("SELECT session_id::text FROM session_ports WHERE port = 40022") != "");
  // frpc dies on the edge: the agent says so.
  edges.event("e1", "frp_stopped",
              R"({"state": "stopped", "stop_reason": "exited_unexpectedly",
                  "exit_status": "exited with status 1", "request_id": "web-start-1"})");
  REQUIRE(
      h.waitFor("SELECT state || ' ' || end_reason FROM sessions"
                " WHERE request_id = 'web-start-1'",
                "closed exited_unexpectedly"));
  CHECK(h.count("SELECT count(*) FROM session_ports") == 0);
  // A start the dispatcher never saw, announced by frp_started, is recorded too.
  edges.event("e1", "frp_started",
              R"({"state": "running", "services": {"ssh": {"remote_port": 40023}},
                  "request_id": "unseen-7", "resumed": true})");
  REQUIRE(h.waitFor("SELECT state || ' ' || opened_by FROM sessions WHERE request_id = 'unseen-7'",
                    "active edge"));
  CHECK(edges.problems().empty());
}

TEST_CASE("a start the edge refuses fails its session and frees the ports",
          "[dispatcher][sessions]") {
  DispatcherHarness h;
  EdgeSimulator edges(h.broker().bootstrap(), {"e1"}, h.topicPrefix());
  EdgeSimulator::Behaviour refused;
  refused.code = 500;
  refused.error = "proxy [e1.ssh] start error: port already used";
  refused.echoType = false;  // like the original design's agents
  edges.setBehaviour("change_frp_client_config", refused);
  markOnline(h, "e1");
  h.startDaemon();
  auto r = h.cli({"session", "open", "--edge", "e1", "--services", "ssh,fcc_web", "--wait", "20"});
  CHECK(r.code == 1);
  CHECK_THAT(r.out, Catch::Contains("port already used"));
  REQUIRE(h.waitFor("SELECT count(*) FROM session_ports", "0"));
  auto again = h.cli({"session", "open", "--edge", "e1", "--services", "ssh", "--json"});
  CHECK(again.code == 1);
  CHECK_THAT(again.out, Catch::Contains("\"request_state\":\"failed\""));
  CHECK_THAT(again.out, Catch::Contains("\"state\":\"failed\""));
  REQUIRE(h.waitFor("SELECT state || ' ' || end_reason FROM sessions WHERE session_id = 1",
                    "failed start_failed"));
  CHECK_THAT(h.sql("SELECT end_detail FROM sessions WHERE session_id = 1"),
             Catch::Contains("500: proxy [e1.ssh]"));
  CHECK(h.count("SELECT count(*) FROM session_ports") == 0);
}

TEST_CASE("a start with other ports the edge refuses leaves the running session alone",
          "[dispatcher][sessions]") {
  DispatcherHarness h;
  EdgeSimulator edges(h.broker().bootstrap(), {"e1"}, h.topicPrefix());
  h.startDaemon();
  KafkaTestClient backend(h.broker().bootstrap());
  auto startWith = [&](const std::string& id, int port) {
    auto start =
        envelope::Envelope::request(envelope::Id::text(id), "web_backend", nowMs(), "frp_start");
    rapidjson::Value services(rapidjson::kObjectType);
    services.AddMember("ssh", port, start.allocator());
    start.set("services", std::move(services));
    backend.produce(h.topic("e1"), "e1", envelope::encode(start));
  };
  const std::string stateOf = "SELECT state || ' ' || COALESCE(end_reason, '-') FROM sessions";
  startWith("web-a", 40022);
  REQUIRE(h.waitFor(stateOf + " WHERE request_id = 'web-a'", "active -"));

  // Refused before acting (stale): the edge still runs web-a's frpc.
  EdgeSimulator::Behaviour stale;
  stale.code = 408;
  stale.error = "request is stale";
  stale.frpEvents = false;
  edges.setBehaviour("frp_start", stale);
  startWith("web-b", 40099);
  REQUIRE(h.waitFor(stateOf + " WHERE request_id = 'web-b'", "failed stale"));
  CHECK(h.sql(stateOf + " WHERE request_id = 'web-a'") == "active -");
  CHECK(h.sql("SELECT string_agg(port::text, ',' ORDER BY port) FROM session_ports") == "40022");

  // Accepted with other ports: now web-a is replaced.
  edges.setBehaviour("frp_start", EdgeSimulator::Behaviour{});
  startWith("web-c", 40100);
  REQUIRE(h.waitFor(stateOf + " WHERE request_id = 'web-c'", "active -"));
  CHECK(h.sql(stateOf + " WHERE request_id = 'web-a'") == "closed replaced");
  CHECK(h.sql("SELECT string_agg(port::text, ',' ORDER BY port) FROM session_ports") == "40100");
  CHECK(h.count("SELECT count(*) FROM sessions WHERE state = 'active'") == 1);
  CHECK(edges.problems().empty());
}

TEST_CASE("a web backend's start on a port another live session holds is recorded and flagged",
          "[dispatcher][sessions]") {
  DispatcherHarness h({{"e1", "e2"}, {}});
  EdgeSimulator edges(h.broker().bootstrap(), {"e1", "e2"}, h.topicPrefix());
  h.startDaemon();
  REQUIRE(h.waitAssigned(2));
  KafkaTestClient backend(h.broker().bootstrap());
  for (const auto& [edge, id] : {std::pair<std::string, std::string>{"e1", "w-1"}, {"e2", "w-2"}}) {
    auto start =
        envelope::Envelope::request(envelope::Id::text(id), "web_backend", nowMs(), "frp_start");
    rapidjson::Value services(rapidjson::kObjectType);
    services.AddMember("ssh", 40500, start.allocator());
    start.set("services", std::move(services));
    backend.produce(h.topic(edge), edge, envelope::encode(start));
    REQUIRE(h.waitFor("SELECT state FROM sessions WHERE request_id = '" + id + "'", "active"));
  }
  // The port stays with the first session; the second is recorded with a note saying why.
  CHECK(h.sql("SELECT s.request_id FROM session_ports p JOIN sessions s USING (session_id)"
              " WHERE p.port = 40500") == "w-1");
  CHECK_THAT(h.sql("SELECT end_detail FROM sessions WHERE request_id = 'w-2'"),
             Catch::Contains("port 40500 already held by another session"));
  CHECK(edges.problems().empty());
}

TEST_CASE(
    "a web backend's stcp start is recorded as an stcp session with no ports and its secret "
    "redacted",
    "[dispatcher][sessions][stcp]") {
  DispatcherHarness h;
  EdgeSimulator edges(h.broker().bootstrap(), {"e1"}, h.topicPrefix());
  h.startDaemon();
  KafkaTestClient backend(h.broker().bootstrap());
  const std::string secret = "q3Jx0m8ZbV2yH7tWn4cLr9sKd1fG6pAe5uQiOzXjB-_";
  auto start = envelope::Envelope::request(envelope::Id::text("web-stcp-1"), "web_backend", nowMs(),
                                           "frp_start");
  envelope::FrpCommand cmd;
  cmd.mode = envelope::FrpMode::kStcp;
  cmd.secretKey = secret;
  cmd.services = {{"ssh", 0}};
  envelope::writeCanonicalFrpBody(start, cmd);
  backend.produce(h.topic("e1"), "e1", envelope::encode(start));
  REQUIRE(
      h.waitFor("SELECT state || ' ' || mode || ' ' || (services->>'ssh') || ' ' ||"
                " (stcp_secret IS NULL) FROM sessions WHERE request_id = 'web-stcp-1'",
                "active stcp 0 true"));
  CHECK(h.count("SELECT count(*) FROM session_ports") == 0);
  CHECK(h.sql("SELECT body->>'secret_key' FROM requests WHERE id = 'web-stcp-1'") ==
        envelope::kRedactedSecretKey);
  CHECK(h.sql("SELECT state FROM request_status WHERE id = 'web-stcp-1'") == "succeeded");
  auto list = h.cli({"sessions", "list"});
  CHECK_THAT(list.out, Catch::Contains("ssh stcp"));
  CHECK(list.out.find(secret) == std::string::npos);
  CHECK(h.daemonLog(0).find(secret) == std::string::npos);
  // Not opened here: no visitor config to show.
  auto visitor = h.cli({"sessions", "show", h.sql("SELECT session_id FROM sessions"), "--visitor"});
  CHECK(visitor.code == 1);
  CHECK_THAT(visitor.err, Catch::Contains("not an stcp session opened here"));
  CHECK(edges.problems().empty());
}

TEST_CASE("an extension the edge resumes under its own id goes on as the same session",
          "[dispatcher][sessions]") {
  // The agent records an extension's id as its session's; resuming after a restart, it names
  // that id in frp_started. The extension has no session row: the session it extended goes on
  // (found by the chaos run: it used to end as 'replaced' and reappear as a new session).
  DispatcherHarness h;
  EdgeSimulator edges(h.broker().bootstrap(), {"e1"}, h.topicPrefix());
  EdgeSimulator::Behaviour quiet;  // the events come from the test
  quiet.frpEvents = false;
  edges.setBehaviour("frp_start", quiet);
  h.startDaemon();
  KafkaTestClient backend(h.broker().bootstrap());
  for (const char* id : {"web-start-1", "web-ext-2"}) {
    auto start =
        envelope::Envelope::request(envelope::Id::text(id), "web_backend", nowMs(), "frp_start");
    rapidjson::Value services(rapidjson::kObjectType);
    services.AddMember("ssh", 40022, start.allocator());
    start.set("services", std::move(services));
    backend.produce(h.topic("e1"), "e1", envelope::encode(start));
    REQUIRE(h.waitFor("SELECT state FROM request_status WHERE id = '" + std::string(id) + "'",
                      "succeeded"));
  }
  REQUIRE(h.waitFor("SELECT count(*) FROM session_audit WHERE action = 'extend'", "1"));
  edges.event("e1", "frp_started",
              R"({"state": "running", "services": {"ssh": {"remote_port": 40022}},
                  "request_id": "web-ext-2", "resumed": true})");
  REQUIRE(h.waitFor("SELECT count(*) FROM events WHERE type = 'frp_started'", "1"));
  CHECK(h.sql("SELECT string_agg(request_id || ' ' || state, ', ') FROM sessions") ==
        "web-start-1 active");
  CHECK(h.sql("SELECT s.request_id FROM session_ports p JOIN sessions s USING (session_id)"
              " WHERE p.port = 40022") == "web-start-1");
  // Its stop, naming the extension too, ends that session.
  edges.event("e1", "frp_stopped",
              R"({"state": "stopped", "stop_reason": "auto_stop", "request_id": "web-ext-2"})");
  REQUIRE(h.waitFor("SELECT state || ' ' || end_reason FROM sessions", "closed auto_stop"));
  CHECK(edges.problems().empty());
}
