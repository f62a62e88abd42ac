// Signed requests and answers, the dispatcher's side (issue 12): its keys (`keys`), the requests
// it signs, the boards' keys it registers (`edges add --key`, `edges set-key`) and the answers it
// checks: what does not verify is stored flagged in rejected_messages and changes nothing.
#include <rapidjson/document.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "dispatcher_harness.h"
#include "edge_simulator.h"
#include "harness/kafka_test_client.h"
#include "security/signature.h"
#include "test_messages.h"

using namespace edgelink;
using namespace edgelink::testing;

namespace {

using Headers = KafkaTestClient::Headers;

Headers signedBy(const security::SigningKey& key, const std::string& topic,
                 const std::string& value) {
  auto sig = security::signMessage(key, topic, value);
  return {{std::string(security::kKeyIdHeader), sig.keyId},
          {std::string(security::kSignatureHeader), sig.signature}};
}

std::string heartbeatJson() {
  auto e = envelope::Envelope::event(envelope::Id::generate(), "edge_board", nowMs(), "heartbeat");
  e.set("agent_version", "1.2.3");
  e.set("interval_seconds", 60);
  e.set("uptime_seconds", 42.5);
  e.set("frp_running", false);
  return envelope::encode(e);
}

/// `keys list --json`: key id -> (public key, active).
std::map<std::string, std::pair<std::string, bool>> listKeys(DispatcherHarness& h) {
  auto r = h.cli({"keys", "list", "--json"});
  REQUIRE(r.code == 0);
  rapidjson::Document doc;
  doc.Parse(r.out.c_str());
  REQUIRE(doc.IsArray());
  std::map<std::string, std::pair<std::string, bool>> out;
  for (const auto& k : doc.GetArray()) {
    out[k["key_id"].GetString()] = {k["public_key"].GetString(), k["active"].GetBool()};
  }
  return out;
}

std::string activeKey(DispatcherHarness& h) {
  for (const auto& [id, k] : listKeys(h)) {
    if (k.second) {
      return id;
    }
  }
  return "";
}

}  // namespace

TEST_CASE("keys generate, list, rotate and remove manage the dispatcher's signing keys",
          "[dispatcher][signing]") {
  DispatcherHarness h;  // has made one key, active
  auto first = listKeys(h);
  REQUIRE(first.size() == 1);
  const std::string oldId = first.begin()->first;
  CHECK(first.begin()->second.second);
  CHECK(security::PublicKey::parse(first.begin()->second.first));

  auto generated = h.cli({"keys", "generate"});
  REQUIRE(generated.code == 0);
  CHECK_THAT(generated.out, Catch::Contains("not active"));
  CHECK(activeKey(h) == oldId);

  auto rotated = h.cli({"keys", "rotate", "--json"});
  REQUIRE(rotated.code == 0);
  rapidjson::Document doc;
  doc.Parse(rotated.out.c_str());
  const std::string newId = doc["key_id"].GetString();
  CHECK(activeKey(h) == newId);
  CHECK(listKeys(h).size() == 3);

  auto removeActive = h.cli({"keys", "remove", newId});
  CHECK(removeActive.code == 1);
  CHECK_THAT(removeActive.err, Catch::Contains("active"));
  auto badId = h.cli({"keys", "remove", "not-a-key"});
  CHECK(badId.code == 2);
  CHECK_THAT(badId.err, Catch::Contains("KEYID"));
  auto missing = h.cli({"keys", "remove", "0123456789abcdef"});
  CHECK(missing.code == 6);
  REQUIRE(h.cli({"keys", "remove", oldId}).code == 0);
  CHECK(listKeys(h).count(oldId) == 0);

  struct stat st {};
  REQUIRE(::stat(h.dir().file("keys").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0700);
  const std::string path = h.dir().file("keys/" + newId + ".key");
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  REQUIRE(::chmod(path.c_str(), 0644) == 0);
  auto refused = h.cli({"keys", "list"});
  CHECK(refused.code == 2);
  CHECK_THAT(refused.err, Catch::Contains("chmod 600"));
}

TEST_CASE("a request the CLI sends is signed by the active key, after rotate by the new one",
          "[dispatcher][signing]") {
  DispatcherHarness h;
  const std::string before = activeKey(h);
  REQUIRE(h.cli({"send", "--edge", "e1", "--type", "ping", "--wait", "0"}).code == 0);
  REQUIRE(h.cli({"keys", "rotate"}).code == 0);
  const std::string after = activeKey(h);
  REQUIRE(after != before);
  REQUIRE(h.cli({"send", "--edge", "e1", "--type", "ping", "--wait", "0"}).code == 0);

  security::KeyRing ring;
  for (const auto& [id, k] : listKeys(h)) {
    ring.add(security::PublicKey::parse(k.first).value());
  }
  KafkaTestClient kafka(h.broker().bootstrap());
  auto records = kafka.readFromStart(h.topic("e1"), 2, 20000);
  REQUIRE(records.size() == 2);
  const std::vector<std::string> signers = {before, after};
  for (size_t i = 0; i < 2; ++i) {
    const auto& r = records[i];
    security::FoundHeaders found{r.header(std::string(security::kKeyIdHeader)),
                                 r.header(std::string(security::kSignatureHeader))};
    auto v = ring.verify(h.topic("e1"), r.value, found);
    CHECK(v.valid());
    CHECK(v.keyId == signers[i]);
    // Signed for this edge's topic only.
    CHECK_FALSE(ring.verify(h.topic("e2"), r.value, found).valid());
  }
}

TEST_CASE("with sign-requests on and no key, send refuses naming keys generate",
          "[dispatcher][signing]") {
  DispatcherHarness h({{"e1"}, {"signing-key-dir = \"/nonexistent-edgelink-keys\""}});
  auto r = h.cli({"send", "--edge", "e1", "--type", "ping", "--wait", "0"});
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Catch::Contains("keys generate"));
  CHECK(h.count("SELECT count(*) FROM requests") == 0);
  auto off =
      h.cli({"--sign-requests", "false", "send", "--edge", "e1", "--type", "ping", "--wait", "0"});
  CHECK(off.code == 0);
}

