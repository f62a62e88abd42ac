// Bad input through the real agent binary: no message of any size or shape stops it, and every
// request whose id can be read gets its 4xx answer (issue #9).
#include <catch2/catch.hpp>

#include "agent_harness.h"
#include "envelope/json_util.h"

using namespace edgelink;
using namespace edgelink::testing;

namespace {

std::string str(const envelope::Envelope& e, const char* key) {
  const char* v = json::getString(e.body(), key);
  return v ? v : "";
}

/// A start request for ssh padded to `bytes` bytes in all.
std::string paddedStart(const std::string& id, size_t bytes) {
  const std::string head = R"({"request":{"id":")" + id +
                           R"(","sender":"web_backend","timestamp":"2026-11-21T08:00:00Z",)"
                           R"("type":"frp_start","body":{"services":{"ssh":31022},"pad":")";
  const std::string tail = "\"}}}";
  return head + std::string(bytes - head.size() - tail.size(), 'p') + tail;
}

void requirePingAnswered(AgentUnderTest& agent) {
  auto ping = agent.response(agent.send("ping"));
  REQUIRE(ping.statusCode == 200);
}

}  // namespace

namespace {

/// A topic accepting messages far larger than the agents' limit, as a topic made without
/// `edges add` (or with its limit raised) may: the agent must not depend on the broker.
constexpr int64_t kLargeTopicBytes = 8 * 1024 * 1024;

AgentSetup largeTopic() {
  AgentSetup setup;
  setup.topicConfigs["max.message.bytes"] = std::to_string(kLargeTopicBytes);
  return setup;
}

/// The largest request the broker stores on the agent's topic: on real Kafka the topic's
/// max.message.bytes less the record batch overhead (found by asking the broker), on the mock
/// 3 MiB (it keeps at most 5 MB per partition and drops older messages past that).
size_t brokersMaximum(AgentUnderTest& agent) {
  if (agent.broker().isMock()) {
    return 3 * 1024 * 1024;
  }
  // One byte more than the topic's limit is refused; the batch overhead and the signature
  // headers (about 130 bytes) are under 400 bytes.
  CHECK_THROWS_AS(agent.produceRaw(paddedStart("over-limit", kLargeTopicBytes + 1)),
                  ProduceRefused);
  size_t ok = kLargeTopicBytes - 400;
  size_t refused = kLargeTopicBytes + 1;
  while (refused - ok > 1) {  // a few probes; every accepted probe is a request to answer
    const size_t mid = ok + (refused - ok) / 2;
    try {
      agent.produceRaw(paddedStart("probe-" + std::to_string(mid), mid));
      ok = mid;
    } catch (const ProduceRefused&) {
      refused = mid;
    }
  }
  return ok;
}

}  // namespace

TEST_CASE(
    "oversize requests of 65 KiB to the broker's maximum are answered 413 and the agent goes on",
    "[agent][bad-input]") {
  AgentUnderTest agent(largeTopic());
  agent.start();
  const size_t maximum = brokersMaximum(agent);
  INFO("the broker's maximum: " << maximum << " bytes");
  for (size_t bytes : {size_t{65 * 1024 + 1}, size_t{400 * 1024}, size_t{1024 * 1024}, maximum}) {
    INFO(bytes << " bytes");
    const std::string id = "big-" + std::to_string(bytes);
    agent.produceRaw(paddedStart(id, bytes));
    auto r = agent.response(envelope::Id::text(id));
    CHECK(r.statusCode == 413);
    CHECK_THAT(str(r, "error"), Catch::Contains(std::to_string(bytes) + " bytes"));
    CHECK_THAT(str(r, "error"), Catch::Contains("65536"));
    requirePingAnswered(agent);
  }
  CHECK(agent.frpcStarts().empty());
  // The id whose JSON is also broken, and the id at the end of the message: still answered.
  agent.produceRaw(paddedStart("big-broken", 300 * 1024).substr(0, 200 * 1024));
  CHECK(agent.response(envelope::Id::text("big-broken")).statusCode == 413);
  agent.produceRaw(R"({"request":{"body":{"pad":")" + std::string(500 * 1024, 'q') +
                   R"("},"type":"ping","sender":"web_backend","timestamp":0,"id":"id-last"}})");
  CHECK(agent.response(envelope::Id::text("id-last")).statusCode == 413);
  // No readable id: dropped with a line naming topic, partition and offset.
  agent.produceRaw(std::string(200 * 1024, '['));
  requirePingAnswered(agent);
  CHECK_THAT(agent.agentLog(), Catch::Contains("dropped a message of 204800 bytes at " +
                                               agent.topic() + "[0] offset"));
  CHECK(agent.running());
}

