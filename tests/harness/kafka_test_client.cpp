#include "harness/kafka_test_client.h"

#include <unistd.h>

#include <stdexcept>

#include "core/clock.h"

namespace edgelink::testing {

KafkaTestClient::KafkaTestClient(std::string bootstrap, std::vector<std::string> extra)
    : bootstrap_(std::move(bootstrap)), extra_(std::move(extra)) {}

KafkaTestClient::~KafkaTestClient() = default;

kafka::Config KafkaTestClient::config() const {
  kafka::Config c;
  c.set("bootstrap.servers", bootstrap_);
  c.set("log_level", "4");
  (void)c.apply(extra_, "test client");
  return c;
}

void KafkaTestClient::produce(const std::string& topic, const std::string& key,
                              const std::string& value, int64_t timestampMs) {
  produce(topic, key, value, Headers{}, timestampMs);
}

void KafkaTestClient::produce(const std::string& topic, const std::string& key,
                              const std::string& value, const Headers& headers,
                              int64_t timestampMs) {
  if (!producer_) {
    kafka::Config c = config();
    c.set("linger.ms", "0");
    c.set("partitioner", "murmur2_random");
    // Tests write oversize messages on purpose: the client lets the broker decide (librdkafka's
    // own maximum; a real broker refuses above its max.message.bytes).
    c.setDefault("message.max.bytes", "1000000000");
    // A message the broker refuses (too large, unknown topic) fails in its delivery report.
    auto failed = deliveryError_;
    auto p = kafka::Producer::create(c, [failed](const kafka::DeliveryReport& r) {
      if (r.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        *failed = std::string(rd_kafka_err2name(r.err)) + ": " + rd_kafka_err2str(r.err);
      }
    });
    if (!p) {
      throw std::runtime_error(p.error().describe());
    }
    producer_ = std::move(*p);
  }
  deliveryError_->clear();
  // librdkafka's RD_KAFKA_V_* macros expand to C casts.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wold-style-cast"
  rd_kafka_headers_t* hdrs = nullptr;  // the message's once produced
  if (!headers.empty()) {
    hdrs = rd_kafka_headers_new(headers.size());
    for (const auto& [name, v] : headers) {
      rd_kafka_header_add(hdrs, name.data(), static_cast<ssize_t>(name.size()), v.data(),
                          static_cast<ssize_t>(v.size()));
    }
  }
  rd_kafka_resp_err_t err =
      rd_kafka_producev(producer_->handle(), RD_KAFKA_V_TOPIC(topic.c_str()),
                        RD_KAFKA_V_KEY(const_cast<char*>(key.data()), key.size()),
                        RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_TIMESTAMP(timestampMs),
                        RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_END);
#pragma GCC diagnostic pop
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR && hdrs != nullptr) {
    rd_kafka_headers_destroy(hdrs);
  }
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    throw std::runtime_error(std::string("produce to ") + topic + ": " + rd_kafka_err2str(err));
  }
  if (auto r = producer_->flush(15000); !r) {
    throw std::runtime_error(r.error().describe());
  }
  if (!deliveryError_->empty()) {
    throw ProduceRefused("produce to " + topic + " (" + std::to_string(value.size()) +
                         " bytes): " + *deliveryError_);
  }
}

std::vector<KafkaTestClient::Record> KafkaTestClient::readFromStart(const std::string& topic,
                                                                    size_t count, int timeoutMs) {
  kafka::Config c = config();
  c.set("fetch.wait.max.ms", "10");
  c.set("enable.partition.eof", "false");
  // librdkafka's consumer needs a group.id even to assign(); assign() never joins the group.
  c.set("group.id", "edgelink-test-reader-" + std::to_string(::getpid()) + "-" +
                        std::to_string(SystemClock::instance().monoMs()));
  c.set("enable.auto.commit", "false");
  auto consumer = kafka::Consumer::create(c);
  if (!consumer) {
    throw std::runtime_error(consumer.error().describe());
  }
  const auto& clock = SystemClock::instance();
  int64_t deadline = clock.monoMs() + timeoutMs;
  Result<int> parts = Error(Status::kNotFound, "not asked yet");
  while (clock.monoMs() < deadline) {
    parts = (*consumer)->partitionCount(topic, 2000);
    if (parts) {
      break;
    }
  }
  if (!parts) {
    return {};
  }
  std::vector<kafka::TopicPartitionOffset> assignment;
  for (int p = 0; p < *parts; ++p) {
    assignment.push_back({topic, p, RD_KAFKA_OFFSET_BEGINNING});
  }
  if (auto r = (*consumer)->assign(assignment); !r) {
    throw std::runtime_error(r.error().describe());
  }
  std::vector<Record> out;
  while (out.size() < count && clock.monoMs() < deadline) {
    auto m = (*consumer)->poll(50);
    if (!m || m->isError()) {
      continue;
    }
    out.push_back({m->topic(), m->partition(), m->offset(), std::string(m->key()),
                   std::string(m->payload()), m->headers()});
  }
  return out;
}

std::vector<std::string> KafkaTestClient::Record::header(const std::string& name) const {
  std::vector<std::string> out;
  for (const auto& [n, v] : headers) {
    if (n == name) {
      out.push_back(v);
    }
  }
  return out;
}

}  // namespace edgelink::testing
