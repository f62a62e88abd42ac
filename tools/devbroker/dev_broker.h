#pragma once

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <string>
#include <vector>

#include "core/result.h"
#include "kafka/client.h"

namespace edgelink::devbroker {

/// A topic to create at start: name and partition count.
struct TopicSpec {
  std::string name;
  int partitions = 1;
};

/// Parses "name" or "name:partitions".
Result<TopicSpec> parseTopicSpec(const std::string& text);

/// librdkafka's mock cluster, owned. It speaks the Kafka protocol on 127.0.0.1 (a random port
/// per broker) to any client in any process. Auto-creates topics on produce (4 partitions).
/// Not supported by the mock: the admin CreateTopics API and ListOffsets by time.
class DevBroker {
 public:
  static Result<std::unique_ptr<DevBroker>> start(int brokers);
  ~DevBroker();
  DevBroker(const DevBroker&) = delete;
  DevBroker& operator=(const DevBroker&) = delete;

  /// "127.0.0.1:port,..." for bootstrap.servers.
  std::string bootstrapServers() const;
  VoidResult createTopic(const TopicSpec& topic);
  /// Takes every broker down (connections dropped, new ones refused) or back up: an outage.
  void setAllDown(bool down);
  int brokerCount() const { return brokers_; }

 private:
  DevBroker() = default;
  kafka::HandlePtr rk_;  // destroyed last
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
  int brokers_ = 0;
};

}  // namespace edgelink::devbroker