TEST_CASE("a record batch larger than receive.message.max.bytes is skipped, not a stall",
          "[agent][bad-input]") {
  AgentUnderTest agent(largeTopic());
  // A small receive limit stands for a topic that accepts more than the agent's 64 MiB.
  agent.start({"--kafka-property", "receive.message.max.bytes=1048576"});
  agent.produceRaw(paddedStart("fits", 900 * 1024));
  CHECK(agent.response(envelope::Id::text("fits")).statusCode == 413);
  // Two of the same size in a row: librdkafka would report the second refusal only 30 s later
  // on the same connection.
  agent.produceRaw(paddedStart("huge-1", 2 * 1024 * 1024));
  agent.produceRaw(paddedStart("huge-2", 2 * 1024 * 1024));
  auto after = agent.send("ping");
  auto ping = agent.response(after, 15000);
  CHECK(ping.statusCode == 200);
  CHECK(agent.responseCount(envelope::Id::text("huge-1")) == 0);
  const std::string log = agent.agentLog();
  const std::string line = "dropped the record batch at " + agent.topic() + "[0] offset ";
  size_t drops = 0;
  for (size_t at = log.find(line); at != std::string::npos; at = log.find(line, at + 1)) {
    ++drops;
  }
  CHECK(drops == 2);
  // The position moved past them: a restart does not stall on them again.
  REQUIRE(agent.stop() == 0);
  agent.start({"--kafka-property", "receive.message.max.bytes=1048576"});
  requirePingAnswered(agent);
  CHECK(agent.running());
}

TEST_CASE("requests that fail before the schema are answered 400 when their id can be read",
          "[agent][bad-input]") {
  AgentUnderTest agent;
  agent.start();
  const std::string head =
      R"({"request":{"id":"ID","sender":"web_backend","timestamp":"2026-11-21T08:00:00Z","type":"ping",)";
  auto with = [&](const std::string& id, const std::string& rest) {
    std::string h = head;
    h.replace(h.find("ID"), 2, id);
    return h + rest;
  };
  struct Row {
    std::string id;
    std::string bytes;
    std::string errorPart;
  };
  std::string deep = R"("body":{"a":)" + std::string(40, '[') + std::string(40, ']') + "}}}";
  const std::vector<Row> rows = {
      {"truncated", with("truncated", R"("body":{"x":[1,2)"), "invalid JSON at byte"},
      {"trailing", with("trailing", R"("body":{}}} {"more":1})"), "unexpected data after"},
      {"raw-newline", with("raw-newline", "\"description\":\"a\nb\",\"body\":{}}}"),
       "invalid JSON at byte"},
      {"bad-utf8", with("bad-utf8", "\"description\":\"\xff\xfe\",\"body\":{}}}"), "invalid UTF-8"},
      {"overlong-utf8", with("overlong-utf8", "\"description\":\"\xe0\x80\xaf\",\"body\":{}}}"),
       "invalid UTF-8"},
      {"nul-escape", with("nul-escape", R"("description":"a\u0000","body":{}}})"), "NUL"},
      {"lone-surrogate", with("lone-surrogate", R"("description":"\udfff","body":{}}})"),
       "lone surrogate"},
      {"1e400", with("1e400", R"("body":{"n":1e400}}})"), "Number too big"},
      {"deep", with("deep", deep), "nesting deeper than 32"},
  };
  for (const auto& row : rows) {
    agent.produceRaw(row.bytes);
  }
  for (const auto& row : rows) {
    INFO(row.id);
    auto r = agent.response(envelope::Id::text(row.id));
    CHECK(r.statusCode == 400);
    CHECK_THAT(str(r, "error"), Catch::Contains(row.errorPart));
    CHECK(r.type == "ping");
  }
  requirePingAnswered(agent);
}

TEST_CASE("unnamed services, out-of-range ports and bad bodies get 4xx answers naming the field",
          "[agent][bad-input]") {
  AgentUnderTest agent;
  agent.start();
  auto unnamed = agent.response(agent.send("frp_start", R"({"services":{"telnet":31023}})"));
  CHECK(unnamed.statusCode == 403);
  CHECK(str(unnamed, "field") == "request.body.services.telnet");

  auto range = agent.response(
      agent.send("change_frp_client_config",
                 R"({"edge_ssh_remote_port":80,"actions":[{"name":"start_frp_client_service"}]})"));
  CHECK(range.statusCode == 403);
  CHECK(str(range, "field") == "request.body.edge_ssh_remote_port");
  CHECK_THAT(str(range, "error"), Catch::Contains("30000-39999"));

  auto badType = agent.response(agent.send("frp_start", R"({"services":{"ssh":"31022"}})"));
  CHECK(badType.statusCode == 400);
  CHECK(str(badType, "field") == "request.body.services.ssh");

  auto unknown = agent.response(agent.send("reboot_now"));
  CHECK(unknown.statusCode == 404);
  CHECK(str(unknown, "field") == "request.type");

  // Undecodable, but the id can be read: answered.
  agent.produceRaw(R"({"request":{"id":"bad-ts","sender":"web_backend","timestamp":true,
      "type":"ping"}})");
  auto badTs = agent.response(envelope::Id::text("bad-ts"));
  CHECK(badTs.statusCode == 400);
  CHECK(str(badTs, "field") == "request.timestamp");

  // Larger than max-message-bytes: not acted on, answered 413 when the id can be read.
  agent.produceRaw(requestJson(
      envelope::Id::text("big"), "frp_start",
      R"({"services":{"ssh":31022},"padding":")" + std::string(70000, 'x') + "\"}", nowMs()));
  auto big = agent.response(envelope::Id::text("big"));
  CHECK(big.statusCode == 413);
  CHECK_THAT(str(big, "error"), Catch::Contains("65536"));

  // Not even JSON: logged and skipped; the next request is still served.
  agent.produceRaw("\x01not json at all{{{");
  auto ping = agent.response(agent.send("ping"));
  CHECK(ping.statusCode == 200);
  CHECK_THAT(agent.agentLog(), Catch::Contains("no readable request id to answer"));
  CHECK(agent.frpcStarts().empty());
  CHECK(agent.running());
}