TEST_CASE("edges add --key and set-key register a board's key, a bad key names the option",
          "[dispatcher][signing]") {
  DispatcherHarness h({{"e1", "e2"}});
  EdgeSimulator sim(h.broker().bootstrap(), {"e1", "e2"}, h.topicPrefix());
  auto bad = h.cli({"edges", "add", "e1", "--key", "not-a-key"});
  CHECK(bad.code == 2);
  CHECK_THAT(bad.err, Catch::Contains("--key"));
  REQUIRE(h.cli({"edges", "add", "e1", "--key", sim.publicKey("e1")}).code == 0);
  const auto e1Key = security::PublicKey::parse(sim.publicKey("e1")).value();
  CHECK(h.sql("SELECT key_id FROM edges WHERE edge_id = 'e1'") == e1Key.keyId());
  auto shown = h.cli({"edges", "show", "e1"});
  CHECK_THAT(shown.out, Catch::Contains(e1Key.keyId()));
  CHECK_THAT(h.cli({"edges", "list"}).out, Catch::Contains(e1Key.keyId()));

  auto badSet = h.cli({"edges", "set-key", "e1", "AAAA"});
  CHECK(badSet.code == 2);
  CHECK_THAT(badSet.err, Catch::Contains("KEY"));
  CHECK(h.cli({"edges", "set-key", "nope", sim.publicKey("e2")}).code == 6);
  const std::string pem = h.dir().file("board.pem");
  writeText(pem, security::PublicKey::parse(sim.publicKey("e2")).value().pem());
  REQUIRE(h.cli({"edges", "set-key", "e1", pem}).code == 0);
  CHECK(h.sql("SELECT public_key FROM edges WHERE edge_id = 'e1'") == sim.publicKey("e2"));
}

