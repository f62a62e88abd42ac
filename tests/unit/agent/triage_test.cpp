// The agent's triage of one message and its decision on a valid request: pure, on a manual
// clock, no Kafka, no daemon.

#include "decisions/triage.h"

#include <catch2/catch.hpp>

#include "core/clock.h"
#include "envelope/json_util.h"
#include "state.h"
#include "unit_util.h"

using namespace edgelink;
using namespace edgelink::agent;

namespace {

std::string requestBytes(int64_t ts, const std::string& type = "ping",
                         const std::string& sender = "web_backend", const std::string& body = "") {
  return R"({"request":{"id":111,"sender":")" + sender + R"(","timestamp":)" + std::to_string(ts) +
         R"(,"type":")" + type + "\"" + (body.empty() ? "" : ",\"body\":" + body) + "}}";
}

struct Fixture {
  ManualClock clock;
  Policy policy;
  envelope::Decoder decoder{envelope::Limits{1024, 32}};
  ProcessedIds processed;

  Triage run(const std::string& bytes, int64_t recordTs = -1, bool held = false,
             std::optional<int64_t> silentBefore = std::nullopt) {
    TriageContext context(policy, decoder);
    context.processed = &processed;
    context.held = held;
    context.silentBeforeMs = silentBefore;
    context.nowMs = clock.wallMs();
    return triage(Inbound{bytes, 0, 5, recordTs}, context);
  }
};

std::string errorOf(const envelope::Envelope& e) {
  const char* v = json::getString(e.body(), "error");
  return v ? v : "";
}

}  // namespace

TEST_CASE("triage: a valid request from someone else is acted on", "[agent][triage]") {
  Fixture f;
  auto t = f.run(requestBytes(f.clock.wallMs()));
  REQUIRE(t.verdict == Verdict::kAct);
  REQUIRE(t.request);
  CHECK(t.id == envelope::Id::number(111));
  CHECK(t.type == "ping");
  CHECK(t.sender == "web_backend");
}

TEST_CASE("triage: responses, events and the agent's own requests are ignored", "[agent][triage]") {
  Fixture f;
  auto own = f.run(requestBytes(f.clock.wallMs(), "ping", "edge_board"));
  CHECK(own.verdict == Verdict::kIgnore);
  auto request = f.run(requestBytes(f.clock.wallMs()));
  REQUIRE(request.verdict == Verdict::kAct);
  auto response = f.run(envelope::encode(pingResponse(*request.request, "edge_board", 0)));
  CHECK(response.verdict == Verdict::kIgnore);
  CHECK(response.reason == "not a request but a response");
}

TEST_CASE("triage: an offset whose answer is being re-sent is ignored without decoding",
          "[agent][triage]") {
  Fixture f;
  CHECK(f.run("not json at all", -1, true).verdict == Verdict::kIgnore);
  CHECK(f.run("not json at all").verdict == Verdict::kDrop);
}

TEST_CASE("triage: an answered id gets its stored response again, decoded or not",
          "[agent][triage]") {
  Fixture f;
  f.processed.add({"web_backend", envelope::Id::number(111), f.clock.wallMs(), "{stored}"});
  auto t = f.run(requestBytes(f.clock.wallMs()));
  CHECK(t.verdict == Verdict::kResend);
  CHECK(t.stored == "{stored}");
  // Stale now, and broken: still the stored answer (never a second, different one).
  f.clock.advanceMs(3'600'000);
  auto broken = f.run(R"({"request":{"id":111,"sender":"web_backend","type":"ping"}})");
  CHECK(broken.verdict == Verdict::kResend);
  CHECK_FALSE(broken.decoded);
  CHECK(f.run(requestBytes(f.clock.wallMs() - 3'600'000)).verdict == Verdict::kResend);
}

TEST_CASE("triage: undecodable requests with a readable id are answered 400, others dropped",
          "[agent][triage]") {
  Fixture f;
  auto t = f.run(R"({"request":{"id":111,"sender":"web_backend","type":"ping"}})");
  REQUIRE(t.verdict == Verdict::kAnswer);
  CHECK(t.response->statusCode == 400);
  CHECK(t.response->id == envelope::Id::number(111));
  CHECK(t.type == "ping");
  auto dropped = f.run(R"({"request":{"sender":"web_backend","type":"ping"}})");
  CHECK(dropped.verdict == Verdict::kDrop);
  CHECK_THAT(dropped.reason, Catch::Contains("no readable request id to answer"));
  // Our own broken request is never answered.
  CHECK(f.run(R"({"request":{"id":1,"sender":"edge_board","type":"ping"}})").verdict ==
        Verdict::kDrop);
}

TEST_CASE("triage: a message over the limit is answered 413 naming both sizes", "[agent][triage]") {
  Fixture f;
  auto t = f.run(requestBytes(f.clock.wallMs(), "ping", "web_backend",
                              "{\"pad\":\"" + std::string(2000, 'x') + "\"}"));
  REQUIRE(t.verdict == Verdict::kAnswer);
  CHECK(t.response->statusCode == 413);
  CHECK_THAT(errorOf(*t.response), Catch::Contains("larger than this edge's limit of 1024 bytes"));
}

