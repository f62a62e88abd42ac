#pragma once

// The agent's Kafka position, as pure bookkeeping: per partition the next offset after the last
// message consumed, and the requests whose answers are not delivered yet. The stored position
// stays at the first request still waiting for its answer, so a crash before delivery
// redelivers it (and it is answered from the stored response).

#include <cstdint>
#include <map>
#include <set>

namespace edgelink::agent {

class PositionTracker {
 public:
  /// Starts from the positions of the state file (each: the next offset to read).
  void restore(const std::map<int32_t, int64_t>& stored) { consumed_ = stored; }

  /// A message at `offset` was read.
  void consumed(int32_t partition, int64_t offset);
  /// The next offset to read on `partition` is `next` (moving past what cannot be read).
  void skipTo(int32_t partition, int64_t next) { consumed_[partition] = next; }
  /// The next offset after what was consumed, or -1 when nothing was.
  int64_t next(int32_t partition) const;

  /// The request at `offset` is answered but its answer not delivered yet (offset < 0: no-op).
  void hold(int32_t partition, int64_t offset);
  /// Its answer is delivered (or dropped for good).
  void release(int32_t partition, int64_t offset);
  bool held(int32_t partition, int64_t offset) const;

  /// Writes each partition's position (the next offset, or the first held request before it)
  /// into `positions`; true when any of them changed.
  bool update(std::map<int32_t, int64_t>& positions) const;

 private:
  std::map<int32_t, int64_t> consumed_;
  std::map<int32_t, std::set<int64_t>> held_;
};

}  // namespace edgelink::agent
