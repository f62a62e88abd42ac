#include "decisions/outbox_tracker.h"

#include <vector>

#include "agent_log.h"

namespace edgelink::agent {

void OutboxTracker::queue(Actions& out, const std::string& what, const std::string& value,
                          int32_t partition, int64_t offset) {
  std::string dropped;
  uint64_t seq = outbox_.add(what, value, partition, offset, &dropped);
  if (!dropped.empty()) {
    agentLogger()->warn("outbox full: dropped {}", dropped);
  }
  // Durable before it is sent: a crash after sending must find it (and the id answered).
  out.emplace_back(action::PersistState{});
  send(out, seq);
}

void OutboxTracker::resendAll(Actions& out) {
  std::vector<uint64_t> pending;
  for (const auto& [seq, e] : outbox_.entries()) {
    pending.push_back(seq);
  }
  for (uint64_t seq : pending) {
    send(out, seq);
  }
}

void OutboxTracker::clusterReplaced(Actions& out) {
  outbox_.detachPositions();
  inFlight_.clear();
  retry_.clear();
  perishableInFlight_ = 0;
  resendAll(out);
}

std::optional<Released> OutboxTracker::onDelivery(const Delivery& delivery, int64_t nowMono,
                                                  bool& changed) {
  changed = false;
  if (delivery.opaque == kPerishableOpaque) {
    --perishableInFlight_;
    if (delivery.outcome != Delivery::Outcome::kDelivered) {
      agentLogger()->debug("heartbeat not delivered: {}", delivery.error);
    }
    return std::nullopt;
  }
  const uint64_t seq = delivery.opaque;
  inFlight_.erase(seq);
  const Outbox::Entry* entry = outbox_.find(seq);
  if (entry == nullptr) {
    return std::nullopt;
  }
  if (delivery.outcome == Delivery::Outcome::kRetriable) {
    warnRetry(entry->what, delivery.error, "not delivered (" + delivery.error + "): retrying",
              nowMono);
    scheduleRetry(seq, nowMono);
    return std::nullopt;
  }
  if (delivery.outcome == Delivery::Outcome::kPermanent) {
    agentLogger()->error("{} cannot ever be delivered ({}): dropped", entry->what, delivery.error);
  } else {
    agentLogger()->debug("{} delivered at {}", entry->what, delivery.where);
  }
  std::optional<Released> released;
  if (entry->offset >= 0) {
    released = Released{entry->partition, entry->offset};
  }
  outbox_.remove(seq);
  changed = true;
  return released;
}

void OutboxTracker::onRefused(uint64_t opaque, const std::string& error, int64_t nowMono) {
  if (opaque == kPerishableOpaque) {
    --perishableInFlight_;
    return;
  }
  inFlight_.erase(opaque);
  const Outbox::Entry* entry = outbox_.find(opaque);
  if (entry == nullptr) {
    return;
  }
  warnRetry(entry->what, error, "cannot be queued yet: " + error, nowMono);
  scheduleRetry(opaque, nowMono);
}

void OutboxTracker::retryIfDue(Actions& out, int64_t nowMono) {
  if (retry_.empty() || nowMono < retryDueMono_) {
    return;
  }
  std::set<uint64_t> again;
  again.swap(retry_);
  for (uint64_t seq : again) {
    send(out, seq);
  }
}

std::optional<int64_t> OutboxTracker::retryDueMono() const {
  if (retry_.empty()) {
    return std::nullopt;
  }
  return retryDueMono_;
}

bool OutboxTracker::sendPerishable(Actions& out, const std::string& value) {
  if (perishableInFlight_ > 0) {
    // With the last one still queued (broker unreachable), another adds nothing.
    agentLogger()->debug("heartbeat skipped: the previous one is not delivered yet");
    return false;
  }
  out.emplace_back(action::Send{value, kPerishableOpaque});
  ++perishableInFlight_;  // undone by onRefused
  return true;
}

void OutboxTracker::send(Actions& out, uint64_t seq) {
  const Outbox::Entry* entry = outbox_.find(seq);
  if (entry == nullptr || inFlight_.count(seq) != 0) {
    return;
  }
  out.emplace_back(action::Send{entry->value, seq});
  inFlight_.insert(seq);  // undone by onRefused
}

void OutboxTracker::warnRetry(const std::string& what, const std::string& error,
                              const std::string& text, int64_t nowMono) {
  auto heldBack = repeats_.admit(error, nowMono);
  if (!heldBack) {
    return;
  }
  if (*heldBack > 0) {
    agentLogger()->warn("{} {} ({} more retries failed so since the last such line)", what, text,
                        *heldBack);
  } else {
    agentLogger()->warn("{} {}", what, text);
  }
}

void OutboxTracker::scheduleRetry(uint64_t seq, int64_t nowMono) {
  retry_.insert(seq);
  retryDueMono_ = nowMono + kRetryDelayMs;
}

}  // namespace edgelink::agent
