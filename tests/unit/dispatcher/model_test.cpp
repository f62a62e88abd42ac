#include "domain/model.h"

#include <catch2/catch.hpp>

#include "envelope/bodies.h"
#include "envelope/frp_command.h"
#include "envelope/types.h"

using namespace edgelink;
using namespace edgelink::dispatcher;

namespace {

constexpr int64_t kNow = 1795248000000;  // 2026-11-21T08:00:00Z

struct Fixture {
  Options options;
  envelope::Decoder decoder;
  Batch batch{options};
  std::vector<std::string> payloads;  // RawMessage views point into these
  int64_t nextOffset = 0;

  Fixture() { REQUIRE(options.validate().empty()); }

  Classified add(const std::string& payload, const std::string& topic = "edge.e1",
                 int64_t kafkaTs = kNow) {
    payloads.push_back(payload);
    RawMessage m;
    m.topic = topic;
    m.partition = 0;
    m.offset = nextOffset++;
    m.key = "e1";
    m.payload = payloads.back();
    m.kafkaTimestampMs = kafkaTs;
    return batch.add(m, decoder, kNow);
  }
};

std::string request(const std::string& id, const std::string& type = "ping", int64_t ts = kNow) {
  return envelope::encode(
      envelope::Envelope::request(envelope::Id::text(id), "web_backend", ts, type));
}

std::string response(const std::string& id, int code, const std::string& type = "ping") {
  auto r = envelope::Envelope::response(envelope::Id::text(id), type, "edge_board", kNow, code);
  if (code == 200 && type == "ping") {
    r.set("pong", true);
  }
  return envelope::encode(r);
}

std::string heartbeat(const std::string& version, int64_t interval) {
  auto e = envelope::Envelope::event(envelope::Id::generate(), "edge_board", kNow, "heartbeat");
  e.set("agent_version", version.c_str());
  e.set("interval_seconds", interval);
  e.set("uptime_seconds", 12.5);
  e.set("frp_running", false);
  return envelope::encode(e);
}

}  // namespace

TEST_CASE("requests, responses and events become rows with the edge from the topic",
          "[dispatcher][model]") {
  Fixture f;
  CHECK(f.add(request("r1")) == Classified::kRequest);
  CHECK(f.add(response("r1", 200)) == Classified::kResponse);
  auto ev =
      envelope::Envelope::event(envelope::Id::text("ev1"), "edge_board", kNow, "agent_stopping");
  ev.set("agent_version", "1.0");
  ev.set("reason", "SIGTERM");
  CHECK(f.add(envelope::encode(ev)) == Classified::kEvent);
  REQUIRE(f.batch.requests().size() == 1);
  REQUIRE(f.batch.responses().size() == 1);
  REQUIRE(f.batch.events().size() == 1);
  const auto& r = f.batch.requests()[0];
  CHECK(r.edgeId == "e1");
  CHECK(r.id == "r1");
  CHECK(r.type == "ping");
  CHECK(r.deadlineMs == kNow + 30000);
  CHECK(r.bodyJson == "{}");
  CHECK(f.batch.responses()[0].statusCode == 200);
  CHECK(f.batch.responses()[0].bodyJson == "{\"pong\":true}");
  CHECK(f.batch.events()[0].type == "agent_stopping");
  auto edges = f.batch.edgeUpdates();
  REQUIRE(edges.size() == 1);
  CHECK(edges[0].stoppedMs == kNow);
  CHECK(f.batch.messages() == 3);
  CHECK(f.batch.nextOffsets().at({"edge.e1", 0}) == 3);
}

TEST_CASE("a batch keeps the first of duplicate requests and responses", "[dispatcher][model]") {
  Fixture f;
  CHECK(f.add(request("r1")) == Classified::kRequest);
  CHECK(f.add(request("r1")) == Classified::kDuplicate);
  CHECK(f.add(response("r1", 200)) == Classified::kResponse);
  CHECK(f.add(response("r1", 500)) == Classified::kDuplicate);
  CHECK(f.add(request("r1"), "edge.e2") == Classified::kRequest);  // another edge: another key
  CHECK(f.batch.requests().size() == 2);
  REQUIRE(f.batch.responses().size() == 1);
  CHECK(f.batch.responses()[0].statusCode == 200);
  CHECK(f.batch.messages() == 5);  // duplicates still move the offsets
  CHECK(f.batch.nextOffsets().at({"edge.e1", 0}) == 4);
  CHECK(f.batch.nextOffsets().at({"edge.e2", 0}) == 5);
}

