// Edge->cloud requests (issue 15) on real Kafka and PostgreSQL: a board's get_config is answered
// on its topic from config_scopes / config_values (the edge's values over the fleet's), an
// unknown type 404, a redelivered request with the answer stored the first time; the answer read
// back is not stored as a response; a heartbeat's config_version reaches edges.
#include <rapidjson/document.h>

#include <catch2/catch.hpp>
#include <optional>

#include "dispatcher_harness.h"
#include "harness/kafka_test_client.h"
#include "test_messages.h"

using namespace edgelink;
using namespace edgelink::testing;

namespace {

std::string edgeRequestJson(const std::string& id, const std::string& type) {
  auto r = envelope::Envelope::request(envelope::Id::text(id), "edge_board", nowMs(), type);
  r.recipient = envelope::kRecipientCloud;
  if (type == "get_config") {
    r.set("applied_version", int64_t{0});
  }
  return envelope::encode(r);
}

/// The dispatcher's answers to `id` on the topic, in order (waits until `count` records are
/// there).
std::vector<envelope::Envelope> answersTo(KafkaTestClient& kafka, const std::string& topic,
                                          size_t count, const std::string& id) {
  envelope::Decoder decoder;
  std::vector<envelope::Envelope> out;
  for (const auto& rec : kafka.readFromStart(topic, count, 30000)) {
    auto env = decoder.decode(rec.value);
    if (env && env->kind == envelope::Kind::kResponse && env->sender == "cloud_dispatcher" &&
        env->id.str() == id) {
      CHECK(rec.key == "e1");
      out.push_back(std::move(env).value());
    }
  }
  return out;
}

void setConfig(DispatcherHarness& h, const std::string& scope, int64_t version,
               const std::string& key, const std::string& jsonValue) {
  h.sql("INSERT INTO config_scopes (scope, version, updated_by) VALUES ('" + scope + "', " +
        std::to_string(version) +
        ", 'test') ON CONFLICT (scope) DO UPDATE SET version = EXCLUDED.version");
  h.sql("INSERT INTO config_values (scope, key, value, set_by) VALUES ('" + scope + "', '" + key +
        "', '" + jsonValue +
        "', 'test') ON CONFLICT (scope, key) DO UPDATE SET value = " + "EXCLUDED.value");
}

}  // namespace

TEST_CASE("a board's get_config is answered on its topic with the fleet's and its own values",
          "[dispatcher][edge_requests]") {
  DispatcherHarness h;
  setConfig(h, "*", 5, "heartbeat-interval", "60");
  setConfig(h, "*", 5, "log-level", "\"info\"");
  setConfig(h, "e1", 7, "log-level", "\"debug\"");
  setConfig(h, "e2", 9, "log-level", "\"error\"");  // another edge's: not e1's
  h.startDaemon();
  KafkaTestClient kafka(h.broker().bootstrap());
  kafka.produce(h.topic("e1"), "e1", edgeRequestJson("cfg-1", "get_config"));
  auto answers = answersTo(kafka, h.topic("e1"), 2, "cfg-1");
  REQUIRE(answers.size() == 1);
  const auto& a = answers[0];
  CHECK(a.statusCode == 200);
  CHECK(a.type == "get_config");
  CHECK(a.recipient.empty());
  CHECK(a.body()["version"].GetInt64() == 7);
  CHECK(a.body()["config"].MemberCount() == 2);
  CHECK(a.body()["config"]["heartbeat-interval"].GetInt64() == 60);
  CHECK(std::string(a.body()["config"]["log-level"].GetString()) == "debug");
  CHECK(h.sql("SELECT status_code || ' ' || type || ' ' || sender || ' ' || (answer->>'version')"
              " FROM edge_requests WHERE edge_id = 'e1' AND id = 'cfg-1'") ==
        "200 get_config edge_board 7");
  CHECK(h.sql("SELECT body->>'applied_version' FROM edge_requests WHERE id = 'cfg-1'") == "0");
  CHECK(h.count("SELECT count(*) FROM requests WHERE id = 'cfg-1'") == 0);
  // The answer, read back after it, is skipped: an edge's answer produced later is stored and
  // the dispatcher's is not.
  kafka.produce(h.topic("e1"), "e1", responseJson("marker", 200));
  REQUIRE(h.waitFor("SELECT count(*) FROM responses WHERE id = 'marker'", "1"));
  CHECK(h.count("SELECT count(*) FROM responses WHERE id = 'cfg-1'") == 0);
  CHECK(h.count("SELECT count(*) FROM rejected_messages") == 0);

  // The heartbeat's config_version reaches the edge's row.
  auto hb = envelope::Envelope::event(envelope::Id::generate(), "edge_board", nowMs(), "heartbeat");
  hb.set("agent_version", "1.2.3");
  hb.set("interval_seconds", int64_t{30});
  hb.set("config_version", int64_t{7});
  kafka.produce(h.topic("e1"), "e1", envelope::encode(hb));
  REQUIRE(h.waitFor("SELECT config_version FROM edges WHERE edge_id = 'e1'", "7"));
  // A later heartbeat without it (an agent without remote config) leaves it.
  auto old =
      envelope::Envelope::event(envelope::Id::generate(), "edge_board", nowMs(), "heartbeat");
  old.set("agent_version", "1.2.2");
  old.set("interval_seconds", int64_t{30});
  kafka.produce(h.topic("e1"), "e1", envelope::encode(old));
  REQUIRE(h.waitFor("SELECT agent_version FROM edges WHERE edge_id = 'e1'", "1.2.2"));
  CHECK(h.sql("SELECT config_version FROM edges WHERE edge_id = 'e1'") == "7");
}

