#pragma once

#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "kafka/client.h"

namespace edgelink::testing {

/// The broker refused a produced message (its delivery report failed).
struct ProduceRefused : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// A plain librdkafka client for tests: what a web backend or kcat would do.
class KafkaTestClient {
 public:
  /// `extra` are librdkafka properties applied to both the producer and the consumers.
  explicit KafkaTestClient(std::string bootstrap, std::vector<std::string> extra = {});
  ~KafkaTestClient();

  /// Produces and waits for delivery (throws on failure: ProduceRefused when the broker said no).
  /// `timestampMs` sets the Kafka message timestamp (0: now), e.g. to stand for old messages.
  void produce(const std::string& topic, const std::string& key, const std::string& value,
               int64_t timestampMs = 0);
  /// The same with Kafka headers (name, value; a name may repeat), e.g. a signature.
  using Headers = std::vector<std::pair<std::string, std::string>>;
  void produce(const std::string& topic, const std::string& key, const std::string& value,
               const Headers& headers, int64_t timestampMs = 0);

  /// A consumed record.
  struct Record {
    std::string topic;
    int32_t partition = 0;
    int64_t offset = 0;
    std::string key;
    std::string value;
    Headers headers;
    /// Every value of header `name`.
    std::vector<std::string> header(const std::string& name) const;
  };
  /// Reads every partition of `topic` from the beginning until `count` records arrived or
  /// `timeoutMs` passed; returns what arrived.
  std::vector<Record> readFromStart(const std::string& topic, size_t count, int timeoutMs);

  const std::string& bootstrap() const { return bootstrap_; }
  kafka::Config config() const;

 private:
  std::string bootstrap_;
  std::vector<std::string> extra_;
  std::shared_ptr<std::string> deliveryError_ = std::make_shared<std::string>();
  std::unique_ptr<kafka::Producer> producer_;
};

}  // namespace edgelink::testing
