// The operators' CLI for remote configuration (docs/REMOTE-CONFIG.md): config set/unset/show for
// the fleet and single edges, the remote/local split, bulk by label, config push on real Kafka,
// edges label and the config versions in edges show.
#include <rapidjson/document.h>

#include <catch2/catch.hpp>
#include <map>

#include "dispatcher_harness.h"
#include "harness/kafka_test_client.h"

using namespace edgelink;
using namespace edgelink::testing;

namespace {

rapidjson::Document parseJson(const std::string& text) {
  rapidjson::Document d;
  d.Parse(text.c_str());
  REQUIRE_FALSE(d.HasParseError());
  return d;
}

void addEdges(DispatcherHarness& h, const std::vector<std::string>& ids) {
  for (const auto& id : ids) {
    h.sql("INSERT INTO edges (edge_id, first_seen_at, provisioned_at) VALUES ('" + id +
          "', now(), now())");
  }
}

/// The value of the "name:   value" line of a detail listing ("" when absent).
std::string detailValue(const std::string& out, const std::string& name) {
  const auto at = out.find("\n" + name + ":");
  if (at == std::string::npos) {
    return "";
  }
  const auto start = out.find_first_not_of(' ', at + name.size() + 2);
  return out.substr(start, out.find('\n', start) - start);
}

int64_t scopeVersion(DispatcherHarness& h, const std::string& scope) {
  return std::stoll("0" + h.sql("SELECT version FROM config_scopes WHERE scope = '" + scope + "'"));
}

}  // namespace

TEST_CASE("config set, unset and show: fleet defaults, edge overrides marked, versions grow",
          "[dispatcher][cli][config]") {
  DispatcherHarness h(DispatcherHarness::Setup({"e1", "e2"}));
  addEdges(h, {"e1", "e2"});

  auto fleet = h.cli({"config", "set", "--fleet", "heartbeat-interval=30", "log-level=info"});
  REQUIRE(fleet.code == 0);
  CHECK_THAT(fleet.out, Catch::Contains("fleet: set 2 key(s)"));
  const int64_t v1 = scopeVersion(h, "*");
  CHECK(v1 > 0);
  CHECK(h.sql("SELECT value::text FROM config_values WHERE scope = '*' AND key = 'log-level'") ==
        "\"info\"");
  CHECK(h.sql("SELECT value::text FROM config_values WHERE scope = '*' AND "
              "key = 'heartbeat-interval'") == "30");
  CHECK_FALSE(h.sql("SELECT updated_by FROM config_scopes WHERE scope = '*'").empty());

  // An edge's own value over the fleet's; a quoted JSON string is taken as is.
  auto edge = h.cli({"config", "set", "--edge", "e1", "log-level=\"debug\"", "frps-port=7443"});
  REQUIRE(edge.code == 0);
  const int64_t v2 = scopeVersion(h, "e1");
  CHECK(v2 > v1);

  auto shown = h.cli({"config", "show", "--edge", "e1", "--json"});
  REQUIRE(shown.code == 0);
  auto d = parseJson(shown.out);
  CHECK(d["version_desired"].GetInt64() == v2);
  CHECK(d["version_applied"].IsNull());
  CHECK(std::string(d["config"]["log-level"].GetString()) == "debug");
  CHECK(d["config"]["heartbeat-interval"].GetInt64() == 30);
  CHECK(d["config"]["frps-port"].GetInt64() == 7443);
  std::map<std::string, std::string> source;
  for (const auto& v : d["values"].GetArray()) {
    source[v["key"].GetString()] = v["source"].GetString();
  }
  CHECK(source == std::map<std::string, std::string>{{"frps-port", "edge"},
                                                     {"heartbeat-interval", "fleet"},
                                                     {"log-level", "edge"}});

  auto table = h.cli({"config", "show", "--edge", "e1"});
  REQUIRE(table.code == 0);
  CHECK_THAT(table.out, Catch::Contains("desired version " + std::to_string(v2)));
  CHECK_THAT(table.out, Catch::Contains("applied none reported"));
  CHECK_THAT(table.out, Catch::Contains("local-only keys"));
  CHECK_THAT(table.out, Catch::Contains("\"debug\""));

  // The other edge sees the fleet's values only; the fleet's own view is the defaults.
  auto other = parseJson(h.cli({"config", "show", "--edge", "e2", "--json"}).out);
  CHECK(std::string(other["config"]["log-level"].GetString()) == "info");
  CHECK_FALSE(other["config"].HasMember("frps-port"));
  CHECK(other["version_desired"].GetInt64() == v1);
  auto defaults = parseJson(h.cli({"config", "show", "--fleet", "--json"}).out);
  CHECK(defaults["values"].Size() == 2);
  CHECK(defaults["version_desired"].GetInt64() == v1);

  // unset: the fleet's value shows through again; a new version.
  auto unset = h.cli({"config", "unset", "--edge", "e1", "log-level", "--json"});
  REQUIRE(unset.code == 0);
  auto u = parseJson(unset.out);
  CHECK(u["removed"].GetInt64() == 1);
  const int64_t v3 = scopeVersion(h, "e1");
  CHECK(v3 > v2);
  CHECK(u["version"].GetInt64() == v3);
  auto after = parseJson(h.cli({"config", "show", "--edge", "e1", "--json"}).out);
  CHECK(std::string(after["config"]["log-level"].GetString()) == "info");
  CHECK(after["version_desired"].GetInt64() == v3);

  // A fleet change after it raises every edge's desired version.
  REQUIRE(h.cli({"config", "set", "--fleet", "auto-stop-max=7200"}).code == 0);
  auto later = parseJson(h.cli({"config", "show", "--edge", "e1", "--json"}).out);
  CHECK(later["version_desired"].GetInt64() > v3);
}

