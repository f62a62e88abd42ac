#include "decisions/read_position.h"

namespace edgelink::agent {

int64_t readFromTimeMs(int64_t nowWallMs, int64_t maxAgeMs) {
  return nowWallMs - maxAgeMs;
}

std::vector<int32_t> partitionsWithoutPosition(int partitionCount,
                                               const std::map<int32_t, int64_t>& stored) {
  std::vector<int32_t> out;
  for (int32_t p = 0; p < partitionCount; ++p) {
    if (stored.count(p) == 0) {
      out.push_back(p);
    }
  }
  return out;
}

StartPlan planStartPositions(int partitionCount, const std::map<int32_t, int64_t>& stored,
                             const std::map<int32_t, TimeLookup>& lookups, int64_t nowWallMs,
                             int64_t maxAgeMs) {
  StartPlan plan;
  const int64_t threshold = readFromTimeMs(nowWallMs, maxAgeMs);
  for (int32_t p = 0; p < partitionCount; ++p) {
    if (auto it = stored.find(p); it != stored.end()) {
      plan.partitions.push_back({p, StartFrom::kStored, it->second});
      continue;
    }
    // No position: requests younger than max age are still worth serving.
    auto lookup = lookups.find(p);
    if (lookup == lookups.end()) {
      plan.failure = StartPlan::Failure{p, Error(Status::kUnavailable, "not looked up")};
      break;
    }
    if (!lookup->second) {
      plan.failure = StartPlan::Failure{p, lookup->second.error()};
      break;
    }
    plan.silentBefore[p] = threshold;
    if (const auto& offset = *lookup->second) {
      plan.partitions.push_back({p, StartFrom::kTimestamp, *offset});
    } else {
      plan.partitions.push_back({p, StartFrom::kBeginning, kFromBeginning});
    }
  }
  if (plan.failure) {
    plan.partitions.clear();
    plan.silentBefore.clear();
  }
  return plan;
}

OversizeBatch locateOversizeBatch(const std::vector<AssignedPartition>& assigned,
                                  const std::map<int32_t, int64_t>& consumedNext,
                                  std::optional<int64_t> lowWatermark) {
  OversizeBatch b;
  if (assigned.size() != 1) {
    return b;  // kCannotTell
  }
  b.partition = assigned[0].partition;
  if (auto it = consumedNext.find(b.partition); it != consumedNext.end() && it->second >= 0) {
    b.kind = OversizeBatch::Kind::kAt;
    b.offset = it->second;
    return b;
  }
  if (assigned[0].offset >= 0) {
    b.kind = OversizeBatch::Kind::kAt;
    b.offset = assigned[0].offset;
    return b;
  }
  if (lowWatermark) {
    b.kind = OversizeBatch::Kind::kAt;
    b.offset = *lowWatermark;
    return b;
  }
  b.kind = OversizeBatch::Kind::kAskWatermarks;
  return b;
}

}  // namespace edgelink::agent