TEST_CASE("answers that do not verify are stored flagged, change nothing and are counted",
          "[dispatcher][signing]") {
  auto config = kMetricsConfig;
  DispatcherHarness h({{"e1"}, config});
  auto board = security::SigningKey::generate().value();
  auto other = security::SigningKey::generate().value();
  REQUIRE(h.cli({"edges", "add", "e1", "--key", board.publicKey().base64()}).code == 0);
  const int port = startWithMetrics(h);
  REQUIRE(port > 0);
  REQUIRE(h.cli({"send", "--edge", "e1", "--type", "ping", "--wait", "0"}).code == 0);
  const std::string id = h.sql("SELECT id FROM requests WHERE edge_id = 'e1'");
  REQUIRE_FALSE(id.empty());

  KafkaTestClient kafka(h.broker().bootstrap());
  const std::string topic = h.topic("e1");
  const std::string hb = heartbeatJson();
  const std::string answer = responseJson(id, 200);
  kafka.produce(topic, "e1", hb);                                           // unsigned
  kafka.produce(topic, "e1", answer, signedBy(other, topic, answer));       // another board's key
  kafka.produce(topic, "e1", hb, signedBy(board, topic, heartbeatJson()));  // other bytes
  kafka.produce(topic, "e1", hb, signedBy(board, topic + "x", hb));         // another topic
  kafka.produce(topic, "e1", hb, {{std::string(security::kKeyIdHeader), board.keyId()}});
  kafka.produce(topic, "e1", eventJson("agent_stopping"));  // unsigned event
  REQUIRE(h.waitFor("SELECT count(*) FROM rejected_messages WHERE signature IS NOT NULL", "6"));
  CHECK(h.sql("SELECT string_agg(signature, ',' ORDER BY kafka_offset) FROM rejected_messages") ==
        "unsigned,unknown_key,bad_signature,bad_signature,malformed,unsigned");
  CHECK(h.count("SELECT count(*) FROM responses") == 0);
  CHECK(h.count("SELECT count(*) FROM events") == 0);
  CHECK(h.sql("SELECT last_heartbeat_at IS NULL AND last_seen_at IS NULL AND stopped_at IS NULL"
              " FROM edges WHERE edge_id = 'e1'") == "t");
  CHECK(h.sql("SELECT state FROM request_status WHERE id = '" + id + "'") == "pending");
  CHECK(waitSample(port, "edgelink_dispatcher_unverified_messages_total{verdict=\"unsigned\"}", 2));
  CHECK(waitSample(port, "edgelink_dispatcher_unverified_messages_total{verdict=\"bad_signature\"}",
                   2));
  CHECK(waitSample(port, "edgelink_dispatcher_unverified_messages_total{verdict=\"unknown_key\"}",
                   1));
  CHECK(
      waitSample(port, "edgelink_dispatcher_unverified_messages_total{verdict=\"malformed\"}", 1));

  // Signed by the board's key, for this topic: applied.
  kafka.produce(topic, "e1", answer, signedBy(board, topic, answer));
  kafka.produce(topic, "e1", hb, signedBy(board, topic, hb));
  REQUIRE(h.waitFor("SELECT count(*) FROM responses", "1"));
  REQUIRE(h.waitFor("SELECT last_heartbeat_at IS NOT NULL FROM edges WHERE edge_id = 'e1'", "t"));
  CHECK(h.sql("SELECT state FROM request_status WHERE id = '" + id + "'") == "succeeded");
}

TEST_CASE("the simulator's signed answers apply once its key is registered, a replaced key not",
          "[dispatcher][signing]") {
  DispatcherHarness h({{"e1", "e2"}, {"require-signed-answers = true"}});
  EdgeSimulator sim(h.broker().bootstrap(), {"e1", "e2"}, h.topicPrefix());
  REQUIRE(h.cli({"edges", "add", "e1", "--key", sim.publicKey("e1")}).code == 0);
  h.startDaemon();
  CHECK(h.cli({"send", "--edge", "e1", "--type", "ping", "--wait", "20"}).code == 0);
  // e2 has no key and require-signed-answers is on: its answers are refused.
  CHECK(h.cli({"send", "--edge", "e2", "--type", "ping", "--wait", "3"}).code == 3);
  REQUIRE(h.waitFor("SELECT signature FROM rejected_messages WHERE edge_id = 'e2'", "unknown_key"));
  // e1's board replaced by one with e2's key: e1's own answers no longer apply.
  REQUIRE(h.cli({"edges", "set-key", "e1", sim.publicKey("e2")}).code == 0);
  sim.heartbeat("e1");
  REQUIRE(h.waitFor("SELECT count(*) FROM rejected_messages WHERE edge_id = 'e1'", "1"));
  CHECK(h.sql("SELECT last_heartbeat_at IS NULL FROM edges WHERE edge_id = 'e1'") == "t");
  CHECK(sim.problems().empty());
}
