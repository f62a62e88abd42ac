// Edge->cloud requests (issue 15): how the ingest classifies them and the dispatcher's own
// answers read back, the remote config merge, the registry's 404 and the answer's envelope.
#include "domain/edge_requests.h"

#include <rapidjson/document.h>

#include <catch2/catch.hpp>

#include "domain/model.h"
#include "domain/remote_config.h"
#include "envelope/types.h"

using namespace edgelink;
using namespace edgelink::dispatcher;

namespace {

constexpr int64_t kNow = 1795248000000;  // 2026-11-21T08:00:00Z

struct Fixture {
  Options options;
  envelope::Decoder decoder;
  Batch batch{options};
  std::vector<std::string> payloads;
  int64_t nextOffset = 0;

  Fixture() { REQUIRE(options.validate().empty()); }

  Classified add(const std::string& payload, const std::string& topic = "edge.e1") {
    payloads.push_back(payload);
    RawMessage m;
    m.topic = topic;
    m.offset = nextOffset++;
    m.key = "e1";
    m.payload = payloads.back();
    m.kafkaTimestampMs = kNow;
    return batch.add(m, decoder, kNow);
  }
};

std::string edgeRequest(const std::string& id, const std::string& type = "get_config",
                        const std::string& sender = "edge_board") {
  auto r = envelope::Envelope::request(envelope::Id::text(id), sender, kNow - 5, type);
  r.recipient = envelope::kRecipientCloud;
  if (type == "get_config") {
    r.set("applied_version", int64_t{3});
  }
  return envelope::encode(r);
}

std::string answer(const std::string& id, const std::string& sender) {
  auto a = envelope::Envelope::response(envelope::Id::text(id), "get_config", sender, kNow, 200);
  a.set("version", int64_t{4});
  a.set("config", rapidjson::Value(rapidjson::kObjectType));
  return envelope::encode(a);
}

rapidjson::Document parse(const std::string& json) {
  rapidjson::Document d;
  d.Parse(json.data(), json.size());
  REQUIRE_FALSE(d.HasParseError());
  return d;
}

}  // namespace

TEST_CASE("a request to the cloud becomes an edge request row, not a requests row",
          "[dispatcher][edge_requests]") {
  Fixture f;
  CHECK(f.add(edgeRequest("q1")) == Classified::kEdgeRequest);
  CHECK(f.add(edgeRequest("q1")) == Classified::kDuplicate);  // same edge, sender, id
  CHECK(f.add(edgeRequest("q1", "get_config", "other")) == Classified::kEdgeRequest);
  CHECK(f.batch.requests().empty());
  REQUIRE(f.batch.edgeRequests().size() == 2);
  const EdgeRequestRow& r = f.batch.edgeRequests()[0];
  CHECK(r.topic == "edge.e1");
  CHECK(r.edgeId == "e1");
  CHECK(r.id == "q1");
  CHECK_FALSE(r.idIsNumber);
  CHECK(r.sender == "edge_board");
  CHECK(r.type == "get_config");
  CHECK(r.sentAtMs == kNow - 5);
  CHECK(r.receivedAtMs == kNow);
  CHECK(r.bodyJson == "{\"applied_version\":3}");
  CHECK(r.offset == 0);
  CHECK(f.batch.nextOffsets().at({"edge.e1", 0}) == 3);
  // A request without a recipient is still the cloud's request to the edge.
  CHECK(f.add(envelope::encode(envelope::Envelope::request(envelope::Id::text("p1"), "web_backend",
                                                           kNow, "ping"))) == Classified::kRequest);
  CHECK(f.batch.requests().size() == 1);
}

TEST_CASE("the dispatcher's own answers are skipped and counted, the edge's stored",
          "[dispatcher][edge_requests]") {
  Fixture f;
  CHECK(f.add(answer("q1", f.options.sender)) == Classified::kOwnAnswer);
  CHECK(f.add(answer("q2", "edge_board")) == Classified::kResponse);
  CHECK(f.batch.ownAnswers() == 1);
  REQUIRE(f.batch.responses().size() == 1);
  CHECK(f.batch.responses()[0].id == "q2");
  CHECK(f.batch.messages() == 2);
  CHECK(f.batch.nextOffsets().at({"edge.e1", 0}) == 2);  // skipped, still committed past
  // Another sender name for this dispatcher: its answers are the ones skipped.
  Fixture g;
  g.options.sender = "dispatcher_b";
  CHECK(g.add(answer("q1", "cloud_dispatcher")) == Classified::kResponse);
  CHECK(g.add(answer("q2", "dispatcher_b")) == Classified::kOwnAnswer);
  // `config push`'s config_changed, read back, is the cloud's own too: never an edge event.
  auto pushed =
      envelope::Envelope::event(envelope::Id::generate(), f.options.sender, kNow, "config_changed");
  pushed.set("version", int64_t{4});
  CHECK(f.add(envelope::encode(pushed)) == Classified::kOwnAnswer);
  CHECK(f.batch.ownAnswers() == 2);
  CHECK(f.batch.events().empty());
}

