#include "decisions/position_tracker.h"

#include <catch2/catch.hpp>

using namespace edgelink::agent;

TEST_CASE("the position moves past what was read, and stays at a request awaiting its answer",
          "[agent][position]") {
  PositionTracker t;
  std::map<int32_t, int64_t> positions;
  CHECK_FALSE(t.update(positions));  // nothing read yet
  t.consumed(0, 4);
  CHECK(t.update(positions));
  CHECK(positions.at(0) == 5);
  CHECK_FALSE(t.update(positions));  // unchanged

  t.hold(0, 5);
  t.consumed(0, 5);
  t.hold(0, 6);
  t.consumed(0, 6);
  t.consumed(0, 7);
  CHECK(t.held(0, 5));
  CHECK_FALSE(t.held(0, 7));
  t.update(positions);
  CHECK(positions.at(0) == 5);  // the first request whose answer is not delivered

  t.release(0, 6);  // delivered out of order: still at 5
  t.update(positions);
  CHECK(positions.at(0) == 5);
  t.release(0, 5);
  CHECK(t.update(positions));
  CHECK(positions.at(0) == 8);
}

TEST_CASE("a redelivered older message never moves the position back, and partitions are separate",
          "[agent][position]") {
  PositionTracker t;
  t.restore({{0, 10}, {1, 3}});
  t.consumed(0, 2);
  t.hold(1, -1);  // events have no offset: nothing held
  std::map<int32_t, int64_t> positions;
  t.update(positions);
  CHECK(positions == std::map<int32_t, int64_t>{{0, 10}, {1, 3}});
  CHECK(t.next(0) == 10);
  CHECK(t.next(7) == -1);
  t.skipTo(1, 9);  // a batch that cannot be read
  t.update(positions);
  CHECK(positions.at(1) == 9);
  CHECK(positions.at(0) == 10);
}
