// When the agent asks for its remote configuration: a pure state machine on an explicit clock.

#include "decisions/config_fetch.h"

#include <catch2/catch.hpp>
#include <limits>

using namespace edgelink::agent;

namespace {
constexpr int64_t kNever = std::numeric_limits<int64_t>::max();
}

TEST_CASE("config fetch: asks at start, then every refresh after the answer", "[agent][fetch]") {
  ConfigFetch f("e1", 3'600'000, 10'000);
  auto first = f.askNow(0, 1000);
  CHECK(first.id == "cfg-e1-1000-1");
  CHECK(first.attempt == 1);
  CHECK(f.awaiting() == first.id);
  CHECK(f.nextDueMono() == 10'000);
  CHECK_FALSE(f.onTimer(9'999, 0));
  REQUIRE(f.answered(first.id, 5'000));
  CHECK(f.awaiting().empty());
  CHECK(f.nextDueMono() == 3'605'000);
  CHECK_FALSE(f.onTimer(3'604'999, 0));
  auto refresh = f.onTimer(3'605'000, 2000);
  REQUIRE(refresh);
  CHECK(refresh->id == "cfg-e1-2000-2");
  CHECK(refresh->attempt == 1);
}

TEST_CASE("config fetch: a timeout asks again with a new id, three times, then gives up",
          "[agent][fetch]") {
  ConfigFetch f("e1", 60'000, 10'000);
  auto a = f.askNow(0, 0);
  std::string last = a.id;
  for (int attempt = 2; attempt <= 4; ++attempt) {
    const int64_t due = f.nextDueMono();
    auto retry = f.onTimer(due, due);
    REQUIRE(retry);
    CHECK(retry->attempt == attempt);
    CHECK(retry->id != last);
    last = retry->id;
  }
  const int64_t due = f.nextDueMono();
  CHECK(due == 40'000);
  CHECK_FALSE(f.onTimer(due, due));  // the fourth ask timed out: given up
  CHECK(f.givenUp() == 1);
  CHECK(f.awaiting().empty());
  CHECK(f.nextDueMono() == 100'000);      // the next refresh
  CHECK_FALSE(f.answered(last, 41'000));  // too late: not applied
  auto next = f.onTimer(100'000, 0);
  REQUIRE(next);
  CHECK(next->attempt == 1);
}

TEST_CASE("config fetch: late, duplicate and foreign answers are ignored", "[agent][fetch]") {
  ConfigFetch f("e1", 60'000, 10'000);
  auto first = f.askNow(0, 0);
  auto second = f.onTimer(10'000, 10'000);
  REQUIRE(second);
  CHECK_FALSE(f.answered(first.id, 11'000));  // the timed-out ask's answer, late
  CHECK_FALSE(f.answered("cfg-e2-0-1", 11'000));
  CHECK(f.answered(second->id, 12'000));
  CHECK_FALSE(f.answered(second->id, 12'001));  // duplicate
  CHECK(f.nextDueMono() == 72'000);
}

TEST_CASE("config fetch: config_changed while waiting asks again at once", "[agent][fetch]") {
  ConfigFetch f("e1", 60'000, 10'000);
  auto first = f.askNow(0, 0);
  auto changed = f.askNow(3'000, 3'000);
  CHECK(changed.id != first.id);
  CHECK(changed.attempt == 1);
  CHECK(f.nextDueMono() == 13'000);
  CHECK_FALSE(f.answered(first.id, 4'000));
  CHECK(f.answered(changed.id, 4'000));
}

TEST_CASE("config fetch: refresh 0 asks only at start and on config_changed", "[agent][fetch]") {
  ConfigFetch f("e1", 0, 10'000);
  auto a = f.askNow(0, 0);
  REQUIRE(f.answered(a.id, 1'000));
  CHECK(f.nextDueMono() == kNever);
  CHECK_FALSE(f.onTimer(1'000'000'000, 0));
  auto b = f.askNow(2'000, 0);
  for (int i = 0; i < 4; ++i) {
    f.onTimer(f.nextDueMono(), 0);
  }
  CHECK(f.givenUp() == 1);
  CHECK(f.nextDueMono() == kNever);
  CHECK_FALSE(f.answered(b.id, 0));
}
