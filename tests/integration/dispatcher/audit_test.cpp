// The audit trail of sessions (docs/DISPATCHER.md "Audit trail"): the CLI's operator, a web
// backend's signed and unsigned requests, the daemon's own closes, retention, `audit list`.
#include <pwd.h>
#include <rapidjson/document.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>

#include "dispatcher_harness.h"
#include "edge_simulator.h"
#include "envelope/envelope.h"
#include "harness/kafka_test_client.h"
#include "harness/test_util.h"
#include "online_edges.h"
#include "security/signature.h"
#include "test_messages.h"

using namespace edgelink;
using namespace edgelink::testing;

namespace {

std::string osUser() {
  const passwd* pw = ::getpwuid(::geteuid());
  REQUIRE(pw != nullptr);
  return pw->pw_name;
}

/// "action actor_kind actor key_id" of the rows matching `where`, oldest first, one per line.
std::string rows(DispatcherHarness& h, const std::string& where) {
  return h.sql(
      "SELECT string_agg(concat_ws(' ', action, actor_kind, actor, key_id), E'\\n' ORDER BY id)"
      " FROM session_audit WHERE " +
      where);
}

/// The dispatcher's active signing key: the web backend of these tests signs with it.
security::SigningKey harnessKey(DispatcherHarness& h) {
  h.signingPublicKey();  // throws when there is none
  std::string id = readText(h.dir().file("keys/active"));
  while (!id.empty() && (id.back() == '\n' || id.back() == ' ')) {
    id.pop_back();
  }
  return security::SigningKey::loadFile(h.dir().file("keys/" + id + ".key")).value();
}

std::string webStart(const std::string& id, int sshPort) {
  auto start =
      envelope::Envelope::request(envelope::Id::text(id), "web_backend", nowMs(), "frp_start");
  rapidjson::Value services(rapidjson::kObjectType);
  services.AddMember("ssh", sshPort, start.allocator());
  start.set("services", std::move(services));
  start.set("auto_stop_seconds", 600);
  return envelope::encode(start);
}

KafkaTestClient::Headers signedBy(const security::SigningKey& key, const std::string& topic,
                                  const std::string& value) {
  auto sig = security::signMessage(key, topic, value);
  return {{std::string(security::kKeyIdHeader), sig.keyId},
          {std::string(security::kSignatureHeader), sig.signature}};
}

int jsonArraySize(const std::string& text) {
  rapidjson::Document d;
  d.Parse(text.c_str());
  REQUIRE_FALSE(d.HasParseError());
  REQUIRE(d.IsArray());
  return static_cast<int>(d.Size());
}

}  // namespace