TEST_CASE("config set refuses local-only, unknown and ill-typed values, storing nothing",
          "[dispatcher][cli][config]") {
  DispatcherHarness h(DispatcherHarness::Setup({"e1"}));
  addEdges(h, {"e1"});
  const auto values = "SELECT count(*) FROM config_values";
  const auto scopes = "SELECT count(*) FROM config_scopes";

  auto service = h.cli({"config", "set", "--edge", "e1", "log-level=debug", "service=ssh:22"});
  CHECK(service.code == 2);
  CHECK_THAT(service.err, Catch::Contains("service") && Catch::Contains("local-only"));
  auto keys = h.cli({"config", "set", "--fleet", "trusted-keys=abc"});
  CHECK(keys.code == 2);
  CHECK_THAT(keys.err, Catch::Contains("trusted-keys") && Catch::Contains("local-only"));
  auto unknown = h.cli({"config", "set", "--fleet", "heartbeat-intervall=30"});
  CHECK(unknown.code == 2);
  CHECK_THAT(unknown.err, Catch::Contains("heartbeat-intervall") && Catch::Contains("unknown"));
  auto badValue = h.cli({"config", "set", "--fleet", "heartbeat-interval=soon"});
  CHECK(badValue.code == 2);
  CHECK_THAT(badValue.err, Catch::Contains("heartbeat-interval") && Catch::Contains("seconds"));
  auto badLevel = h.cli({"config", "set", "--fleet", "log-level=loud"});
  CHECK(badLevel.code == 2);
  CHECK_THAT(badLevel.err, Catch::Contains("log-level"));
  auto noEquals = h.cli({"config", "set", "--fleet", "log-level"});
  CHECK(noEquals.code == 2);
  CHECK_THAT(noEquals.err, Catch::Contains("KEY=VALUE"));
  auto unsetLocal = h.cli({"config", "unset", "--fleet", "remote-ports"});
  CHECK(unsetLocal.code == 2);
  CHECK_THAT(unsetLocal.err, Catch::Contains("remote-ports"));
  CHECK(h.count(values) == 0);
  CHECK(h.count(scopes) == 0);

  // Scope usage: exactly one of --edge, --fleet, --label; an unknown edge is not found.
  auto none = h.cli({"config", "set", "log-level=debug"});
  CHECK(none.code == 2);
  CHECK_THAT(none.err, Catch::Contains("--edge"));
  auto both = h.cli({"config", "set", "--fleet", "--edge", "e1", "log-level=debug"});
  CHECK(both.code == 2);
  auto missing = h.cli({"config", "set", "--edge", "nope", "log-level=debug"});
  CHECK(missing.code == 6);
  CHECK_THAT(missing.err, Catch::Contains("nope"));
  auto noLabel = h.cli({"config", "set", "--label", "nobody", "log-level=debug"});
  CHECK(noLabel.code == 1);
  CHECK_THAT(noLabel.err, Catch::Contains("nobody"));
  auto showLabel = h.cli({"config", "show", "--label", "x"});
  CHECK(showLabel.code == 2);
  CHECK(h.count(values) == 0);
  CHECK(h.count(scopes) == 0);
}

