#include "shell/outbox_sender.h"

#include <vector>

#include "agent_log.h"

namespace edgelink::agent {

namespace {

// Delivery-report opaque of perishable messages: outbox sequence numbers start at 1 (and an
// opaque is a pointer, 32 bits on the board).
constexpr uint64_t kPerishableOpaque = 0;

}  // namespace

OutboxSender::OutboxSender(Outbox& outbox, MessageSink& sink, const Clock& clock,
                           std::function<void()> persistNow, std::function<void()> persistLater)
    : outbox_(outbox),
      sink_(sink),
      clock_(clock),
      persistNow_(std::move(persistNow)),
      persistLater_(std::move(persistLater)) {}

void OutboxSender::queue(const std::string& what, const std::string& value, int32_t partition,
                         int64_t offset) {
  std::string dropped;
  uint64_t seq = outbox_.add(what, value, partition, offset, &dropped);
  if (!dropped.empty()) {
    agentLogger()->warn("outbox full: dropped {}", dropped);
  }
  // Durable before it is sent: a crash after sending must find it (and the id answered).
  persistNow_();
  send(seq);
}

void OutboxSender::resendAll() {
  std::vector<uint64_t> pending;
  for (const auto& [seq, e] : outbox_.entries()) {
    pending.push_back(seq);
  }
  for (uint64_t seq : pending) {
    send(seq);
  }
}

std::optional<Released> OutboxSender::onDelivery(const Delivery& delivery) {
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
    agentLogger()->warn("{} not delivered ({}): retrying", entry->what, delivery.error);
    scheduleRetry(seq);
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
  persistLater_();
  return released;
}

void OutboxSender::retryIfDue() {
  if (retry_.empty() || clock_.monoMs() < retryDueMono_) {
    return;
  }
  std::set<uint64_t> again;
  again.swap(retry_);
  for (uint64_t seq : again) {
    send(seq);
  }
}

std::optional<int64_t> OutboxSender::retryDueMono() const {
  if (retry_.empty()) {
    return std::nullopt;
  }
  return retryDueMono_;
}

bool OutboxSender::sendPerishable(const std::string& value) {
  if (perishableInFlight_ > 0) {
    // With the last one still queued (broker unreachable), another adds nothing.
    agentLogger()->debug("heartbeat skipped: the previous one is not delivered yet");
    return false;
  }
  if (!sink_.produce(value, kPerishableOpaque)) {
    return false;
  }
  ++perishableInFlight_;
  return true;
}

void OutboxSender::send(uint64_t seq) {
  const Outbox::Entry* entry = outbox_.find(seq);
  if (entry == nullptr || inFlight_.count(seq) != 0) {
    return;
  }
  if (auto r = sink_.produce(entry->value, seq); !r) {
    agentLogger()->warn("cannot queue {} yet: {}", entry->what, r.error().describe());
    scheduleRetry(seq);
    return;
  }
  inFlight_.insert(seq);
}

void OutboxSender::scheduleRetry(uint64_t seq) {
  retry_.insert(seq);
  retryDueMono_ = clock_.monoMs() + kRetryDelayMs;
}

}  // namespace edgelink::agent
