#pragma once

// The one way the agent sends what must not be lost (answers, important events), as bookkeeping:
// add to the outbox, ask for the state file to be made durable, ask for the produce; on the
// delivery report remove it (releasing the request it answers) or retry it a second later.
// Heartbeats go through here too, as perishable messages: never stored, one at a time. Pure: it
// returns actions (decisions/actions.h) and takes the time from its caller.

#include <cstdint>
#include <optional>
#include <set>
#include <string>

#include "decisions/actions.h"
#include "decisions/repeat_filter.h"
#include "state.h"

namespace edgelink::agent {

/// Delivery-report opaque of perishable messages (heartbeats): outbox sequence numbers start at 1
/// (and an opaque is a pointer, 32 bits on the board).
inline constexpr uint64_t kPerishableOpaque = 0;

/// A request whose answer is now delivered (or dropped for good): its position can move on.
struct Released {
  int32_t partition = -1;
  int64_t offset = -1;
};

class OutboxTracker {
 public:
  static constexpr int64_t kRetryDelayMs = 1000;
  /// A retry failing the same way again is logged at most this often (with a count).
  static constexpr int64_t kRepeatWarningMs = 60000;

  explicit OutboxTracker(Outbox& outbox) : outbox_(outbox) {}

  /// Adds to the outbox (a full outbox drops its oldest event, logged), then asks for a
  /// PersistState and a Send, in that order. `offset` >= 0: the answer of the request at
  /// (partition, offset).
  void queue(Actions& out, const std::string& what, const std::string& value,
             int32_t partition = -1, int64_t offset = -1);
  /// Sends every entry of the outbox (after a restart).
  void resendAll(Actions& out);
  /// The producer was replaced by another cluster's (a move): what the old one still held gets
  /// no delivery report, so every entry is sent again on the new one, no longer tied to a
  /// request position (the old cluster's offsets).
  void clusterReplaced(Actions& out);
  /// A delivery report; the request to release when its answer is done with. `changed`: the
  /// outbox lost an entry (the state file is to be written, not at once).
  std::optional<Released> onDelivery(const Delivery& delivery, int64_t nowMono, bool& changed);
  /// The producer could not queue a Send: retried after the delay.
  void onRefused(uint64_t opaque, const std::string& error, int64_t nowMono);
  /// Sends what failed, once its retry delay has passed.
  void retryIfDue(Actions& out, int64_t nowMono);
  /// The next retry, if any is waiting.
  std::optional<int64_t> retryDueMono() const;

  /// A perishable message (a heartbeat): skipped while the previous one is not delivered.
  /// False when skipped.
  bool sendPerishable(Actions& out, const std::string& value);

 private:
  void send(Actions& out, uint64_t seq);
  void scheduleRetry(uint64_t seq, int64_t nowMono);
  /// Logs "<what> <text>" unless the same `error` was logged within kRepeatWarningMs.
  void warnRetry(const std::string& what, const std::string& error, const std::string& text,
                 int64_t nowMono);

  Outbox& outbox_;
  std::set<uint64_t> inFlight_;
  std::set<uint64_t> retry_;
  int64_t retryDueMono_ = 0;
  int perishableInFlight_ = 0;
  RepeatFilter repeats_{kRepeatWarningMs};
};

}  // namespace edgelink::agent