TEST_CASE("heartbeats fold into one edge update and are not event rows", "[dispatcher][model]") {
  Fixture f;
  CHECK(f.add(heartbeat("1.0", 60), "edge.e1", kNow - 2000) == Classified::kHeartbeat);
  CHECK(f.add(heartbeat("1.1", 30), "edge.e1", kNow - 1000) == Classified::kHeartbeat);
  CHECK(f.add(heartbeat("0.9", 10), "edge.e1", kNow - 5000) == Classified::kHeartbeat);  // older
  CHECK(f.batch.events().empty());
  CHECK(f.batch.heartbeats() == 3);
  auto edges = f.batch.edgeUpdates();
  REQUIRE(edges.size() == 1);
  CHECK(edges[0].lastHeartbeatMs == kNow - 1000);
  CHECK(edges[0].agentVersion == std::optional<std::string>("1.1"));
  CHECK(edges[0].intervalSeconds == 30);
  CHECK(edges[0].frpRunning == false);
  CHECK(edges[0].firstSeenMs == kNow - 5000);
  CHECK(edges[0].lastSeenMs == kNow - 1000);
}

TEST_CASE("the newest heartbeat's metrics are the edge's, written by the typed model",
          "[dispatcher][model]") {
  Fixture f;
  auto withMetrics = [](uint64_t starts) {
    auto e = envelope::Envelope::event(envelope::Id::generate(), "edge_board", kNow, "heartbeat");
    envelope::body::Heartbeat hb;
    hb.agentVersion = "1.4.0";
    hb.intervalSeconds = 60;
    hb.metrics = envelope::body::AgentMetrics{};
    hb.metrics->requests[envelope::request_outcome::kOk] = 7;
    hb.metrics->frpcStarts = starts;
    hb.metrics->clockOffsetMs = -12;
    envelope::body::write(hb, e);
    return envelope::encode(e);
  };
  CHECK(f.add(withMetrics(2), "edge.e1", kNow - 2000) == Classified::kHeartbeat);
  CHECK(f.add(withMetrics(1), "edge.e1", kNow - 3000) == Classified::kHeartbeat);  // older
  // A heartbeat without metrics (an older agent) is newer but leaves them.
  CHECK(f.add(heartbeat("1.3", 60), "edge.e1", kNow - 1000) == Classified::kHeartbeat);
  auto edges = f.batch.edgeUpdates();
  REQUIRE(edges.size() == 1);
  CHECK(edges[0].lastHeartbeatMs == kNow - 1000);
  CHECK(edges[0].agentMetricsMs == kNow - 2000);
  CHECK(edges[0].agentMetricsJson ==
        std::optional<std::string>(R"({"requests":{"ok":7},"frpc_starts":2,)"
                                   R"("frpc_unexpected_exits":0,"kafka_reconnects":0,)"
                                   R"("outbox_depth":0,"clock_offset_ms":-12})"));
  Fixture old;
  CHECK(old.add(heartbeat("1.3", 60)) == Classified::kHeartbeat);
  CHECK_FALSE(old.batch.edgeUpdates()[0].agentMetricsJson);
  CHECK_FALSE(old.batch.edgeUpdates()[0].agentMetricsMs);
}

TEST_CASE("undecodable messages become rejected rows that keep what could be read",
          "[dispatcher][model]") {
  Fixture f;
  CHECK(f.add("not json at all") == Classified::kRejected);
  CHECK(f.add("{\"request\":{\"id\":7,\"sender\":\"web\",\"timestamp\":true,\"type\":\"ping\"}}") ==
        Classified::kRejected);
  std::string huge(70 * 1024, 'x');
  CHECK(f.add(huge) == Classified::kRejected);
  REQUIRE(f.batch.rejected().size() == 3);
  const auto& typed = f.batch.rejected()[1];
  CHECK(typed.field == "request.timestamp");
  CHECK(typed.messageId == "7");
  CHECK(typed.kind == "request");
  CHECK(typed.edgeId == std::optional<std::string>("e1"));
  const auto& big = f.batch.rejected()[2];
  CHECK(big.statusCode == 413);
  CHECK(big.payloadBytes == 70 * 1024);
  CHECK(big.payload.size() == kRejectedPayloadBytes);
  CHECK(f.batch.nextOffsets().at({"edge.e1", 0}) == 3);  // never blocks the partition
}

TEST_CASE("Kafka's time files messages capped at now and deadlines run from when it was sent",
          "[dispatcher][model]") {
  CHECK(seenAt(kNow - 5000, kNow) == kNow - 5000);
  CHECK(seenAt(kNow + 60000, kNow) == kNow);  // a clock ahead of ours
  CHECK(seenAt(-1, kNow) == kNow);
  CHECK(deadlineOf(kNow - 1000, kNow, 30) == kNow + 29000);
  CHECK(deadlineOf(kNow + 3600000, kNow, 30) == kNow + 30000);  // a sender clock in the future
  Fixture f;
  f.options.typeDeadlines = {"frp_start=90s"};
  REQUIRE(f.options.validate().empty());
  auto req = envelope::Envelope::request(envelope::Id::number(5), "web_backend", kNow, "frp_start");
  rapidjson::Value services(rapidjson::kObjectType);
  services.AddMember("ssh", 31022, req.allocator());
  req.set("services", std::move(services));
  CHECK(f.add(envelope::encode(req)) == Classified::kRequest);
  const auto& r = f.batch.requests()[0];
  CHECK(r.deadlineMs == kNow + 90000);
  CHECK(r.idIsNumber);
  REQUIRE(r.frp);
  CHECK(r.frp->action == envelope::FrpAction::kStart);
  CHECK(r.frp->services.at("ssh") == 31022);
}

