#pragma once

// The agent's messages to Kafka: the producer behind the MessageSink seam, and librdkafka's
// delivery reports as the agent's Delivery values.

#include <string>

#include "decisions/actions.h"
#include "kafka/client.h"
#include "shell/message_sink.h"

namespace edgelink::agent {

class ProducerSink final : public MessageSink {
 public:
  ProducerSink(kafka::Producer& producer, std::string topic, std::string key)
      : producer_(producer), topic_(std::move(topic)), key_(std::move(key)) {}
  VoidResult produce(std::string_view value, uint64_t opaque) override {
    return producer_.produce(topic_, key_, value, opaque);
  }

 private:
  kafka::Producer& producer_;
  std::string topic_;
  std::string key_;
};

inline Delivery toDelivery(const kafka::DeliveryReport& report) {
  Delivery d;
  d.opaque = report.opaque;
  if (report.delivered()) {
    d.where = report.topic + "[" + std::to_string(report.partition) + "] offset " +
              std::to_string(report.offset);
    return d;
  }
  d.outcome =
      report.permanentFailure() ? Delivery::Outcome::kPermanent : Delivery::Outcome::kRetriable;
  d.error = report.errorText();
  return d;
}

}  // namespace edgelink::agent