TEST_CASE("a heartbeat's config_version reaches the edge update", "[dispatcher][edge_requests]") {
  Fixture f;
  auto hb = [](std::optional<int64_t> version) {
    auto e = envelope::Envelope::event(envelope::Id::generate(), "edge_board", kNow, "heartbeat");
    e.set("agent_version", "1.0");
    e.set("interval_seconds", int64_t{30});
    if (version) {
      e.set("config_version", *version);
    }
    return envelope::encode(e);
  };
  CHECK(f.add(hb(7)) == Classified::kHeartbeat);
  auto edges = f.batch.edgeUpdates();
  REQUIRE(edges.size() == 1);
  CHECK(edges[0].configVersion == 7);
  Fixture none;
  CHECK(none.add(hb(std::nullopt)) == Classified::kHeartbeat);
  CHECK_FALSE(none.batch.edgeUpdates()[0].configVersion.has_value());
  Fixture bad;  // the schema: a non-negative integer
  CHECK(bad.add(hb(-1)) == Classified::kRejected);
}

TEST_CASE("the remote config: the fleet's values with the edge's over them",
          "[dispatcher][edge_requests]") {
  ConfigScope fleet{5, {{"heartbeat-interval", "60"}, {"log-level", "\"info\""}}};
  ConfigScope edge{3, {{"log-level", "\"debug\""}, {"frps-port", "7000"}}};
  RemoteConfig merged = mergeRemoteConfig(fleet, edge);
  CHECK(merged.version == 5);  // the greater
  CHECK(merged.values.at("heartbeat-interval") == "60");
  CHECK(merged.values.at("log-level") == "\"debug\"");  // the edge's wins
  CHECK(merged.values.at("frps-port") == "7000");
  CHECK_FALSE(merged.fromEdge.at("heartbeat-interval"));
  CHECK(merged.fromEdge.at("log-level"));
  CHECK(mergeRemoteConfig(ConfigScope{2, {}}, ConfigScope{9, {}}).version == 9);
  CHECK(mergeRemoteConfig(std::nullopt, edge).values.size() == 2);
  CHECK(mergeRemoteConfig(fleet, std::nullopt).version == 5);
  RemoteConfig nothing = mergeRemoteConfig(std::nullopt, std::nullopt);
  CHECK(nothing.version == 0);
  CHECK(remoteConfigBody(nothing) == "{\"version\":0,\"config\":{}}");
  auto body = parse(remoteConfigBody(merged));
  CHECK(body["version"].GetInt64() == 5);
  CHECK(body["config"]["heartbeat-interval"].GetInt64() == 60);
  CHECK(std::string(body["config"]["log-level"].GetString()) == "debug");
  CHECK(body["config"].MemberCount() == 3);
}

TEST_CASE("an unknown edge request type is answered 404", "[dispatcher][edge_requests]") {
  auto handlers = EdgeRequestHandlers::builtIn();
  CHECK(handlers.find("get_config") != nullptr);
  CHECK(handlers.find("reboot") == nullptr);
  EdgeAnswer a = unknownTypeAnswer("reboot");
  CHECK(a.statusCode == 404);
  auto body = parse(a.bodyJson);
  CHECK(std::string(body["error"].GetString()).find("unknown request type 'reboot'") == 0);
}

TEST_CASE("the answer is a response of the dispatcher's sender with the request's id",
          "[dispatcher][edge_requests]") {
  EdgeRequestRow q;
  q.edgeId = "e1";
  q.id = "42";
  q.idIsNumber = true;
  q.type = "get_config";
  const std::string bytes = encodeEdgeAnswer(
      q, 200, "{\"version\":4,\"config\":{\"log-level\":\"warn\"}}", "cloud_dispatcher", kNow);
  envelope::Decoder decoder;
  auto env = decoder.decode(bytes);
  REQUIRE(env);
  CHECK(env->kind == envelope::Kind::kResponse);
  CHECK(env->id == envelope::Id::number(42));
  CHECK(env->type == "get_config");
  CHECK(env->sender == "cloud_dispatcher");
  CHECK(env->recipient.empty());
  CHECK(env->statusCode == 200);
  CHECK(env->body()["version"].GetInt64() == 4);
  CHECK(std::string(env->body()["config"]["log-level"].GetString()) == "warn");
  auto notFound = decoder.decode(
      encodeEdgeAnswer(q, 404, unknownTypeAnswer("x").bodyJson, "cloud_dispatcher", kNow));
  REQUIRE(notFound);
  CHECK(notFound->statusCode == 404);
}