TEST_CASE("session open, extend and close are audited with the OS user, the end by the dispatcher",
          "[dispatcher][audit]") {
  DispatcherHarness h({{"e1"}, {"port-pool = \"31040-31049\""}});
  EdgeSimulator edges(h.broker().bootstrap(), {"e1"}, h.topicPrefix());
  EdgeSimulator::Behaviour answersOnly;  // a real agent's extension says no frp_started
  answersOnly.frpEvents = false;
  edges.setBehaviour("change_frp_client_config", answersOnly);
  markOnline(h, "e1");
  h.startDaemon();
  ::unsetenv("SUDO_USER");
  REQUIRE(h.cli({"session", "open", "--edge", "e1", "--auto-stop", "30m", "--wait", "20"}).code ==
          0);
  auto extended = h.cli({"session", "extend", "--edge", "e1", "--auto-stop", "2h", "--wait", "20"});
  REQUIRE(extended.code == 0);
  CHECK_THAT(extended.out, Catch::Contains("is open until"));
  CHECK(h.sql("SELECT expires_at > now() + interval '1 hour' FROM sessions") == "t");
  CHECK(h.count("SELECT count(*) FROM sessions") == 1);
  const std::string user = osUser();
  ::setenv("SUDO_USER", "alice", 1);  // as sudo sets it
  auto closed = h.cli({"session", "close", "--edge", "e1", "--wait", "20"});
  ::unsetenv("SUDO_USER");
  REQUIRE(closed.code == 0);
  REQUIRE(h.waitFor("SELECT count(*) FROM session_audit WHERE action = 'end'", "1"));
  const std::string sudoUser = user == "alice" ? "alice" : "alice (sudo " + user + ")";
  CHECK(rows(h, "true") == "open cli " + user + "\nextend cli " + user + "\nclose cli " + sudoUser +
                               "\nend system dispatcher");
  // Every row names the session; the CLI's name their request.
  CHECK(h.count("SELECT count(*) FROM session_audit WHERE session_id = 1") == 4);
  CHECK(h.sql("SELECT detail->>'auto_stop_s' FROM session_audit WHERE action = 'extend'") ==
        "7200");
  CHECK(h.sql("SELECT request_id FROM session_audit WHERE action = 'open'") ==
        h.sql("SELECT request_id FROM sessions WHERE session_id = 1"));
  // The close names its stop request, recorded as any request is.
  CHECK(h.count("SELECT count(*) FROM session_audit s JOIN requests r ON r.edge_id = s.edge_id"
                " AND r.id = s.request_id WHERE s.action = 'close'"
                " AND s.request_id <> (SELECT request_id FROM sessions)") == 1);
  CHECK(h.count("SELECT count(DISTINCT request_id) FROM session_audit WHERE actor_kind = 'cli'") ==
        3);
  CHECK(h.sql("SELECT detail->>'auto_stop_s' || ' ' || (detail->'services' ? 'ssh')::text"
              " FROM session_audit WHERE action = 'open'") == "1800 true");
  CHECK(h.sql("SELECT detail->>'reason' FROM session_audit WHERE action = 'end'") == "requested");

  SECTION("audit list filters and names bad arguments") {
    auto all = h.cli({"audit", "list", "--json"});
    REQUIRE(all.code == 0);
    CHECK(jsonArraySize(all.out) == 4);
    auto table = h.cli({"audit", "list", "--edge", "e1"});
    REQUIRE(table.code == 0);
    CHECK_THAT(table.out, Catch::Contains("ACTION"));
    CHECK_THAT(table.out, Catch::Contains("alice (sudo"));
    CHECK(jsonArraySize(h.cli({"audit", "list", "--edge", "e2", "--json"}).out) == 0);
    CHECK(jsonArraySize(h.cli({"audit", "list", "--session", "1", "--json"}).out) == 4);
    CHECK(jsonArraySize(h.cli({"audit", "list", "--session", "2", "--json"}).out) == 0);
    CHECK(jsonArraySize(h.cli({"audit", "list", "--since", "1h", "--json"}).out) == 4);
    h.sql(
        "UPDATE session_audit SET at = now() - interval '2 hours' WHERE action = 'open'"
        " RETURNING 1");
    CHECK(jsonArraySize(h.cli({"audit", "list", "--since", "1h", "--json"}).out) == 3);
    auto newest = h.cli({"audit", "list", "--limit", "1", "--json"});
    CHECK(jsonArraySize(newest.out) == 1);
    CHECK_THAT(newest.out, Catch::Contains("\"action\":\"end\""));

    auto badSince = h.cli({"audit", "list", "--since", "yesterday"});
    CHECK(badSince.code == 2);
    CHECK_THAT(badSince.err, Catch::Contains("--since"));
    auto badSession = h.cli({"audit", "list", "--session=-3"});
    CHECK(badSession.code == 2);
    CHECK_THAT(badSession.err, Catch::Contains("--session"));
    auto notNumber = h.cli({"audit", "list", "--session", "abc"});
    CHECK(notNumber.code == 2);
    CHECK_THAT(notNumber.err, Catch::Contains("--session"));
    auto badEdge = h.cli({"audit", "list", "--edge", "no such edge"});
    CHECK(badEdge.code == 2);
    CHECK_THAT(badEdge.err, Catch::Contains("--edge"));
  }
  CHECK(edges.problems().empty());
}

