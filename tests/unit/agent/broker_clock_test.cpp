// Broker time instead of the board's wall clock: the estimate from the agent's own heartbeats
// (BrokerClock), the judgement of a request against it (checkTimestamp with a TimeBasis), and
// AgentCore learning it from a heartbeat read back with a LogAppendTime timestamp while its
// injected wall clock is hours off.

#include "decisions/broker_clock.h"

#include <catch2/catch.hpp>
#include <string>

#include "agent_core.h"
#include "core/clock.h"
#include "envelope/json_util.h"
#include "unit_util.h"

using namespace edgelink;
using namespace edgelink::agent;

namespace {

constexpr int64_t kHourMs = 3'600'000;

std::string pingBytes(int64_t id, int64_t timestampMs) {
  return R"({"request":{"id":)" + std::to_string(id) + R"(,"sender":"web_backend","timestamp":)" +
         std::to_string(timestampMs) + R"(,"type":"ping"}})";
}

using test::sent;

std::string errorOf(const envelope::Envelope& e) {
  const char* v = json::getString(e.body(), "error");
  return v ? v : "";
}

/// An agent whose wall clock is `wallOffMs` off the broker's (the broker's time is `brokerMs`
/// at monotonic time 1'000'000), begun, its first heartbeat sent (not yet read back).
struct Skewed {
  testing::TempDir dir;
  AgentConfig config = test::validConfig(dir);
  int64_t brokerAtStart = 1'790'000'000'000;
  ManualClock clock;
  AgentCore core{config, clock};
  std::string heartbeatBytes;
  int64_t nextOffset = 10;

  explicit Skewed(int64_t wallOffMs) : clock(1'790'000'000'000 + wallOffMs, 1'000'000) {
    Actions all = core.begin(AgentState{}, StartupFacts{"board", 7});
    Actions timers = core.onTimers();
    heartbeatBytes = lastHeartbeat(timers);
    all.insert(all.end(), timers.begin(), timers.end());
    deliver(all);
  }
  void deliver(const Actions& actions) {
    for (const Action& a : actions) {
      if (const auto* send = std::get_if<action::Send>(&a)) {
        (void)core.onDelivery(Delivery{send->opaque, Delivery::Outcome::kDelivered, {}, "t[0]"});
      }
    }
  }
  int64_t brokerNow() const { return brokerAtStart + clock.monoMs() - 1'000'000; }
  static std::string lastHeartbeat(const Actions& actions) {
    std::string bytes;
    for (const Action& a : actions) {
      if (const auto* send = std::get_if<action::Send>(&a)) {
        if (send->value.find("\"heartbeat\"") != std::string::npos) {
          bytes = send->value;
        }
      }
    }
    return bytes;
  }
  /// The heartbeat read back `ms` after it was sent, appended by the broker halfway.
  void echo(int64_t ms, bool logAppendTime = true) {
    REQUIRE_FALSE(heartbeatBytes.empty());
    const int64_t appended = brokerNow() + ms / 2;
    clock.advanceMs(ms);
    Inbound m{heartbeatBytes, 0, nextOffset++, appended};
    m.logAppendTime = logAppendTime;
    (void)core.onMessage(m);
  }
  /// A ping dated `ageMs` ago in broker time, appended `appendedAgoMs` ago (LogAppendTime).
  envelope::Envelope ping(int64_t ageMs, int64_t appendedAgoMs = 0) {
    Inbound m{"", 0, nextOffset, brokerNow() - appendedAgoMs};
    std::string bytes = pingBytes(nextOffset++, brokerNow() - ageMs);
    m.payload = bytes;
    m.logAppendTime = true;
    Actions actions = core.onMessage(m);
    deliver(actions);
    auto out = sent(actions);
    REQUIRE(out.size() == 1);
    return std::move(out[0]);
  }
};

}  // namespace

TEST_CASE("broker clock: unknown until one of its own heartbeats comes back",
          "[agent][broker-clock]") {
  BrokerClock b;
  CHECK_FALSE(b.known());
  CHECK_FALSE(b.brokerNowMs(5000));
  b.sent("hb-1", 1000);
  CHECK_FALSE(b.echoed("someone-else", 9'000'000, 1100));  // not ours
  CHECK_FALSE(b.known());
  CHECK(b.echoed("hb-1", 9'000'000, 1100));
  REQUIRE(b.known());
  // Appended halfway through the 100 ms round trip: broker 9'000'000 at monotonic 1050.
  CHECK(b.brokerNowMs(2050) == int64_t{9'001'000});
  CHECK(b.uncertaintyMs() == 50);
  CHECK(b.wallOffsetMs(9'001'000 + 5 * kHourMs, 2050) == int64_t{5 * kHourMs});
  CHECK_FALSE(b.echoed("hb-1", 9'000'000, 1100));  // read twice: counted once
}

