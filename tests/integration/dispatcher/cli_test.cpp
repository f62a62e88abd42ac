// The operators' CLI: every subcommand in table and JSON form, waiting through LISTEN/NOTIFY,
// exit codes, migrations, provisioning on a broker without the admin API.
#include <rapidjson/document.h>
#include <signal.h>

#include <algorithm>
#include <catch2/catch.hpp>

#include "db/migrations.h"
#include "dispatcher_harness.h"
#include "edge_simulator.h"
#include "harness/kafka_test_client.h"
#include "harness/pg_cluster.h"
#include "online_edges.h"
#include "test_messages.h"

using namespace edgelink;
using namespace edgelink::testing;

namespace {

bool isJson(const std::string& text, rapidjson::Type type) {
  rapidjson::Document d;
  d.Parse(text.c_str());
  return !d.HasParseError() && d.GetType() == type;
}

}  // namespace

TEST_CASE(
    "send --wait gets the edge's answer through LISTEN/NOTIFY and exit codes tell the outcome",
    "[dispatcher][cli]") {
  DispatcherHarness h;
  EdgeSimulator edges(h.broker().bootstrap(), {"e1"}, h.topicPrefix());
  EdgeSimulator::Behaviour failing;
  failing.code = 500;
  failing.error = "disk on fire";
  edges.setBehaviour("system_info", failing);
  EdgeSimulator::Behaviour silent;
  silent.answer = false;
  edges.setBehaviour("frp_status", silent);
  h.startDaemon();

  auto ok = h.cli({"send", "--edge", "e1", "--type", "ping", "--wait", "20"});
  CHECK(ok.code == 0);
  CHECK_THAT(ok.out, Catch::Contains("succeeded 200 Succeed"));
  CHECK_THAT(ok.out, Catch::Contains("\"pong\": true"));

  auto failed = h.cli({"send", "--edge", "e1", "--type", "system_info", "--wait", "20", "--json"});
  CHECK(failed.code == 1);
  CHECK(isJson(failed.out, rapidjson::kObjectType));
  CHECK_THAT(failed.out, Catch::Contains("\"state\":\"failed\""));
  CHECK_THAT(failed.out, Catch::Contains("disk on fire"));

  auto timeout = h.cli({"send", "--edge", "e1", "--type", "frp_status", "--wait", "2"});
  CHECK(timeout.code == 3);
  CHECK_THAT(timeout.out, Catch::Contains("no answer within 2 s"));

  // --body and @file; an invalid body is a usage error naming the field.
  testing::writeText(h.dir().file("body.json"), "{\"note\": \"from a file\"}");
  auto fromFile = h.cli({"send", "--edge", "e1", "--type", "custom_thing", "--body",
                         "@" + h.dir().file("body.json"), "--json"});
  CHECK(fromFile.code == 0);
  CHECK_THAT(fromFile.out, Catch::Contains("from a file"));
  auto invalid = h.cli({"send", "--edge", "e1", "--type", "frp_start", "--body", "{}"});
  CHECK(invalid.code == 2);
  CHECK_THAT(invalid.err, Catch::Contains("request.body"));
  auto notAnObject = h.cli({"send", "--edge", "e1", "--type", "ping", "--body", "[1]"});
  CHECK(notAnObject.code == 2);
  auto missing = h.cli({"send", "--type", "ping"});
  CHECK(missing.code == 2);
  CHECK_THAT(missing.err, Catch::Contains("--edge"));
  CHECK(edges.problems().empty());
}