TEST_CASE("edges label add, remove and list, and config set --label on every labelled edge",
          "[dispatcher][cli][config]") {
  DispatcherHarness h(DispatcherHarness::Setup({"e1", "e2", "e3"}));
  addEdges(h, {"e1", "e2", "e3"});

  REQUIRE(h.cli({"edges", "label", "add", "--edge", "e1", "bldg-7", "north"}).code == 0);
  auto again = h.cli({"edges", "label", "add", "--edge", "e1", "bldg-7", "--json"});
  REQUIRE(again.code == 0);
  CHECK(parseJson(again.out)["added"].GetInt64() == 0);
  REQUIRE(h.cli({"edges", "label", "add", "--edge", "e2", "bldg-7"}).code == 0);
  auto unknownEdge = h.cli({"edges", "label", "add", "--edge", "nope", "bldg-7"});
  CHECK(unknownEdge.code == 6);
  auto badLabel = h.cli({"edges", "label", "add", "--edge", "e1", "has space"});
  CHECK(badLabel.code == 2);
  CHECK_THAT(badLabel.err, Catch::Contains("has space"));

  auto byLabel = parseJson(h.cli({"edges", "label", "list", "--label", "bldg-7", "--json"}).out);
  REQUIRE(byLabel.Size() == 2);
  CHECK(std::string(byLabel[0]["edge_id"].GetString()) == "e1");
  CHECK(std::string(byLabel[1]["edge_id"].GetString()) == "e2");
  auto byEdge = h.cli({"edges", "label", "list", "--edge", "e1"});
  CHECK_THAT(byEdge.out, Catch::Contains("bldg-7") && Catch::Contains("north"));
  auto listed = parseJson(h.cli({"edges", "list", "--label", "north", "--json"}).out);
  REQUIRE(listed.Size() == 1);
  CHECK(std::string(listed[0]["edge_id"].GetString()) == "e1");

  auto bulk = h.cli({"config", "set", "--label", "bldg-7", "log-level=warn"});
  REQUIRE(bulk.code == 0);
  CHECK_THAT(bulk.out, Catch::Contains("on 2 edge(s)"));
  CHECK(h.count("SELECT count(*) FROM config_values WHERE key = 'log-level'") == 2);
  CHECK(scopeVersion(h, "e1") > 0);
  CHECK(scopeVersion(h, "e2") > 0);
  CHECK(scopeVersion(h, "e1") != scopeVersion(h, "e2"));  // one new version per scope
  CHECK(scopeVersion(h, "e3") == 0);
  auto e2 = parseJson(h.cli({"config", "show", "--edge", "e2", "--json"}).out);
  CHECK(std::string(e2["values"][0]["source"].GetString()) == "edge");

  auto removed = h.cli({"edges", "label", "remove", "--edge", "e2", "bldg-7", "--json"});
  REQUIRE(removed.code == 0);
  CHECK(parseJson(removed.out)["removed"].GetInt64() == 1);
  auto unsetBulk = h.cli({"config", "unset", "--label", "bldg-7", "log-level", "--json"});
  REQUIRE(unsetBulk.code == 0);
  CHECK(parseJson(unsetBulk.out)["edges"].GetInt64() == 1);
  CHECK(h.count("SELECT count(*) FROM config_values WHERE key = 'log-level'") == 1);
}

