#pragma once

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "kafka/config.h"

namespace edgelink::kafka {

// One owning type per librdkafka object (RAII). Handles are destroyed after their queues,
// lists and messages (declare them first in a class so they are destroyed last).
struct HandleDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
struct MessageDeleter {
  void operator()(rd_kafka_message_t* m) const { rd_kafka_message_destroy(m); }
};
struct QueueDeleter {
  void operator()(rd_kafka_queue_t* q) const { rd_kafka_queue_destroy(q); }
};
struct PartitionListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* l) const {
    rd_kafka_topic_partition_list_destroy(l);
  }
};
struct MetadataDeleter {
  void operator()(const rd_kafka_metadata_t* m) const { rd_kafka_metadata_destroy(m); }
};
struct EventDeleter {
  void operator()(rd_kafka_event_t* e) const { rd_kafka_event_destroy(e); }
};
using HandlePtr = std::unique_ptr<rd_kafka_t, HandleDeleter>;
using MessagePtr = std::unique_ptr<rd_kafka_message_t, MessageDeleter>;
using QueuePtr = std::unique_ptr<rd_kafka_queue_t, QueueDeleter>;
using PartitionListPtr = std::unique_ptr<rd_kafka_topic_partition_list_t, PartitionListDeleter>;
using MetadataPtr = std::unique_ptr<const rd_kafka_metadata_t, MetadataDeleter>;
using EventPtr = std::unique_ptr<rd_kafka_event_t, EventDeleter>;

/// A client of `type` (producer or consumer) from `conf`, which it takes only on success.
Result<HandlePtr> newHandle(rd_kafka_type_t type, ConfPtr conf);
/// A producer handle from `config` for admin requests (CreateTopics, DeleteTopics, ACLs).
Result<HandlePtr> newAdminHandle(const Config& config);

/// An error from librdkafka as an EdgeLink Error (503 for transport/timeouts, 400 for misuse).
Error toError(rd_kafka_resp_err_t err, const std::string& context);

/// A consumed message (or a consumer error carried as a value).
class Message {
 public:
  explicit Message(MessagePtr m) : m_(std::move(m)) {}
  rd_kafka_resp_err_t err() const { return m_->err; }
  bool isError() const { return m_->err != RD_KAFKA_RESP_ERR_NO_ERROR; }
  bool isPartitionEof() const { return m_->err == RD_KAFKA_RESP_ERR__PARTITION_EOF; }
  std::string errorText() const;
  std::string_view payload() const {
    return m_->payload ? std::string_view(static_cast<const char*>(m_->payload), m_->len)
                       : std::string_view();
  }
  std::string_view key() const {
    return m_->key ? std::string_view(static_cast<const char*>(m_->key), m_->key_len)
                   : std::string_view();
  }
  std::string topic() const { return m_->rkt ? rd_kafka_topic_name(m_->rkt) : std::string(); }
  int32_t partition() const { return m_->partition; }
  int64_t offset() const { return m_->offset; }
  /// Broker/producer timestamp in epoch ms, or -1.
  int64_t timestampMs() const;
  /// The timestamp was assigned by the broker when it appended the record (the topic's
  /// message.timestamp.type=LogAppendTime), not by the producer.
  bool timestampIsLogAppendTime() const;
  /// Every value of header `name`, in order (a name may repeat; none: empty).
  std::vector<std::string> headerValues(std::string_view name) const;
  /// Every header (name, value), in order.
  std::vector<std::pair<std::string, std::string>> headers() const;

 private:
  MessagePtr m_;
};

/// Logical offsets, for assign(): a partition's first retained record, and what comes next.
inline constexpr int64_t kOffsetBeginning = RD_KAFKA_OFFSET_BEGINNING;
inline constexpr int64_t kOffsetEnd = RD_KAFKA_OFFSET_END;

/// Whether a daemon's Kafka clients reach their brokers, as their error callbacks and traffic
/// tell: counts the times the link was lost (a transport failure or all brokers down, reported
/// after traffic had gone through). One watch may serve a producer and a consumer: an outage both
/// report counts once, and librdkafka's repeated reports of one outage too. Thread-safe.
class LinkWatch {
 public:
  /// An error from a client's error callback or a consumed error message.
  void onError(rd_kafka_resp_err_t err) noexcept;
  /// Traffic went through (a delivery, a consumed message or partition end): the next transport
  /// failure is a new loss.
  void onTraffic() noexcept { up_.store(true, std::memory_order_relaxed); }
  /// Links lost so far (each one reconnected, or being retried by librdkafka).
  uint64_t losses() const noexcept { return losses_.load(std::memory_order_relaxed); }

 private:
  std::atomic<bool> up_{false};
  std::atomic<uint64_t> losses_{0};
};

/// A (topic, partition, offset) triple.
struct TopicPartitionOffset {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = RD_KAFKA_OFFSET_INVALID;
};

