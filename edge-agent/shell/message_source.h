#pragma once

// The agent's topic as it reads it, behind a seam: the Kafka consumer's part the agent uses
// (partition count, lookups by time, watermarks, assign, poll, the oversize-fetch report, close
// and re-create) with plain values, so the reading (topic_reader.h) runs against a fake in
// unit tests. KafkaSource (shell/kafka_source.h) is the real side.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/result.h"
#include "decisions/read_position.h"
#include "decisions/triage.h"

namespace edgelink::agent {

/// One poll's outcome.
struct Polled {
  enum class Kind {
    kMessage,         ///< `message` (its payload valid until the next poll)
    kEndOfPartition,  ///< nothing more for now on a partition
    kError,           ///< a consumer error, `error` describes it
  };
  Kind kind = Kind::kMessage;
  Inbound message;
  std::string error;
};

/// A fetch response refused as larger than receive.message.max.bytes.
struct OversizeFetch {
  int64_t size = 0;   ///< the response size the broker announced
  int64_t limit = 0;  ///< receive.message.max.bytes
};

class MessageSource {
 public:
  virtual ~MessageSource() = default;
  /// The topic's number of partitions (kNotFound when the broker does not know it).
  virtual Result<int> partitionCount(int timeoutMs) = 0;
  /// The first offset with a record time >= tsMs; nullopt when there is none (or the broker
  /// cannot tell).
  virtual Result<std::optional<int64_t>> offsetForTime(int32_t partition, int64_t tsMs,
                                                       int timeoutMs) = 0;
  /// (low, high) watermarks.
  virtual Result<std::pair<int64_t, int64_t>> watermarks(int32_t partition, int timeoutMs) = 0;
  /// Reads these partitions from these offsets (kFromBeginning: the first retained record).
  virtual VoidResult assign(const std::vector<AssignedPartition>& partitions) = 0;
  /// The next message or event, without waiting; nullopt when nothing is waiting.
  virtual std::optional<Polled> poll() = 0;
  /// The last oversize fetch reported since the previous call.
  virtual std::optional<OversizeFetch> takeOversizeFetch() = 0;
  /// Closes the client (bounded) and makes a new one with the same settings, unassigned: the
  /// same connection reports an identical refusal only every 30 s.
  virtual VoidResult reopen() = 0;
  /// Closes the client, waiting at most `timeoutMs`.
  virtual void close(int timeoutMs) = 0;
};

}  // namespace edgelink::agent
