// Where the agent starts reading its topic and where it moves past an unreadable record batch,
// on fabricated answers of the broker (decisions/read_position.h).

#include "decisions/read_position.h"

#include <catch2/catch.hpp>

using namespace edgelink;
using namespace edgelink::agent;

namespace {

constexpr int64_t kNow = 1'795'248'000'000;
constexpr int64_t kMaxAge = 600'000;

TimeLookup found(int64_t offset) {
  return std::optional<int64_t>(offset);
}
TimeLookup none() {
  return std::optional<int64_t>();
}

}  // namespace

TEST_CASE("a partition with a stored position starts there, without a lookup",
          "[agent][read-position]") {
  const std::map<int32_t, int64_t> stored{{0, 42}};
  CHECK(partitionsWithoutPosition(1, stored).empty());
  auto plan = planStartPositions(1, stored, {}, kNow, kMaxAge);
  REQUIRE(plan.complete());
  REQUIRE(plan.partitions.size() == 1);
  CHECK(plan.partitions[0].partition == 0);
  CHECK(plan.partitions[0].from == StartFrom::kStored);
  CHECK(plan.partitions[0].offset == 42);
  CHECK(plan.silentBefore.empty());  // a stored position answers everything after it
}

TEST_CASE("without a stored position, reading starts at the first record younger than max age",
          "[agent][read-position]") {
  CHECK(readFromTimeMs(kNow, kMaxAge) == kNow - kMaxAge);
  CHECK(partitionsWithoutPosition(1, {}) == std::vector<int32_t>{0});
  auto plan = planStartPositions(1, {}, {{0, found(17)}}, kNow, kMaxAge);
  REQUIRE(plan.complete());
  REQUIRE(plan.partitions.size() == 1);
  CHECK(plan.partitions[0].from == StartFrom::kTimestamp);
  CHECK(plan.partitions[0].offset == 17);
  CHECK(plan.silentBefore == std::map<int32_t, int64_t>{{0, kNow - kMaxAge}});
}

TEST_CASE(
    "with no record younger than max age (or a broker that cannot tell), from the "
    "beginning, older requests skipped silently",
    "[agent][read-position]") {
  auto plan = planStartPositions(1, {}, {{0, none()}}, kNow, kMaxAge);
  REQUIRE(plan.complete());
  REQUIRE(plan.partitions.size() == 1);
  CHECK(plan.partitions[0].from == StartFrom::kBeginning);
  CHECK(plan.partitions[0].offset == kFromBeginning);
  CHECK(plan.silentBefore.at(0) == kNow - kMaxAge);
}

TEST_CASE("a failed lookup leaves no plan: the first failure is reported and tried again",
          "[agent][read-position]") {
  std::map<int32_t, TimeLookup> lookups;
  lookups.emplace(0, found(3));
  lookups.emplace(1, TimeLookup(Error(Status::kUnavailable, "broker down")));
  auto plan = planStartPositions(3, {}, lookups, kNow, kMaxAge);
  REQUIRE_FALSE(plan.complete());
  CHECK(plan.failure->partition == 1);
  CHECK(plan.failure->error.message == "broker down");
  CHECK(plan.partitions.empty());
  CHECK(plan.silentBefore.empty());

  // A partition nobody looked up (the shell stopped at the failure) is no plan either.
  auto missing = planStartPositions(2, {}, {{0, found(3)}}, kNow, kMaxAge);
  REQUIRE_FALSE(missing.complete());
  CHECK(missing.failure->partition == 1);
}

TEST_CASE("several partitions mix stored positions and lookups, in partition order",
          "[agent][read-position]") {
  const std::map<int32_t, int64_t> stored{{1, 9}};
  CHECK(partitionsWithoutPosition(3, stored) == std::vector<int32_t>{0, 2});
  auto plan = planStartPositions(3, stored, {{0, none()}, {2, found(5)}}, kNow, kMaxAge);
  REQUIRE(plan.complete());
  REQUIRE(plan.partitions.size() == 3);
  CHECK(plan.partitions[0].from == StartFrom::kBeginning);
  CHECK(plan.partitions[1].from == StartFrom::kStored);
  CHECK(plan.partitions[1].offset == 9);
  CHECK(plan.partitions[2].from == StartFrom::kTimestamp);
  CHECK(plan.partitions[2].offset == 5);
  CHECK(plan.silentBefore == std::map<int32_t, int64_t>{{0, kNow - kMaxAge}, {2, kNow - kMaxAge}});
  // A stored position for a partition the topic no longer has is left out.
  auto fewer = planStartPositions(1, {{0, 4}, {1, 9}}, {}, kNow, kMaxAge);
  REQUIRE(fewer.complete());
  CHECK(fewer.partitions.size() == 1);
}

TEST_CASE("an unreadable batch on the only partition is at the position", "[agent][oversize]") {
  // Something was consumed: the batch is right after it.
  auto b = locateOversizeBatch({{0, 10}}, {{0, 15}});
  CHECK(b.kind == OversizeBatch::Kind::kAt);
  CHECK(b.partition == 0);
  CHECK(b.offset == 15);
  // Nothing consumed yet: at the assigned offset.
  b = locateOversizeBatch({{0, 10}}, {{0, -1}});
  CHECK(b.kind == OversizeBatch::Kind::kAt);
  CHECK(b.offset == 10);
  b = locateOversizeBatch({{3, 7}}, {});
  CHECK(b.kind == OversizeBatch::Kind::kAt);
  CHECK(b.partition == 3);
  CHECK(b.offset == 7);
}

TEST_CASE("an unreadable batch read from the beginning is at the low watermark",
          "[agent][oversize]") {
  auto b = locateOversizeBatch({{0, kFromBeginning}}, {{0, -1}});
  CHECK(b.kind == OversizeBatch::Kind::kAskWatermarks);
  CHECK(b.partition == 0);
  b = locateOversizeBatch({{0, kFromBeginning}}, {{0, -1}}, 120);
  CHECK(b.kind == OversizeBatch::Kind::kAt);
  CHECK(b.offset == 120);
  // Once something was consumed the watermark is not needed.
  b = locateOversizeBatch({{0, kFromBeginning}}, {{0, 130}});
  CHECK(b.kind == OversizeBatch::Kind::kAt);
  CHECK(b.offset == 130);
}

TEST_CASE("an unreadable batch on one of several partitions cannot be located",
          "[agent][oversize]") {
  CHECK(locateOversizeBatch({{0, 5}, {1, 6}}, {{0, 8}, {1, 9}}).kind ==
        OversizeBatch::Kind::kCannotTell);
  CHECK(locateOversizeBatch({{0, 5}, {1, 6}}, {}, 3).kind == OversizeBatch::Kind::kCannotTell);
  CHECK(locateOversizeBatch({}, {}).kind == OversizeBatch::Kind::kCannotTell);
}