TEST_CASE("a topic outside the prefix takes its edge from the key, or is rejected",
          "[dispatcher][model]") {
  Fixture f;
  CHECK(f.add(request("r1"), "custom-topic") == Classified::kRequest);  // key "e1"
  CHECK(f.batch.requests()[0].edgeId == "e1");
  Fixture g;
  g.payloads.push_back(request("r2"));
  RawMessage m;
  m.topic = "custom-topic";
  m.key = "not an edge id";
  m.payload = g.payloads.back();
  CHECK(g.batch.add(m, g.decoder, kNow) == Classified::kRejected);
  CHECK_THAT(g.batch.rejected()[0].reason, Catch::Contains("cannot tell the edge"));
}

TEST_CASE("frp state is read from answers and events", "[dispatcher][model]") {
  rapidjson::Document d;
  d.Parse(
      R"({"state":"running","services":{"ssh":{"remote_port":31022},"fcc_web":{"remote_port":31023}},
              "started_at":"2026-11-21T08:00:00.000Z","expires_at":1795251600000,
              "request_id":111,"stop_reason":"auto_stop","extended":true})");
  auto info = readFrpInfo(d);
  CHECK(info.state == "running");
  CHECK(info.services.size() == 2);
  CHECK(info.services.at("fcc_web") == 31023);
  CHECK(info.startedAtMs == kNow);
  CHECK(info.expiresAtMs == 1795251600000);
  CHECK(info.requestId == std::optional<std::string>("111"));
  CHECK(info.stopReason == "auto_stop");
  CHECK(info.extended);
  rapidjson::Document empty;
  empty.Parse("{}");
  auto none = readFrpInfo(empty);
  CHECK(none.services.empty());
  CHECK_FALSE(none.requestId);
}

TEST_CASE("an edge row is rewritten for news or a last_seen that moved, not for every message",
          "[dispatcher][model]") {
  EdgeUpdate u;
  u.edgeId = "e1";
  u.lastSeenMs = kNow;
  CHECK(edgeWriteNeeded(u, std::nullopt));  // never written by this process
  CHECK_FALSE(edgeWriteNeeded(u, kNow - 2000));
  CHECK(edgeWriteNeeded(u, kNow - kLastSeenResolutionMs));
  EdgeUpdate heartbeat = u;
  heartbeat.lastHeartbeatMs = kNow;
  CHECK(edgeWriteNeeded(heartbeat, kNow));
  EdgeUpdate stopping = u;
  stopping.stoppedMs = kNow;
  CHECK(edgeWriteNeeded(stopping, kNow));
  EdgeUpdate requestOnly;
  requestOnly.edgeId = "e1";
  CHECK_FALSE(edgeWriteNeeded(requestOnly, 0));
}

TEST_CASE("an stcp start is stored with its secret redacted and still reads as a command",
          "[dispatcher][model][stcp]") {
  Fixture f;
  const std::string secret = "q3Jx0m8ZbV2yH7tWn4cLr9sKd1fG6pAe5uQiOzXjB-_";
  auto req = envelope::Envelope::request(envelope::Id::text("s1"), "web_backend", kNow,
                                         envelope::request_type::kFrpStart);
  envelope::FrpCommand cmd;
  cmd.mode = envelope::FrpMode::kStcp;
  cmd.secretKey = secret;
  cmd.services = {{"ssh", 0}};
  envelope::writeCanonicalFrpBody(req, cmd);
  REQUIRE(f.add(envelope::encode(req)) == Classified::kRequest);
  const auto& r = f.batch.requests()[0];
  CHECK(r.bodyJson.find(secret) == std::string::npos);
  CHECK_THAT(r.bodyJson, Catch::Contains(envelope::kRedactedSecretKey));
  REQUIRE(r.frp);
  CHECK(r.frp->mode == envelope::FrpMode::kStcp);
  rapidjson::Document stored;
  stored.Parse(r.bodyJson.c_str());
  auto back = envelope::readFrpCommand(envelope::request_type::kFrpStart, stored);
  REQUIRE(back.ok());
  CHECK(back->services == cmd.services);

  // An stcp answer's services have no port: read as 0.
  rapidjson::Document d;
  d.Parse(R"({"state":"running","services":{"ssh":{"type":"stcp","proxy_name":"e1.ssh"}}})");
  CHECK(readFrpInfo(d).services == std::map<std::string, int>{{"ssh", 0}});
}
