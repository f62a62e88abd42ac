#include "decisions/position_tracker.h"

#include <algorithm>

namespace edgelink::agent {

void PositionTracker::consumed(int32_t partition, int64_t offset) {
  auto& next = consumed_[partition];
  next = std::max(next, offset + 1);
}

int64_t PositionTracker::next(int32_t partition) const {
  auto it = consumed_.find(partition);
  return it == consumed_.end() ? -1 : it->second;
}

void PositionTracker::hold(int32_t partition, int64_t offset) {
  if (offset >= 0) {
    held_[partition].insert(offset);
  }
}

void PositionTracker::release(int32_t partition, int64_t offset) {
  auto it = held_.find(partition);
  if (it != held_.end()) {
    it->second.erase(offset);
  }
}

bool PositionTracker::held(int32_t partition, int64_t offset) const {
  auto it = held_.find(partition);
  return it != held_.end() && it->second.count(offset) != 0;
}

bool PositionTracker::update(std::map<int32_t, int64_t>& positions) const {
  bool changed = false;
  for (const auto& [p, next] : consumed_) {
    int64_t pos = next;
    auto it = held_.find(p);
    if (it != held_.end() && !it->second.empty()) {
      pos = std::min(pos, *it->second.begin());
    }
    auto stored = positions.find(p);
    if (stored == positions.end() || stored->second != pos) {
      positions[p] = pos;
      changed = true;
    }
  }
  return changed;
}

}  // namespace edgelink::agent
