#pragma once

// The one way the agent sends what must not be lost (answers, important events): add to the
// outbox, make the state file durable, produce; on the delivery report remove it (releasing the
// request it answers) or retry it a second later. Heartbeats go through here too, as perishable
// messages: never stored, one at a time.

#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/result.h"
#include "state.h"

namespace edgelink::agent {

/// Where the agent's messages go (its own topic, keyed by its edge id): the seam in front of the
/// Kafka producer. Outcomes come back as Delivery values with the same opaque.
class MessageSink {
 public:
  virtual ~MessageSink() = default;
  /// Queues a message; an error when it cannot be queued now (to be retried).
  virtual VoidResult produce(std::string_view value, uint64_t opaque) = 0;
};

/// A delivery report as the agent needs it (the Kafka layer classifies the error).
struct Delivery {
  enum class Outcome { kDelivered, kRetriable, kPermanent };
  uint64_t opaque = 0;
  Outcome outcome = Outcome::kDelivered;
  std::string error;  ///< what the broker/client said, when not delivered
  std::string where;  ///< "topic[partition] offset N", when delivered
};

/// A request whose answer is now delivered (or dropped for good): its position can move on.
struct Released {
  int32_t partition = -1;
  int64_t offset = -1;
};

class OutboxSender {
 public:
  static constexpr int64_t kRetryDelayMs = 1000;

  /// `persistNow` writes the state file at once (before a message is sent), `persistLater`
  /// schedules a write (after a delivery).
  OutboxSender(Outbox& outbox, MessageSink& sink, const Clock& clock,
               std::function<void()> persistNow, std::function<void()> persistLater);

  /// Adds to the outbox (a full outbox drops its oldest event, logged), persists, sends.
  /// `offset` >= 0: the answer of the request at (partition, offset).
  void queue(const std::string& what, const std::string& value, int32_t partition = -1,
             int64_t offset = -1);
  /// Sends every entry of the outbox (after a restart).
  void resendAll();
  /// A delivery report; the request to release when its answer is done with.
  std::optional<Released> onDelivery(const Delivery& delivery);
  /// Sends what failed, once its retry delay has passed.
  void retryIfDue();
  /// The next retry, if any is waiting.
  std::optional<int64_t> retryDueMono() const;

  /// A perishable message (a heartbeat): skipped while the previous one is not delivered.
  /// False when skipped or refused.
  bool sendPerishable(const std::string& value);

 private:
  void send(uint64_t seq);
  void scheduleRetry(uint64_t seq);

  Outbox& outbox_;
  MessageSink& sink_;
  const Clock& clock_;
  std::function<void()> persistNow_;
  std::function<void()> persistLater_;
  std::set<uint64_t> inFlight_;
  std::set<uint64_t> retry_;
  int64_t retryDueMono_ = 0;
  int perishableInFlight_ = 0;
};

}  // namespace edgelink::agent
