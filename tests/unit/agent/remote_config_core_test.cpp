// AgentCore and the remote configuration, pure: the get_config it asks, what an answer makes it
// do (apply: ApplyConfig and config_applied; refuse: config_refused, the old config kept), and
// config_changed. No seams: actions are read as returned.

#include <algorithm>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "agent_core.h"
#include "envelope/json_util.h"
#include "unit_util.h"

using namespace edgelink;
using namespace edgelink::agent;

namespace {

using test::sent;

const action::ApplyConfig* applyOf(const Actions& actions) {
  for (const Action& a : actions) {
    if (const auto* apply = std::get_if<action::ApplyConfig>(&a)) {
      return apply;
    }
  }
  return nullptr;
}

int64_t num(const envelope::Envelope& e, const char* key) {
  const auto* v = json::member(e.body(), key);
  return v && v->IsInt64() ? v->GetInt64() : -1;
}

struct Board {
  testing::TempDir dir;
  AgentConfig config = makeConfig(dir);
  ManualClock clock;
  AgentCore core{config, clock};
  int64_t offset = 0;

  static AgentConfig makeConfig(const testing::TempDir& dir) {
    AgentOptions o = test::validOptions(dir);
    o.configRefresh = 3600;
    o.configRequestTimeout = 10;
    return validate(o).config;
  }
  /// Begun: returns the get_config asked at start.
  envelope::Envelope begin() {
    auto asked = lastGetConfig(core.begin(AgentState{}, StartupFacts{"board", 7}));
    REQUIRE(asked);
    return std::move(*asked);
  }
  static std::optional<envelope::Envelope> lastGetConfig(const Actions& actions) {
    std::optional<envelope::Envelope> found;
    for (auto& e : sent(actions)) {
      if (e.kind == envelope::Kind::kRequest && e.type == "get_config") {
        found = std::move(e);
      }
    }
    return found;
  }
  Actions message(const std::string& json) {
    return core.onMessage(Inbound{json, 0, offset++, clock.wallMs()});
  }
  Actions answer(const envelope::Envelope& request, int64_t version, const std::string& configJson,
                 const std::string& sender = "cloud_dispatcher") {
    return message(R"({"response":{"id":")" + request.id.str() + R"(","sender":")" + sender +
                   R"(","timestamp":)" + std::to_string(clock.wallMs()) +
                   R"(,"type":"get_config","overall_status_code":"200","body":{"version":)" +
                   std::to_string(version) + R"(,"config":)" + configJson + "}}}");
  }
  std::optional<envelope::Envelope> event(const Actions& actions, const std::string& type) {
    for (auto& e : sent(actions)) {
      if (e.kind == envelope::Kind::kEvent && e.type == type) {
        return std::move(e);
      }
    }
    return std::nullopt;
  }
  /// Runs the timers until the next heartbeat (every send delivered on the way).
  envelope::Envelope heartbeat() {
    for (int i = 0; i < 10; ++i) {
      clock.advanceMs(std::max<int64_t>(0, core.nextDueMono() - clock.monoMs()));
      Actions out = core.onTimers();
      for (const Action& a : out) {
        if (const auto* send = std::get_if<action::Send>(&a)) {
          (void)core.onDelivery(Delivery{send->opaque, Delivery::Outcome::kDelivered, {}, "t[0]"});
        }
      }
      if (auto hb = event(out, "heartbeat")) {
        return std::move(*hb);
      }
    }
    FAIL("no heartbeat");
    return {};
  }
};

}  // namespace

TEST_CASE("core: get_config at start goes to the cloud with the applied version",
          "[agent][remote]") {
  Board b;
  auto asked = b.begin();
  CHECK(asked.recipient == "cloud");
  CHECK(asked.sender == "edge_board");
  CHECK(asked.id.str().rfind("cfg-elevator-0042-", 0) == 0);
  CHECK(num(asked, "applied_version") == 0);
  CHECK(num(b.heartbeat(), "config_version") == 0);
}

TEST_CASE("core: a good answer is applied: ApplyConfig, config_applied, heartbeats carry it",
          "[agent][remote]") {
  Board b;
  auto asked = b.begin();
  (void)b.heartbeat();
  Actions out = b.answer(asked, 4, R"({"heartbeat-interval":5,"max-request-age":30})");
  const auto* apply = applyOf(out);
  REQUIRE(apply);
  CHECK(apply->remote.version == 4);
  CHECK(apply->config.options.heartbeatInterval == 5);
  auto applied = b.event(out, "config_applied");
  REQUIRE(applied);
  CHECK(num(*applied, "version") == 4);
  CHECK(b.core.configVersion() == 4);
  CHECK(b.core.config().options.maxRequestAge == 30);
  // The next heartbeat comes within the new interval (the old one was 60 s).
  const int64_t before = b.clock.monoMs();
  auto hb = b.heartbeat();
  CHECK(b.clock.monoMs() - before <= 5000);
  CHECK(num(hb, "interval_seconds") == 5);
  CHECK(num(hb, "config_version") == 4);
  // The same version again changes nothing; a request older than the new max age is 408.
  CHECK_FALSE(applyOf(b.answer(asked, 4, "{}")));
  auto stale = sent(b.message(R"({"request":{"id":1,"sender":"web_backend","timestamp":)" +
                              std::to_string(b.clock.wallMs() - 40'000) + R"(,"type":"ping"}})"));
  REQUIRE(stale.size() == 1);
  CHECK(stale[0].statusCode == 408);
}

TEST_CASE("core: a refused answer keeps the old config and says why once", "[agent][remote]") {
  Board b;
  auto asked = b.begin();
  Actions out = b.answer(asked, 5, R"({"heartbeat-interval":5,"service":"x=127.0.0.1:1"})");
  CHECK_FALSE(applyOf(out));
  auto refused = b.event(out, "config_refused");
  REQUIRE(refused);
  CHECK(num(*refused, "version") == 5);
  CHECK(json::getString(refused->body(), "reason") ==
        std::string("service: local-only: only the board's own config file may set it"));
  CHECK(b.core.configVersion() == 0);
  CHECK(b.core.config().options.heartbeatInterval == 60);
  // config_changed: asked again at once; the same refusal is not reported twice.
  auto again = Board::lastGetConfig(
      b.message(R"({"event":{"id":"p1","sender":"cloud_dispatcher","timestamp":)" +
                std::to_string(b.clock.wallMs()) + R"(,"type":"config_changed","body":{}}})"));
  REQUIRE(again);
  CHECK(again->id.str() != asked.id.str());
  Actions second = b.answer(*again, 5, R"({"service":"x=127.0.0.1:1"})");
  CHECK_FALSE(b.event(second, "config_refused"));
  CHECK_FALSE(applyOf(second));
}

TEST_CASE("core: answers not awaited are ignored: late, duplicate, another id, our own",
          "[agent][remote]") {
  Board b;
  auto asked = b.begin();
  CHECK_FALSE(applyOf(b.answer(asked, 3, R"({"heartbeat-interval":5})", "edge_board")));
  b.clock.advanceMs(10'000);
  auto retry = Board::lastGetConfig(b.core.onTimers());
  REQUIRE(retry);
  CHECK(retry->id.str() != asked.id.str());
  CHECK_FALSE(applyOf(b.answer(asked, 3, R"({"heartbeat-interval":5})")));  // late
  CHECK(applyOf(b.answer(*retry, 3, R"({"heartbeat-interval":5})")));
  CHECK_FALSE(applyOf(b.answer(*retry, 4, R"({"heartbeat-interval":7})")));  // duplicate
  CHECK(b.core.configVersion() == 3);
}