TEST_CASE("unreachable Kafka and PostgreSQL have their own exit codes", "[dispatcher][cli]") {
  DispatcherHarness h;
  const std::string closedPort = std::to_string(freeTcpPort());
  auto kafkaDown = h.cli({"send", "--edge", "e1", "--type", "ping", "--kafka-brokers",
                          "127.0.0.1:" + closedPort, "--kafka-timeout", "2"});
  CHECK(kafkaDown.code == 4);
  CHECK_THAT(kafkaDown.err, Catch::Contains("Kafka"));
  auto dbDown = h.cli({"requests", "list", "--pg-conninfo",
                       "host=127.0.0.1 port=" + closedPort + " user=postgres connect_timeout=2"});
  CHECK(dbDown.code == 5);
  CHECK_THAT(dbDown.err, Catch::Contains("cannot connect to PostgreSQL"));
  auto badConfig = h.cli({"requests", "list", "--port-pool", "9-1", "--batch-size", "0"});
  CHECK(badConfig.code == 2);
  CHECK_THAT(badConfig.err, Catch::Contains("port-pool"));
  CHECK_THAT(badConfig.err, Catch::Contains("batch-size"));
  auto badStatus = h.cli({"requests", "list", "--status", "done"});
  CHECK(badStatus.code == 2);
  auto unknown = h.cli({"requests", "show", "no-such-id"});
  CHECK(unknown.code == 6);  // not found: 1 is for a non-2xx answer or a refusal
}

TEST_CASE("every listing prints a table by default and JSON with --json", "[dispatcher][cli]") {
  DispatcherHarness h({{"e1", "e2"}});
  EdgeSimulator edges(h.broker().bootstrap(), {"e1", "e2"}, h.topicPrefix());
  h.startDaemon();
  edges.heartbeat("e1");
  markOnline(h, "e2");
  REQUIRE(h.cli({"send", "--edge", "e1", "--type", "ping", "--wait", "20"}).code == 0);
  REQUIRE(h.cli({"session", "open", "--edge", "e2", "--wait", "20"}).code == 0);
  KafkaTestClient kafka(h.broker().bootstrap());
  kafka.produce(h.topic("e2"), "e2", eventJson("agent_stopping"));
  REQUIRE(h.waitFor("SELECT count(*) FROM events WHERE type = 'agent_stopping'", "1"));

  struct Case {
    std::vector<std::string> args;
    std::string header;  // a column the table must show
    rapidjson::Type json;
  };
  const std::vector<Case> cases = {
      {{"requests", "list"}, "STATE", rapidjson::kArrayType},
      {{"requests", "list", "--edge", "e1", "--since", "1h", "--limit", "5"},
       "ANSWERED",
       rapidjson::kArrayType},
      {{"requests", "list", "--status", "succeeded", "--type", "ping"},
       "CODE",
       rapidjson::kArrayType},
      {{"sessions", "list"}, "PORTS", rapidjson::kArrayType},
      {{"sessions", "list", "--active", "--edge", "e2"}, "EXPIRES", rapidjson::kArrayType},
      {{"sessions", "show", "1"}, "connect:", rapidjson::kObjectType},
      {{"edges", "list"}, "ONLINE", rapidjson::kArrayType},
      {{"edges", "list", "--offline"}, "HEARTBEAT", rapidjson::kArrayType},
      {{"events", "tail", "--limit", "5"}, "DETAIL", rapidjson::kArrayType},
      {{"db", "status"}, "PARTITIONS", rapidjson::kObjectType},
      {{"verify"}, "configuration OK", rapidjson::kObjectType},
  };
  for (const auto& c : cases) {
    std::string label;
    for (const auto& a : c.args) {
      label += a + " ";
    }
    INFO(label);
    auto table = h.cli(c.args);
    CHECK(table.code == 0);
    CHECK_THAT(table.out, Catch::Contains(c.header));
    auto args = c.args;
    args.push_back("--json");
    auto json = h.cli(args);
    CHECK(json.code == 0);
    CHECK(isJson(json.out, c.json));
  }
  auto requests = h.cli({"requests", "list", "--json"});
  CHECK_THAT(requests.out, Catch::Contains("\"type\":\"change_frp_client_config\""));
  auto edgesTable = h.cli({"edges", "list", "--online"});
  CHECK_THAT(edgesTable.out, Catch::Contains("e1"));
  auto sessionJson = h.cli({"sessions", "list", "--json"});
  CHECK_THAT(sessionJson.out, Catch::Contains("\"connect\":{"));
  CHECK_THAT(sessionJson.out, Catch::Contains("root@frps.test"));
}