TEST_CASE("broker clock: a heartbeat held back longer than the round-trip limit teaches nothing",
          "[agent][broker-clock]") {
  BrokerClock b(30'000);
  b.sent("hb-1", 0);
  CHECK_FALSE(b.echoed("hb-1", 9'000'000, 30'001));
  CHECK_FALSE(b.known());
}

TEST_CASE("broker clock: a closer sample replaces a wider one, a wider one only an old one",
          "[agent][broker-clock]") {
  BrokerClock b;
  b.sent("a", 0);
  REQUIRE(b.echoed("a", 1'000'000, 1000));  // +/- 500
  b.sent("b", 2000);
  CHECK(b.echoed("b", 1'002'100, 2200));  // +/- 100: replaces
  CHECK(b.brokerNowMs(2100) == int64_t{1'002'100});
  b.sent("c", 3000);
  CHECK_FALSE(b.echoed("c", 1'004'000, 5000));  // +/- 1000: kept out
  CHECK(b.brokerNowMs(2100) == int64_t{1'002'100});
  const int64_t later = 2200 + BrokerClock::kRefreshAfterMs;
  b.sent("d", later);
  CHECK(b.echoed("d", 2'000'000, later + 2000));  // the last sample is old: any new one
  CHECK(b.brokerNowMs(later + 1000) == int64_t{2'000'000});
}

TEST_CASE("broker clock: only the latest heartbeats are remembered", "[agent][broker-clock]") {
  BrokerClock b;
  for (size_t i = 0; i <= BrokerClock::kMaxPending; ++i) {
    b.sent("hb-" + std::to_string(i), static_cast<int64_t>(i));
  }
  CHECK_FALSE(b.echoed("hb-0", 1000, 20));
  CHECK(b.echoed("hb-" + std::to_string(BrokerClock::kMaxPending), 1000, 20));
}

TEST_CASE("timestamp check on broker time: appended longer ago than max age is stale",
          "[agent][broker-clock][policy]") {
  Policy policy;
  const int64_t now = 1'790'000'000'000;
  auto request = envelope::Envelope::request(envelope::Id::number(1), "web_backend", now, "ping");
  CHECK_FALSE(checkTimestamp(request, policy, now, TimeBasis{true, now - 1000}));
  auto stale = checkTimestamp(request, policy, now, TimeBasis{true, now - 601'000});
  REQUIRE(stale);
  CHECK(stale->statusCode == 408);
  CHECK_THAT(errorOf(*stale), Catch::Contains("601 s old") && Catch::Contains("appended by") &&
                                  Catch::Contains("broker time"));
  // Without broker time the append time is not used (it is the producer's clock, or unknown).
  CHECK_FALSE(checkTimestamp(request, policy, now, TimeBasis{false, now - 601'000}));
}

TEST_CASE("timestamp check on broker time: a future request names broker time, not the edge clock",
          "[agent][broker-clock][policy]") {
  Policy policy;
  const int64_t now = 1'790'000'000'000;
  auto request =
      envelope::Envelope::request(envelope::Id::number(1), "web_backend", now + 120'000, "ping");
  auto r = checkTimestamp(request, policy, now, TimeBasis{true, std::nullopt});
  REQUIRE(r);
  CHECK(r->statusCode == 400);
  CHECK_THAT(errorOf(*r),
             Catch::Contains("ahead of the broker time") && !Catch::Contains("edge clock"));
}

TEST_CASE("broker time: an agent 5 h behind answers a fresh request once its heartbeat is back",
          "[agent][broker-clock][core]") {
  Skewed s(-5 * kHourMs);
  // Before any heartbeat came back: the board's own clock, as before (refused, naming it).
  auto before = s.ping(0);
  CHECK(before.statusCode == 400);
  CHECK_THAT(errorOf(before), Catch::Contains("edge clock"));
  s.echo(200);
  auto after = s.ping(0);
  CHECK(after.statusCode == 200);
}

TEST_CASE("broker time: an agent hours ahead still refuses a request older than max age",
          "[agent][broker-clock][core]") {
  Skewed s(3 * kHourMs);
  s.echo(200);
  auto old = s.ping(601'000, 601'000);
  CHECK(old.statusCode == 408);
  CHECK_THAT(errorOf(old), Catch::Contains("broker time"));
  // Dated now by a sender whose clock is right, but appended while the edge was away.
  auto waited = s.ping(0, 3'600'000);
  CHECK(waited.statusCode == 408);
  CHECK_THAT(errorOf(waited), Catch::Contains("appended by the broker"));
  CHECK(s.ping(1000, 1000).statusCode == 200);
}

TEST_CASE("broker time: the heartbeat reports the edge clock's offset once known",
          "[agent][broker-clock][core]") {
  Skewed s(-5 * kHourMs);
  auto first = sent(s.core.onTimers());  // not due yet
  CHECK(first.empty());
  {
    envelope::Decoder decoder;
    auto hb = decoder.decode(s.heartbeatBytes);
    REQUIRE(hb.ok());
    CHECK_FALSE(hb->body().HasMember("clock_offset_ms"));
  }
  s.echo(200);
  s.clock.advanceMs(s.config.options.heartbeatInterval * 1000);
  auto next = sent(s.core.onTimers());
  REQUIRE(next.size() == 1);
  REQUIRE(next[0].type == "heartbeat");
  const auto& body = next[0].body();
  REQUIRE(body.HasMember("clock_offset_ms"));
  CHECK(body["clock_offset_ms"].GetInt64() == -5 * kHourMs);
}

TEST_CASE("broker time: a heartbeat read back with its producer's timestamp teaches nothing",
          "[agent][broker-clock][core]") {
  Skewed s(-5 * kHourMs);
  s.echo(200, false);  // a CreateTime topic: the timestamp is the board's own clock
  auto r = s.ping(0);
  CHECK(r.statusCode == 400);
  CHECK_THAT(errorOf(r), Catch::Contains("edge clock"));
}

TEST_CASE("broker time: the first heartbeat's delivery report from a LogAppendTime topic sets it",
          "[agent][broker-clock][core]") {
  testing::TempDir dir;
  AgentConfig config = test::validConfig(dir);
  ManualClock clock(1'790'000'000'000 - 5 * kHourMs, 1'000'000);
  AgentCore core{config, clock};
  AgentState restarted;
  restarted.positions[0] = 3;  // a restart: requests may have waited in the topic
  (void)core.begin(std::move(restarted), StartupFacts{"board", 7});
  uint64_t heartbeat = 1;
  for (const Action& a : core.onTimers()) {
    if (const auto* send = std::get_if<action::Send>(&a)) {
      if (send->value.find("\"heartbeat\"") != std::string::npos) {
        heartbeat = send->opaque;
      }
    }
  }
  REQUIRE(heartbeat == kPerishableOpaque);
  // Requests wait for it (no message is taken while busy).
  CHECK(core.busy());
  clock.advanceMs(40);
  Delivery d{heartbeat, Delivery::Outcome::kDelivered, {}, "t[0] offset 1"};
  d.appendedAtMs = 1'790'000'000'000 + 20;
  (void)core.onDelivery(d);
  CHECK_FALSE(core.busy());
  auto out = sent(core.onMessage(Inbound{pingBytes(5, 1'790'000'000'000 + 40), 0, 5, -1}));
  REQUIRE(out.size() == 1);
  CHECK(out[0].statusCode == 200);
}

TEST_CASE("broker time: no delivery report within the wait, requests go on on the edge clock",
          "[agent][broker-clock][core]") {
  testing::TempDir dir;
  AgentConfig config = test::validConfig(dir);
  ManualClock clock;
  AgentCore core{config, clock};
  AgentState restarted;
  restarted.positions[0] = 3;
  (void)core.begin(std::move(restarted), StartupFacts{"board", 7});
  (void)core.onTimers();
  CHECK(core.busy());
  CHECK(core.nextDueMono() <= clock.monoMs() + 5000);
  clock.advanceMs(5000);
  (void)core.onTimers();
  CHECK_FALSE(core.busy());
  // A later heartbeat is not waited for again.
  clock.advanceMs(config.options.heartbeatInterval * 1000);
  (void)core.onTimers();
  CHECK_FALSE(core.busy());
}

TEST_CASE("broker time: a first start (no stored position) does not wait for it",
          "[agent][broker-clock][core]") {
  testing::TempDir dir;
  AgentConfig config = test::validConfig(dir);
  ManualClock clock;
  AgentCore core{config, clock};
  (void)core.begin(AgentState{}, StartupFacts{"board", 7});
  (void)core.onTimers();
  CHECK_FALSE(core.busy());
}