TEST_CASE("an unknown type is answered 404 and a redelivered request gets its first answer",
          "[dispatcher][edge_requests]") {
  DispatcherHarness h;
  setConfig(h, "*", 3, "log-level", "\"warn\"");
  h.startDaemon();
  KafkaTestClient kafka(h.broker().bootstrap());
  kafka.produce(h.topic("e1"), "e1", edgeRequestJson("x-1", "reboot"));
  auto notFound = answersTo(kafka, h.topic("e1"), 2, "x-1");
  REQUIRE(notFound.size() == 1);
  CHECK(notFound[0].statusCode == 404);
  CHECK(notFound[0].type == "reboot");
  CHECK_THAT(std::string(notFound[0].body()["error"].GetString()),
             Catch::Contains("unknown request type 'reboot'"));
  CHECK(h.sql("SELECT status_code FROM edge_requests WHERE id = 'x-1'") == "404");

  kafka.produce(h.topic("e1"), "e1", edgeRequestJson("cfg-2", "get_config"));
  auto first = answersTo(kafka, h.topic("e1"), 4, "cfg-2");
  REQUIRE(first.size() == 1);
  CHECK(first[0].body()["version"].GetInt64() == 3);
  // The config changes; the same request again (a redelivery) is answered as the first time.
  setConfig(h, "*", 4, "log-level", "\"error\"");
  kafka.produce(h.topic("e1"), "e1", edgeRequestJson("cfg-2", "get_config"));
  auto both = answersTo(kafka, h.topic("e1"), 6, "cfg-2");
  REQUIRE(both.size() == 2);
  CHECK(both[1].statusCode == 200);
  CHECK(both[1].body()["version"].GetInt64() == 3);
  CHECK(std::string(both[1].body()["config"]["log-level"].GetString()) == "warn");
  CHECK(h.count("SELECT count(*) FROM edge_requests WHERE id = 'cfg-2'") == 1);
  // A new request sees the change.
  kafka.produce(h.topic("e1"), "e1", edgeRequestJson("cfg-3", "get_config"));
  auto fresh = answersTo(kafka, h.topic("e1"), 8, "cfg-3");
  REQUIRE(fresh.size() == 1);
  CHECK(fresh[0].body()["version"].GetInt64() == 4);
  CHECK(h.count("SELECT count(*) FROM responses") == 0);
}