/// Delivery outcome of one produced message, delivered from Producer::poll() on the caller's
/// thread. `opaque` is the value given to produce().
struct DeliveryReport {
  uint64_t opaque = 0;
  rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
  std::string topic;
  int32_t partition = -1;
  int64_t offset = -1;
  int64_t timestampMs = -1;    ///< the record's timestamp as the broker acknowledged it
  bool logAppendTime = false;  ///< timestampMs is the broker's append time (LogAppendTime)

  bool delivered() const { return err == RD_KAFKA_RESP_ERR_NO_ERROR; }
  /// A failure no retry can fix (the message is larger than the broker or topic accepts);
  /// other failures (timeouts, brokers away, queue full) may succeed when produced again.
  bool permanentFailure() const;
  /// librdkafka's text for `err` ("Success" when delivered).
  std::string errorText() const { return rd_kafka_err2str(err); }
};
using DeliveryCallback = std::function<void(const DeliveryReport&)>;

/// A producer. Delivery reports are served by poll()/flush() on the caller's thread.
/// Not copyable or movable: librdkafka holds a pointer to it.
class Producer {
 public:
  /// Creates the producer. `onDelivery` may be empty; `link` (optional, must outlive the
  /// producer) hears of its transport failures and deliveries.
  static Result<std::unique_ptr<Producer>> create(const Config& config,
                                                  DeliveryCallback onDelivery = {},
                                                  LinkWatch* link = nullptr);
  ~Producer();
  Producer(const Producer&) = delete;
  Producer& operator=(const Producer&) = delete;

  /// Queues a message (copied). Fails at once (QUEUE_FULL, unknown partition...) as a value;
  /// otherwise the outcome arrives as a DeliveryReport. partition -1: by key (librdkafka's
  /// consistent partitioner).
  VoidResult produce(const std::string& topic, std::string_view key, std::string_view value,
                     uint64_t opaque = 0, int32_t partition = RD_KAFKA_PARTITION_UA);
  /// The same with headers (name, value), copied.
  VoidResult produce(const std::string& topic, std::string_view key, std::string_view value,
                     const std::vector<std::pair<std::string, std::string>>& headers,
                     uint64_t opaque = 0, int32_t partition = RD_KAFKA_PARTITION_UA);
  /// Serves delivery reports; returns how many events were served.
  int poll(int timeoutMs);
  /// Waits until everything queued is delivered or failed.
  VoidResult flush(int timeoutMs);
  /// Messages queued or in flight.
  int outstanding() const { return rd_kafka_outq_len(rk_.get()); }
  /// Makes librdkafka write to `fd` whenever a delivery report is waiting (for poll() loops).
  void enableIoEvent(int fd);
  rd_kafka_t* handle() const { return rk_.get(); }

 private:
  Producer(DeliveryCallback cb, LinkWatch* link) : onDelivery_(std::move(cb)), link_(link) {}
  static void deliveryThunk(rd_kafka_t* rk, const rd_kafka_message_t* m, void* opaque) noexcept;
  static void errorThunk(rd_kafka_t* rk, int err, const char* reason, void* opaque) noexcept;

  HandlePtr rk_;
  QueuePtr mainQueue_;
  DeliveryCallback onDelivery_;
  LinkWatch* link_ = nullptr;
};

/// A fetch response librdkafka refused because it is larger than receive.message.max.bytes
/// (one record batch the broker holds is that large). librdkafka then reconnects and fetches the
/// same offset again, forever: the partition is stuck until its consumer moves past the batch.
struct OversizeFetch {
  int64_t size = 0;   ///< the response size the broker announced
  int64_t limit = 0;  ///< receive.message.max.bytes
  std::string detail;
};

/// Reads librdkafka's "Invalid response size N (0..L)" error text; nullopt for other errors.
std::optional<OversizeFetch> parseOversizeFetch(rd_kafka_resp_err_t err, const std::string& reason);

/// A consumer: either subscribed (consumer group, regex patterns allowed) or with partitions
/// assigned directly (no group coordination, position kept by the caller).
class Consumer {
 public:
  /// `link` (optional, must outlive the consumer) hears of its transport failures and of the
  /// messages polled.
  static Result<std::unique_ptr<Consumer>> create(const Config& config, LinkWatch* link = nullptr);
  ~Consumer();
  Consumer(const Consumer&) = delete;
  Consumer& operator=(const Consumer&) = delete;