TEST_CASE("events tail --follow prints events as they are stored", "[dispatcher][cli]") {
  DispatcherHarness h;
  h.startDaemon();
  const std::string outPath = h.dir().file("tail.out");
  Subprocess tail = h.spawnCli({"events", "tail", "--follow", "--json"}, outPath);
  KafkaTestClient kafka(h.broker().bootstrap());
  kafka.produce(h.topic("e1"), "e1", eventJson("agent_stopping", "ev-followed-1"));
  REQUIRE(waitUntil([&] { return readText(outPath).find("ev-followed-1") != std::string::npos; },
                    20000));
  kafka.produce(h.topic("e1"), "e1", eventJson("agent_started", "ev-followed-2"));
  REQUIRE(waitUntil([&] { return readText(outPath).find("ev-followed-2") != std::string::npos; },
                    20000));
  tail.signal(SIGTERM);
  auto status = tail.waitFor(10000);
  REQUIRE(status);
  CHECK(WIFEXITED(*status));
  CHECK(WEXITSTATUS(*status) == 0);
  // JSON Lines while following: one object per line.
  std::string text = readText(outPath);
  int lines = 0;
  for (size_t start = 0, end; (end = text.find('\n', start)) != std::string::npos;
       start = end + 1) {
    CHECK(isJson(text.substr(start, end - start), rapidjson::kObjectType));
    ++lines;
  }
  CHECK(lines == 2);
}

TEST_CASE("events tail --follow prints an event whose transaction commits after a later one's",
          "[dispatcher][cli]") {
  // Two writers (lanes or dispatchers): the first takes the lower seq and commits last. A
  // follower reading "seq above the last printed" skipped it for good.
  DispatcherHarness h;
  const std::string outPath = h.dir().file("tail.out");
  Subprocess tail = h.spawnCli({"events", "tail", "--follow", "--json"}, outPath);
  auto insert = [](const std::string& id) {
    return "INSERT INTO events (edge_id, kafka_partition, kafka_offset, id, type, sender, sent_at,"
           " received_at, body) VALUES ('e1', 0, " +
           std::to_string(id.back() - '0') + ", '" + id +
           "', 'agent_stopping', 'e1', now(), now(), '{}')";
  };
  const auto slow = dispatcher::pg::Connection::open(h.conninfo(), "slow-writer");
  REQUIRE(slow);
  const auto other = dispatcher::pg::Connection::open(h.conninfo(), "other-writer");
  REQUIRE(other);
  auto& fast = **other;
  REQUIRE((*slow)->run("BEGIN"));
  REQUIRE((*slow)->run(insert("ev-late1")));
  REQUIRE(fast.run(insert("ev-early2")));
  REQUIRE(fast.run(std::string("NOTIFY ") + dispatcher::kEventChannel));
  REQUIRE(
      waitUntil([&] { return readText(outPath).find("ev-early2") != std::string::npos; }, 20000));
  CHECK(h.count("SELECT count(*) FROM events e, events l WHERE e.id = 'ev-early2'"
                " AND l.id = 'ev-late1' AND l.seq < e.seq") == 0);  // not visible yet
  REQUIRE((*slow)->run("COMMIT"));
  REQUIRE(h.count("SELECT count(*) FROM events e, events l WHERE e.id = 'ev-early2'"
                  " AND l.id = 'ev-late1' AND l.seq < e.seq") == 1);
  REQUIRE(fast.run(std::string("NOTIFY ") + dispatcher::kEventChannel));
  REQUIRE(
      waitUntil([&] { return readText(outPath).find("ev-late1") != std::string::npos; }, 20000));
  // Later passes print neither again, and a third event still comes.
  REQUIRE(fast.run(insert("ev-next3")));
  REQUIRE(fast.run(std::string("NOTIFY ") + dispatcher::kEventChannel));
  REQUIRE(
      waitUntil([&] { return readText(outPath).find("ev-next3") != std::string::npos; }, 20000));
  tail.signal(SIGTERM);
  REQUIRE(tail.waitFor(10000));
  const std::string text = readText(outPath);
  CHECK(std::count(text.begin(), text.end(), '\n') == 3);
  CHECK(text.find("ev-early2") < text.find("ev-late1"));
  CHECK(text.find("\"xact\"") == std::string::npos);  // the window's bookkeeping stays inside
}

