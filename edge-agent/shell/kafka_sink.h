#pragma once

// The agent's messages to Kafka: the producer behind the MessageSink seam, and librdkafka's
// delivery reports as the agent's Delivery values. Every message carries the board's signature
// (edgelink-key / edgelink-sig headers over its topic and exact bytes, security/signature.h);
// Ed25519 is deterministic, so a retry of the same bytes carries the same signature.

#include <string>

#include "decisions/actions.h"
#include "kafka/client.h"
#include "security/signature.h"
#include "shell/message_sink.h"

namespace edgelink::agent {

class ProducerSink final : public MessageSink {
 public:
  /// `signer`: the board's key (outlives the sink).
  ProducerSink(kafka::Producer& producer, std::string topic, std::string key,
               const security::SigningKey& signer)
      : producer_(&producer), topic_(std::move(topic)), key_(std::move(key)), signer_(signer) {}
  VoidResult produce(std::string_view value, uint64_t opaque) override {
    return producer_->produce(topic_, key_, value,
                              security::signatureHeaders(signer_, topic_, value), opaque);
  }
  /// Produces through `producer` from now on (a move to another Kafka cluster; same topic).
  void retarget(kafka::Producer& producer) { producer_ = &producer; }

 private:
  kafka::Producer* producer_;
  std::string topic_;
  std::string key_;
  const security::SigningKey& signer_;
};

inline Delivery toDelivery(const kafka::DeliveryReport& report) {
  Delivery d;
  d.opaque = report.opaque;
  if (report.delivered()) {
    d.where = report.topic + "[" + std::to_string(report.partition) + "] offset " +
              std::to_string(report.offset);
    if (report.logAppendTime && report.timestampMs >= 0) {
      d.appendedAtMs = report.timestampMs;
    }
    return d;
  }
  d.outcome =
      report.permanentFailure() ? Delivery::Outcome::kPermanent : Delivery::Outcome::kRetriable;
  d.error = report.errorText();
  return d;
}

}  // namespace edgelink::agent
