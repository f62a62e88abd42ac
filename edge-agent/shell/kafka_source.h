#pragma once

// The agent's topic read by a kafka::Consumer: the MessageSource seam's real side.

#include <memory>
#include <optional>
#include <string>

#include "kafka/client.h"
#include "shell/message_source.h"

namespace edgelink::agent {

class KafkaSource final : public MessageSource {
 public:
  /// A consumer with `config` for `topic`, writing to `wakeFd` whenever messages are waiting;
  /// its consumers (a reopen makes a new one) report to `link` when given.
  static Result<std::unique_ptr<KafkaSource>> create(kafka::Config config, std::string topic,
                                                     int wakeFd, kafka::LinkWatch* link = nullptr);

  Result<int> partitionCount(int timeoutMs) override;
  Result<std::optional<int64_t>> offsetForTime(int32_t partition, int64_t tsMs,
                                               int timeoutMs) override;
  Result<std::pair<int64_t, int64_t>> watermarks(int32_t partition, int timeoutMs) override;
  VoidResult assign(const std::vector<AssignedPartition>& partitions) override;
  std::optional<Polled> poll() override;
  std::optional<OversizeFetch> takeOversizeFetch() override;
  VoidResult reopen() override;
  void close(int timeoutMs) override;

 private:
  KafkaSource(kafka::Config config, std::string topic, int wakeFd, kafka::LinkWatch* link)
      : config_(std::move(config)), topic_(std::move(topic)), wakeFd_(wakeFd), link_(link) {}
  VoidResult open();

  kafka::Config config_;
  std::string topic_;
  int wakeFd_;
  kafka::LinkWatch* link_;
  std::optional<kafka::Message> last_;  ///< keeps the last polled payload alive
  std::unique_ptr<kafka::Consumer> consumer_;
};

}  // namespace edgelink::agent