TEST_CASE("a web backend's signed start is audited with its sender and key id, once",
          "[dispatcher][audit]") {
  // The web backend's own key, trusted through request-signing-keys (its public half only).
  const security::SigningKey backendKey = security::SigningKey::generate().value();
  DispatcherHarness h(DispatcherHarness::Setup(
      {"e1"}, {"request-signing-keys = [\"" + backendKey.publicKey().base64() + "\"]"}));
  EdgeSimulator edges(h.broker().bootstrap(), {"e1"}, h.topicPrefix());
  EdgeSimulator::Behaviour answersOnly;  // the answers tell; no frp events besides
  answersOnly.frpEvents = false;
  edges.setBehaviour("frp_start", answersOnly);
  edges.setBehaviour("frp_stop", answersOnly);
  const security::SigningKey key = harnessKey(h);
  h.startDaemon();
  KafkaTestClient backend(h.broker().bootstrap());
  const std::string topic = h.topic("e1");
  const std::string start = webStart("web-a1", 40122);
  backend.produce(topic, "e1", start, signedBy(backendKey, topic, start));
  REQUIRE(h.waitFor("SELECT state FROM sessions WHERE request_id = 'web-a1'", "active"));
  REQUIRE(h.waitFor("SELECT count(*) FROM session_audit", "1"));
  CHECK(rows(h, "request_id = 'web-a1'") ==
        "open signed_request web_backend " + backendKey.keyId());
  CHECK(h.sql("SELECT detail->>'signature' FROM session_audit WHERE request_id = 'web-a1'") ==
        "valid");

  // Redelivered: no second row. Then an unsigned start with the same ports (an extension) and
  // one signed for another edge's topic; both are audited unsigned, after the redelivery.
  backend.produce(topic, "e1", start, signedBy(backendKey, topic, start));
  const std::string extend = webStart("web-a2", 40122);
  backend.produce(topic, "e1", extend);
  const std::string moved = webStart("web-a3", 40122);
  backend.produce(topic, "e1", moved, signedBy(key, h.topic("e2"), moved));
  // A key nobody configured: unknown, audited unsigned.
  const security::SigningKey stranger = security::SigningKey::generate().value();
  const std::string foreign = webStart("web-a4", 40122);
  backend.produce(topic, "e1", foreign, signedBy(stranger, topic, foreign));
  REQUIRE(h.waitFor("SELECT count(*) FROM session_audit WHERE request_id = 'web-a4'", "1"));
  CHECK(h.sql("SELECT actor_kind || ' ' || (detail->>'signature') || ' ' ||"
              " (detail->>'claimed_key_id') FROM session_audit WHERE request_id = 'web-a4'") ==
        "unsigned_request unknown_key " + stranger.keyId());
  CHECK(h.count("SELECT count(*) FROM session_audit WHERE request_id = 'web-a1'") == 1);
  CHECK(rows(h, "request_id IN ('web-a2', 'web-a3')") ==
        "extend unsigned_request web_backend\nextend unsigned_request web_backend");
  CHECK(h.sql("SELECT string_agg(detail->>'signature', ' ' ORDER BY id) FROM session_audit"
              " WHERE request_id IN ('web-a2', 'web-a3')") == "unsigned bad_signature");
  CHECK(h.sql("SELECT detail->>'claimed_key_id' FROM session_audit WHERE request_id = 'web-a3'") ==
        key.keyId());
  CHECK(h.count("SELECT count(*) FROM session_audit WHERE action = 'extend' AND session_id ="
                " (SELECT session_id FROM sessions WHERE request_id = 'web-a1')") == 3);

  // A stop signed with the dispatcher's own key (signing-key-dir): its close, then the dispatcher's
  // end on the edge's answer.
  auto stop = envelope::Envelope::request(envelope::Id::text("web-stop-1"), "web_backend", nowMs(),
                                          "frp_stop");
  const std::string stopJson = envelope::encode(stop);
  backend.produce(topic, "e1", stopJson, signedBy(key, topic, stopJson));
  REQUIRE(h.waitFor("SELECT count(*) FROM session_audit WHERE action = 'end'", "1"));
  CHECK(rows(h, "action IN ('close', 'end')") ==
        "close signed_request web_backend " + key.keyId() + "\nend system dispatcher");
  CHECK(edges.problems().empty());
}

TEST_CASE("the sweeper's expiry is audited as the dispatcher, retention deletes only older rows",
          "[dispatcher][audit]") {
  DispatcherHarness h(
      {{"e1"}, {"sweep-interval = \"1s\"", "sweep-grace = \"0s\"", "audit-retention = \"30d\""}});
  EdgeSimulator edges(h.broker().bootstrap(), {"e1"}, h.topicPrefix());
  EdgeSimulator::Behaviour shortLived;
  shortLived.expiresInSeconds = 1;
  shortLived.frpEvents = false;  // no frp_stopped: the sweeper ends it
  edges.setBehaviour("change_frp_client_config", shortLived);
  markOnline(h, "e1");
  // Rows from before, some past the retention.
  for (const char* age : {"31 days", "45 days", "29 days", "1 hour"}) {
    h.sql(std::string("INSERT INTO session_audit (at, edge_id, action, actor, actor_kind)"
                      " VALUES (now() - interval '") +
          age + "', 'old', 'close', 'bob', 'cli') RETURNING 1");
  }
  h.startDaemon();
  REQUIRE(h.cli({"session", "open", "--edge", "e1", "--wait", "20"}).code == 0);
  REQUIRE(h.waitFor("SELECT state || ' ' || end_reason FROM sessions", "closed expired"));
  REQUIRE(h.waitFor("SELECT count(*) FROM session_audit WHERE action = 'expire'", "1"));
  CHECK(rows(h, "action = 'expire'") == "expire system dispatcher");
  CHECK(h.sql("SELECT session_id || ' ' || (detail->>'reason') FROM session_audit"
              " WHERE action = 'expire'") == "1 expired");
  REQUIRE(h.waitFor("SELECT count(*) FROM session_audit WHERE edge_id = 'old'", "2"));
  CHECK(h.sql("SELECT string_agg(actor, ',') FROM session_audit WHERE edge_id = 'old'"
              " AND at < now() - interval '30 days'") == "");
  CHECK(h.count("SELECT count(*) FROM session_audit WHERE edge_id = 'e1'") == 2);  // open, expire
  CHECK(h.waitForLog(0, "audit retention: deleted 2 audit rows older than 30d"));
  CHECK(edges.problems().empty());
}