TEST_CASE("triage: stale, skewed and unknown requests are refused, never acted on",
          "[agent][triage]") {
  Fixture f;
  const int64_t now = f.clock.wallMs();
  auto stale = f.run(requestBytes(now - f.policy.maxAgeMs - 1));
  REQUIRE(stale.verdict == Verdict::kAnswer);
  CHECK(stale.response->statusCode == 408);
  auto ahead = f.run(requestBytes(now + f.policy.maxSkewMs + 1000));
  REQUIRE(ahead.verdict == Verdict::kAnswer);
  CHECK(ahead.response->statusCode == 400);
  auto unknown = f.run(requestBytes(now, "frobnicate"));
  REQUIRE(unknown.verdict == Verdict::kAnswer);
  CHECK(unknown.response->statusCode == 404);
  CHECK_THAT(errorOf(*unknown.response), Catch::Contains("this agent answers"));
}

TEST_CASE("triage: without a stored position old requests before the start are skipped silently",
          "[agent][triage]") {
  Fixture f;
  const int64_t firstStart = f.clock.wallMs();
  const int64_t old = firstStart - f.policy.maxAgeMs - 5000;
  CHECK(f.run(requestBytes(old), old, false, firstStart - f.policy.maxAgeMs).verdict ==
        Verdict::kSkipSilently);
  // Written after that point (a late producer): answered 408 like any stale request.
  auto late = f.run(requestBytes(old), firstStart, false, firstStart - f.policy.maxAgeMs);
  REQUIRE(late.verdict == Verdict::kAnswer);
  CHECK(late.response->statusCode == 408);
  // Young enough: served.
  CHECK(f.run(requestBytes(firstStart - 1000), firstStart - 1000, false,
              firstStart - f.policy.maxAgeMs)
            .verdict == Verdict::kAct);
}

TEST_CASE("what a valid request asks for: ping's answer, status, stop, a checked start plan",
          "[agent][triage]") {
  testing::TempDir dir;
  AgentConfig config = test::validConfig(dir);
  Fixture f;
  const int64_t now = f.clock.wallMs();
  auto act = [&](const std::string& bytes) {
    auto t = f.run(bytes);
    REQUIRE(t.verdict == Verdict::kAct);
    return decideRequest(*t.request, config, f.policy, now);
  };
  auto ping = act(requestBytes(now));
  REQUIRE(ping.kind == ActionKind::kAnswer);
  CHECK(ping.response->statusCode == 200);
  CHECK(json::member(ping.response->body(), "pong")->GetBool());
  CHECK(act(requestBytes(now, "frp_status")).kind == ActionKind::kStatus);
  CHECK(act(requestBytes(now, "system_info")).kind == ActionKind::kSystemInfo);
  CHECK(act(requestBytes(now, "frp_stop")).kind == ActionKind::kStop);
  auto start = act(requestBytes(now, "frp_start", "web_backend",
                                R"({"services":{"ssh":31022},"auto_stop_seconds":60})"));
  REQUIRE(start.kind == ActionKind::kStart);
  CHECK(start.plan->services.at("ssh").remotePort == 31022);
  CHECK(start.plan->autoStopSeconds == 60);
  auto refused =
      act(requestBytes(now, "frp_start", "web_backend", R"({"services":{"telnet":31023}})"));
  REQUIRE(refused.kind == ActionKind::kAnswer);
  CHECK(refused.response->statusCode == 403);
  test::roundTrip(*refused.response);
}

TEST_CASE("triage: a request with a recipient is addressed to someone else: skipped, unanswered",
          "[agent][triage]") {
  Fixture f;
  const std::string ts = std::to_string(f.clock.wallMs());
  for (const std::string recipient : {"cloud", "elevator-0042"}) {
    auto t = f.run(R"({"request":{"id":"r1","sender":"web_backend","recipient":")" + recipient +
                   R"(","timestamp":)" + ts + R"(,"type":"frp_stop","body":{}}})");
    CHECK(t.verdict == Verdict::kIgnore);
    CHECK_FALSE(t.response);
    CHECK_FALSE(t.request);
    CHECK(t.reason == "a request addressed to '" + recipient + "', not this agent");
  }
  auto ours = f.run(R"({"request":{"id":"r2","sender":"web_backend","timestamp":)" + ts +
                    R"(,"type":"ping"}})");
  CHECK(ours.verdict == Verdict::kAct);
}

TEST_CASE("triage: responses and events from others are handed on, our own are not",
          "[agent][triage]") {
  Fixture f;
  const std::string ts = std::to_string(f.clock.wallMs());
  auto answer = f.run(
      R"({"response":{"id":"cfg-1","sender":"cloud_dispatcher","timestamp":)" + ts +
      R"(,"type":"get_config","overall_status_code":"200","body":{"version":1,"config":{}}}})");
  CHECK(answer.verdict == Verdict::kIgnore);
  REQUIRE(answer.other);
  CHECK(answer.other->id.str() == "cfg-1");
  auto own = f.run(R"({"event":{"id":"e1","sender":"edge_board","timestamp":)" + ts +
                   R"(,"type":"heartbeat","body":{"agent_version":"1","interval_seconds":60}}})");
  CHECK(own.verdict == Verdict::kIgnore);
  CHECK_FALSE(own.other);
}