  /// Group subscription; a topic starting with '^' is a regex.
  VoidResult subscribe(const std::vector<std::string>& topics);
  /// Direct assignment, no group membership: starts at each entry's offset (or a logical
  /// offset). librdkafka still wants a group.id configured, though it is never joined.
  VoidResult assign(const std::vector<TopicPartitionOffset>& partitions);
  /// Next message or error, nullopt on timeout.
  std::optional<Message> poll(int timeoutMs);
  /// Up to `max` messages, waiting at most `timeoutMs` for the first.
  std::vector<Message> pollBatch(size_t max, int timeoutMs);
  /// Commits exactly these offsets (the next offset to read) for the group and waits for the
  /// coordinator's answer, at most `timeoutMs` (rd_kafka_commit's synchronous form waits forever
  /// while no coordinator is reachable). On timeout the commit may still land later.
  VoidResult commit(const std::vector<TopicPartitionOffset>& offsets, int timeoutMs = 5000);
  /// Committed offsets of the group for these partitions (offset field filled).
  Result<std::vector<TopicPartitionOffset>> committed(std::vector<TopicPartitionOffset> parts,
                                                      int timeoutMs);
  /// Current assignment.
  Result<std::vector<TopicPartitionOffset>> assignment();
  /// Number of partitions of a topic; kNotFound when the broker does not know it.
  Result<int> partitionCount(const std::string& topic, int timeoutMs);
  /// (low, high) watermark offsets from the broker.
  Result<std::pair<int64_t, int64_t>> watermarks(const std::string& topic, int32_t partition,
                                                 int timeoutMs);
  /// First offset with a timestamp >= tsMs; nullopt when the broker cannot tell (the mock
  /// cluster answers -1 to ListOffsets by time) so callers fall back.
  Result<std::optional<int64_t>> offsetForTime(const std::string& topic, int32_t partition,
                                               int64_t tsMs, int timeoutMs);
  /// Makes librdkafka write to `fd` whenever messages are waiting (for poll() loops).
  void enableIoEvent(int fd);
  /// The last oversize fetch response reported since the previous call (reported from poll():
  /// librdkafka reports identical errors at most every 30 s per broker connection, so a caller
  /// that moves past the batch should use a new consumer to hear of the next one at once).
  std::optional<OversizeFetch> takeOversizeFetch();
  /// Leaves the group cleanly (commits nothing by itself), waiting at most `timeoutMs`: with no
  /// broker reachable librdkafka's close can wait forever (librdkafka issue #3740). Past the
  /// bound the group is left without a goodbye (the coordinator expires the member) and the
  /// handle is destroyed without a second close. Returns false (and logs a warning) when it
  /// had to give up.
  bool close(int timeoutMs = 10000);
  rd_kafka_t* handle() const { return rk_.get(); }

  /// Messages behind, summed over the assignment: per partition the high watermark librdkafka
  /// last saw in a fetch (cached, no request) minus the position; partitions whose position or
  /// watermark is not known yet count nothing.
  int64_t lag();
  /// Assignments received from the group (one per rebalance this consumer took part in).
  int64_t rebalances() const { return rebalances_; }

 private:
  explicit Consumer(LinkWatch* link) : link_(link) {}
  static void errorThunk(rd_kafka_t* rk, int err, const char* reason, void* opaque) noexcept;
  /// Tells link_ what a polled message says about the link.
  void notePolled(const rd_kafka_message_t* m) noexcept;

  /// Does what librdkafka does without a rebalance callback (assign / unassign, eager or
  /// cooperative), counting the assignments.
  static void rebalanceThunk(rd_kafka_t* rk, int err, rd_kafka_topic_partition_list_t* parts,
                             void* opaque) noexcept;
  void rebalance(int err, rd_kafka_topic_partition_list_t* parts);

  std::atomic<int64_t> rebalances_{0};

  std::mutex mutex_;  ///< guards oversize_ (errors may come from any poll)
  std::optional<OversizeFetch> oversize_;
  HandlePtr rk_;
  QueuePtr queue_;
  bool closed_ = false;
  bool abandoned_ = false;  ///< close gave up: destroy without closing again
  LinkWatch* link_ = nullptr;
};

/// Topic names of the cluster matching `prefix` (metadata request).
Result<std::vector<std::string>> listTopics(rd_kafka_t* rk, const std::string& prefix,
                                            int timeoutMs);

/// A topic for createTopics().
struct NewTopic {
  std::string name;
  int partitions = 1;
  int replicationFactor = 1;
  std::map<std::string, std::string> configs;  ///< topic configs such as retention.ms
};

/// Creates topics with the admin API, kCreateTopicsBatch per CreateTopics request (a fleet's
/// 10,000 topics in 20 requests). The outer error is a request that failed as a whole; the
/// inner ones are per topic, in the order given (an existing topic: kConflict).
inline constexpr size_t kCreateTopicsBatch = 500;
Result<std::vector<VoidResult>> createTopics(const Config& config,
                                             const std::vector<NewTopic>& topics, int timeoutMs);

/// Creates one topic (createTopics() of one). An existing topic is kConflict.
VoidResult createTopic(const Config& config, const std::string& topic, int partitions,
                       int replicationFactor, const std::map<std::string, std::string>& configs,
                       int timeoutMs);

/// Deletes a topic with the admin API. An unknown topic is kNotFound.
VoidResult deleteTopic(const Config& config, const std::string& topic, int timeoutMs);

}  // namespace edgelink::kafka
