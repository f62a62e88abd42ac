#pragma once

// Where the agent reads its topic, as pure decisions: per partition where to start (the stored
// position; else the first record younger than max-request-age, found by timestamp; else the
// beginning, older requests skipped silently), and where to move past a record batch too large
// to read. The Kafka calls (partition count, offsets for times, watermarks) are the shell's; it
// hands their answers in.

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "core/result.h"

namespace edgelink::agent {

/// A logical start offset: the partition's first retained record (the source translates it).
inline constexpr int64_t kFromBeginning = -2;

/// The record time from which a partition without a stored position is read: requests older
/// than this would be stale anyway (the offsets-for-times lookup asks for it).
int64_t readFromTimeMs(int64_t nowWallMs, int64_t maxAgeMs);

/// The partitions that need a lookup by time (no stored position), in order.
std::vector<int32_t> partitionsWithoutPosition(int partitionCount,
                                               const std::map<int32_t, int64_t>& stored);

/// Where one partition starts, and why (the log line says which).
enum class StartFrom {
  kStored,     ///< the state file's position
  kTimestamp,  ///< the first record at or after readFromTimeMs, found by timestamp
  kBeginning,  ///< no such record known: the beginning, older requests skipped silently
};
struct PartitionStart {
  int32_t partition = 0;
  StartFrom from = StartFrom::kBeginning;
  int64_t offset = kFromBeginning;  ///< kBeginning: kFromBeginning
};

/// A lookup by time for one partition: the offset, nullopt when the broker has none at or after
/// the time (or cannot tell), or the error.
using TimeLookup = Result<std::optional<int64_t>>;

struct StartPlan {
  std::vector<PartitionStart> partitions;  ///< every partition, in order (when complete)
  /// Partitions read without a stored position: requests older than this are skipped silently.
  std::map<int32_t, int64_t> silentBefore;
  /// The first partition whose lookup failed (or is missing): no plan yet, try again later.
  struct Failure {
    int32_t partition = 0;
    Error error;
  };
  std::optional<Failure> failure;
  bool complete() const { return !failure.has_value(); }
};

/// Where each of `partitionCount` partitions starts, from the stored positions and the lookups
/// by time of the partitions without one (readFromTimeMs(nowWallMs, maxAgeMs)).
StartPlan planStartPositions(int partitionCount, const std::map<int32_t, int64_t>& stored,
                             const std::map<int32_t, TimeLookup>& lookups, int64_t nowWallMs,
                             int64_t maxAgeMs);

/// An assigned partition: its start offset (or kFromBeginning).
struct AssignedPartition {
  int32_t partition = 0;
  int64_t offset = kFromBeginning;
};

/// Where an unreadable record batch is, when librdkafka refused a fetch response as too large.
/// Everything consumed before the refusal was handled (errors and messages share one queue), so
/// with one partition the batch starts at the position: the next offset after what was consumed,
/// else the assigned offset, else (assigned at a logical offset) the low watermark.
struct OversizeBatch {
  enum class Kind {
    kAt,             ///< at `offset` on `partition`: move to offset + 1
    kAskWatermarks,  ///< its offset is the partition's low watermark: ask, then decide again
    kCannotTell,     ///< several partitions: which one is unknown
  };
  Kind kind = Kind::kCannotTell;
  int32_t partition = 0;
  int64_t offset = -1;
};

/// `consumedNext`: per partition the next offset after what was consumed (-1 or absent: none).
/// `lowWatermark`: the answer to kAskWatermarks, when asked.
OversizeBatch locateOversizeBatch(const std::vector<AssignedPartition>& assigned,
                                  const std::map<int32_t, int64_t>& consumedNext,
                                  std::optional<int64_t> lowWatermark = std::nullopt);

}  // namespace edgelink::agent
