#pragma once

// Where the agent's messages go (its own topic, keyed by its edge id): the seam in front of the
// Kafka producer (shell/kafka_sink.h). Outcomes come back as Delivery values
// (decisions/actions.h) with the same opaque.

#include <cstdint>
#include <string_view>

#include "core/result.h"

namespace edgelink::agent {

class MessageSink {
 public:
  virtual ~MessageSink() = default;
  /// Queues a message; an error when it cannot be queued now (to be retried).
  virtual VoidResult produce(std::string_view value, uint64_t opaque) = 0;
};

}  // namespace edgelink::agent