TEST_CASE("db migrate is idempotent and the daemon refuses an unmigrated database",
          "[dispatcher][cli]") {
  DispatcherHarness h({{"e1"}, {}, "", false});
  auto refused = h.cli({"run"}, 30000);
  CHECK(refused.code == 5);
  CHECK_THAT(refused.err, Catch::Contains("not migrated"));
  CHECK_THAT(refused.err, Catch::Contains("db migrate"));
  auto listing = h.cli({"sessions", "list"});
  CHECK(listing.code == 5);
  auto status = h.cli({"db", "status"});
  CHECK(status.code == 5);
  CHECK_THAT(status.out, Catch::Contains("schema version 0"));
  auto first = h.cli({"db", "migrate"});
  CHECK(first.code == 0);
  CHECK_THAT(first.out, Catch::Contains("now at version"));
  auto second = h.cli({"db", "migrate", "--json"});
  CHECK(second.code == 0);
  CHECK_THAT(second.out, Catch::Contains("\"applied\":[]"));
  CHECK(h.count("SELECT count(*) FROM schema_migrations") == dispatcher::latestSchemaVersion());
  h.startDaemon();
  REQUIRE(h.waitFor("SELECT count(*) FROM dispatchers WHERE state = 'running'", "1"));
}

TEST_CASE("db migrate that PostgreSQL refuses prints the error and exits 5", "[dispatcher][cli]") {
  SECTION("a schema newer than the binary") {
    DispatcherHarness h({{"e1"}, {}, "", false});
    h.sql(
        "CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL,"
        " applied_at timestamptz NOT NULL DEFAULT now())");
    h.sql("INSERT INTO schema_migrations (version, name) VALUES (999, 'future')");
    auto r = h.cli({"db", "migrate"});
    CHECK(r.code == 5);
    CHECK_THAT(r.err, Catch::Contains("999") && Catch::Contains("newer than this binary"));
    CHECK(r.out.empty());
  }
  SECTION("a migration failing on an object in its way") {
    DispatcherHarness h({{"e1"}, {}, "", false});
    h.sql("CREATE TABLE edges (something_else integer)");
    auto r = h.cli({"db", "migrate", "--json"});
    CHECK(r.code == 5);
    CHECK_THAT(r.err, Catch::Contains("migration 1") && Catch::Contains("edges"));
    CHECK(r.out.empty());
    // Nothing half-applied: the migration's transaction rolled back.
    CHECK(h.sql("SELECT to_regclass('schema_migrations') IS NULL") == "t");
  }
}

TEST_CASE("two db migrate at once: one applies, the other waits and finds nothing to do",
          "[dispatcher][cli]") {
  DispatcherHarness h({{"e1"}, {}, "", false});
  Subprocess a = h.spawnCli({"db", "migrate"}, h.dir().file("m1.out"));
  Subprocess b = h.spawnCli({"db", "migrate"}, h.dir().file("m2.out"));
  auto sa = a.waitFor(30000);
  auto sb = b.waitFor(30000);
  REQUIRE(sa);
  REQUIRE(sb);
  CHECK(WEXITSTATUS(*sa) == 0);
  CHECK(WEXITSTATUS(*sb) == 0);
  std::string both = readText(h.dir().file("m1.out")) + readText(h.dir().file("m2.out"));
  CHECK_THAT(both, Catch::Contains("already at version " +
                                   std::to_string(dispatcher::latestSchemaVersion())));
  CHECK(h.count("SELECT count(*) FROM schema_migrations") == dispatcher::latestSchemaVersion());
}

TEST_CASE("edges add on a broker without the admin API fails with a clear message (mock)",
          "[dispatcher][cli]") {
  DispatcherHarness::Setup setup;
  setup.broker = BrokerKind::kMock;  // the mock has no CreateTopics
  DispatcherHarness h(setup);
  auto r = h.cli({"edges", "add", "new-edge", "--kafka-timeout", "2"});
  CHECK(r.code == 4);
  CHECK_THAT(r.err, Catch::Contains("CreateTopics"));
  CHECK_THAT(r.err, Catch::Contains("admin API"));
  CHECK_THAT(r.err, Catch::Contains(h.topic("new-edge")));
  CHECK(h.count("SELECT count(*) FROM edges WHERE edge_id = 'new-edge'") == 0);
  auto bad = h.cli({"edges", "add", "bad id"});
  CHECK(bad.code == 2);
}
