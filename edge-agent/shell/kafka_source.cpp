#include "shell/kafka_source.h"

namespace edgelink::agent {

namespace {
constexpr int kReopenCloseMs = 2000;
}  // namespace

Result<std::unique_ptr<KafkaSource>> KafkaSource::create(kafka::Config config, std::string topic,
                                                         int wakeFd, kafka::LinkWatch* link) {
  std::unique_ptr<KafkaSource> s(
      new KafkaSource(std::move(config), std::move(topic), wakeFd, link));
  if (auto r = s->open(); !r) {
    return r.error();
  }
  return s;
}

VoidResult KafkaSource::open() {
  auto consumer = kafka::Consumer::create(config_, link_);
  if (!consumer) {
    return consumer.error();
  }
  consumer_ = std::move(*consumer);
  consumer_->enableIoEvent(wakeFd_);
  return {};
}

Result<int> KafkaSource::partitionCount(int timeoutMs) {
  return consumer_->partitionCount(topic_, timeoutMs);
}

Result<std::optional<int64_t>> KafkaSource::offsetForTime(int32_t partition, int64_t tsMs,
                                                          int timeoutMs) {
  return consumer_->offsetForTime(topic_, partition, tsMs, timeoutMs);
}

Result<std::pair<int64_t, int64_t>> KafkaSource::watermarks(int32_t partition, int timeoutMs) {
  return consumer_->watermarks(topic_, partition, timeoutMs);
}

VoidResult KafkaSource::assign(const std::vector<AssignedPartition>& partitions) {
  std::vector<kafka::TopicPartitionOffset> tps;
  for (const auto& p : partitions) {
    tps.push_back(
        {topic_, p.partition, p.offset == kFromBeginning ? kafka::kOffsetBeginning : p.offset});
  }
  return consumer_->assign(tps);
}

std::optional<Polled> KafkaSource::poll() {
  last_.reset();
  if (!consumer_) {
    return std::nullopt;
  }
  auto m = consumer_->poll(0);
  if (!m) {
    return std::nullopt;
  }
  Polled out;
  if (m->isPartitionEof()) {
    out.kind = Polled::Kind::kEndOfPartition;
  } else if (m->isError()) {
    out.kind = Polled::Kind::kError;
    out.error = m->errorText();
  } else {
    out.message = Inbound{
        m->payload(),
        m->partition(),
        m->offset(),
        m->timestampMs(),
        m->timestampIsLogAppendTime(),
        {m->headerValues(security::kKeyIdHeader), m->headerValues(security::kSignatureHeader)}};
    last_ = std::move(m);  // the payload's owner; moving keeps the pointer
  }
  return out;
}

std::optional<OversizeFetch> KafkaSource::takeOversizeFetch() {
  if (!consumer_) {
    return std::nullopt;
  }
  auto f = consumer_->takeOversizeFetch();
  if (!f) {
    return std::nullopt;
  }
  return OversizeFetch{f->size, f->limit};
}

VoidResult KafkaSource::reopen() {
  last_.reset();
  (void)consumer_->close(kReopenCloseMs);
  consumer_.reset();
  return open();
}

void KafkaSource::close(int timeoutMs) {
  last_.reset();
  if (consumer_) {
    (void)consumer_->close(timeoutMs);
  }
}

}  // namespace edgelink::agent