TEST_CASE("config push sends config_changed with each edge's desired version on its topic",
          "[dispatcher][cli][config]") {
  DispatcherHarness h(DispatcherHarness::Setup({"e1", "e2"}));
  addEdges(h, {"e1", "e2"});
  REQUIRE(h.cli({"config", "set", "--fleet", "log-level=info"}).code == 0);
  REQUIRE(h.cli({"config", "set", "--edge", "e2", "log-level=debug"}).code == 0);
  const int64_t fleetVersion = scopeVersion(h, "*");
  const int64_t e2Version = scopeVersion(h, "e2");

  auto pushed = h.cli({"config", "push", "--fleet"});
  REQUIRE(pushed.code == 0);
  CHECK_THAT(pushed.out, Catch::Contains("config_changed sent to 2 edge(s)"));

  KafkaTestClient kafka(h.broker().bootstrap());
  for (const auto& [edge, version] :
       std::vector<std::pair<std::string, int64_t>>{{"e1", fleetVersion}, {"e2", e2Version}}) {
    auto records = kafka.readFromStart(h.topic(edge), 1, 15000);
    REQUIRE(records.size() == 1);
    CHECK(records[0].key == edge);
    auto doc = parseJson(records[0].value);
    REQUIRE(doc.HasMember("event"));
    const auto& event = doc["event"];
    CHECK(std::string(event["type"].GetString()) == "config_changed");
    CHECK(std::string(event["sender"].GetString()) == "cloud_dispatcher");
    CHECK(event["body"]["version"].GetInt64() == version);
    CHECK(records[0].header("edgelink-sig").size() == 1);
  }

  // One edge, as JSON; an unknown one exits 6; a label reaches its edges only.
  auto one = h.cli({"config", "push", "--edge", "e1", "--json"});
  REQUIRE(one.code == 0);
  CHECK(parseJson(one.out).Size() == 1);
  CHECK(kafka.readFromStart(h.topic("e1"), 2, 15000).size() == 2);
  CHECK(h.cli({"config", "push", "--edge", "nope"}).code == 6);
  CHECK(h.cli({"config", "push"}).code == 2);
  REQUIRE(h.cli({"edges", "label", "add", "--edge", "e2", "south"}).code == 0);
  REQUIRE(h.cli({"config", "push", "--label", "south"}).code == 0);
  CHECK(kafka.readFromStart(h.topic("e2"), 2, 15000).size() == 2);
  CHECK(kafka.readFromStart(h.topic("e1"), 3, 3000).size() == 2);

  // Kafka refusing: exit 4.
  const std::string closedPort = std::to_string(freeTcpPort());
  auto down = h.cli({"config", "push", "--edge", "e1", "--kafka-brokers", "127.0.0.1:" + closedPort,
                     "--kafka-timeout", "2"});
  CHECK(down.code == 4);
  CHECK_THAT(down.err, Catch::Contains("config push"));
}

TEST_CASE("edges show lists the applied config version beside the desired one",
          "[dispatcher][cli][config]") {
  DispatcherHarness h(DispatcherHarness::Setup({"e1"}));
  addEdges(h, {"e1"});
  auto before = h.cli({"edges", "show", "e1"});
  REQUIRE(before.code == 0);
  CHECK(detailValue(before.out, "config") == "applied none reported, desired 0");

  REQUIRE(h.cli({"config", "set", "--edge", "e1", "log-level=debug"}).code == 0);
  const int64_t desired = scopeVersion(h, "e1");
  // A heartbeat reporting the version before it.
  h.sql("UPDATE edges SET config_version = " + std::to_string(desired - 1) +
        " WHERE edge_id = 'e1'");
  auto text = h.cli({"edges", "show", "e1"});
  REQUIRE(text.code == 0);
  CHECK(detailValue(text.out, "config") ==
        "applied " + std::to_string(desired - 1) + ", desired " + std::to_string(desired));
  auto json = parseJson(h.cli({"edges", "show", "e1", "--json"}).out);
  CHECK(json["config_version_applied"].GetInt64() == desired - 1);
  CHECK(json["config_version_desired"].GetInt64() == desired);
  auto shown = parseJson(h.cli({"config", "show", "--edge", "e1", "--json"}).out);
  CHECK(shown["version_applied"].GetInt64() == desired - 1);
}
