// The consumer half of kafka/client.h: subscribe or assign, poll, commit and close with
// bounds, watermarks and lag, and the rebalance callback that counts assignments.
#include <algorithm>
#include <chrono>
#include <cstring>

#include "core/logging.h"
#include "kafka/client.h"  // this file is half of client.cpp: the one header for both

namespace edgelink::kafka {
namespace {

PartitionListPtr toList(const std::vector<TopicPartitionOffset>& parts) {
  PartitionListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(parts.size())));
  for (const auto& p : parts) {
    rd_kafka_topic_partition_list_add(list.get(), p.topic.c_str(), p.partition)->offset = p.offset;
  }
  return list;
}

std::vector<TopicPartitionOffset> fromList(const rd_kafka_topic_partition_list_t* list) {
  std::vector<TopicPartitionOffset> out;
  for (int i = 0; list && i < list->cnt; ++i) {
    out.push_back({list->elems[i].topic, list->elems[i].partition, list->elems[i].offset});
  }
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Consumer

std::optional<OversizeFetch> parseOversizeFetch(rd_kafka_resp_err_t err,
                                                const std::string& reason) {
  static const std::string kMarker = "Invalid response size ";
  auto at = reason.find(kMarker);
  if (err != RD_KAFKA_RESP_ERR__BAD_MSG || at == std::string::npos) {
    return std::nullopt;
  }
  OversizeFetch f;
  f.detail = reason;
  const char* p = reason.c_str() + at + kMarker.size();
  char* end = nullptr;
  f.size = std::strtoll(p, &end, 10);
  if (end != nullptr && std::strncmp(end, " (0..", 5) == 0) {
    f.limit = std::strtoll(end + 5, nullptr, 10);
  }
  return f;
}

void Consumer::errorThunk(rd_kafka_t* rk, int err, const char* reason, void* opaque) noexcept {
  logClientError(rk, err, reason);
  try {
    auto* self = static_cast<Consumer*>(opaque);
    if (self != nullptr && self->link_ != nullptr) {
      self->link_->onError(static_cast<rd_kafka_resp_err_t>(err));
    }
    if (self == nullptr || reason == nullptr) {
      return;
    }
    if (auto f = parseOversizeFetch(static_cast<rd_kafka_resp_err_t>(err), reason)) {
      std::lock_guard<std::mutex> lock(self->mutex_);
      self->oversize_ = std::move(*f);
    }
  } catch (...) {  // NOLINT(bugprone-empty-catch): nothing may unwind into librdkafka
  }
}

std::optional<OversizeFetch> Consumer::takeOversizeFetch() {
  std::lock_guard<std::mutex> lock(mutex_);
  std::optional<OversizeFetch> out;
  out.swap(oversize_);
  return out;
}

Result<std::unique_ptr<Consumer>> Consumer::create(const Config& config, LinkWatch* link) {
  auto conf = config.build();
  if (!conf) {
    return conf.error();
  }
  std::unique_ptr<Consumer> c(new Consumer(link));
  rd_kafka_conf_set_error_cb(conf->get(), &Consumer::errorThunk);
  rd_kafka_conf_set_rebalance_cb(
      conf->get(), [](rd_kafka_t* rk, rd_kafka_resp_err_t err,
                      rd_kafka_topic_partition_list_t* parts, void* opaque) noexcept {
        Consumer::rebalanceThunk(rk, static_cast<int>(err), parts, opaque);
      });
  rd_kafka_conf_set_opaque(conf->get(), c.get());
  auto rk = newHandle(RD_KAFKA_CONSUMER, std::move(*conf));
  if (!rk) {
    return rk.error();
  }
  c->rk_ = std::move(*rk);
  rd_kafka_poll_set_consumer(c->rk_.get());
  c->queue_.reset(rd_kafka_queue_get_consumer(c->rk_.get()));
  return c;
}

Consumer::~Consumer() {
  close();
  queue_.reset();
  if (abandoned_ && rk_) {
    rd_kafka_destroy_flags(rk_.release(), RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
  }
  rk_.reset();
}

VoidResult Consumer::subscribe(const std::vector<std::string>& topics) {
  PartitionListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(topics.size())));
  for (const auto& t : topics) {
    rd_kafka_topic_partition_list_add(list.get(), t.c_str(), RD_KAFKA_PARTITION_UA);
  }
  auto err = rd_kafka_subscribe(rk_.get(), list.get());
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return toError(err, "subscribe");
  }
  return {};
}

VoidResult Consumer::assign(const std::vector<TopicPartitionOffset>& partitions) {
  auto list = toList(partitions);
  auto err = rd_kafka_assign(rk_.get(), list.get());
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return toError(err, "assign");
  }
  return {};
}

std::optional<Message> Consumer::poll(int timeoutMs) {
  rd_kafka_message_t* m = rd_kafka_consumer_poll(rk_.get(), timeoutMs);
  if (m == nullptr) {
    return std::nullopt;
  }
  notePolled(m);
  return Message(MessagePtr(m));
}

void Consumer::notePolled(const rd_kafka_message_t* m) noexcept {
  if (link_ == nullptr) {
    return;
  }
  if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR || m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
    link_->onTraffic();
  } else {
    link_->onError(m->err);
  }
}

std::vector<Message> Consumer::pollBatch(size_t max, int timeoutMs) {
  std::vector<Message> out;
  if (max == 0) {
    return out;
  }
  std::vector<rd_kafka_message_t*> raw(max);
  // Only the first message is waited for: librdkafka's batch call would wait out the whole
  // timeout for the batch to fill, adding it to every message's latency when traffic is light.
  // What is queued behind the first is taken at once; under load the queue fills while the
  // caller works, so batches grow by themselves.
  ssize_t n = rd_kafka_consume_batch_queue(queue_.get(), timeoutMs, raw.data(), 1);
  if (n == 1 && max > 1) {
    ssize_t more = rd_kafka_consume_batch_queue(queue_.get(), 0, raw.data() + 1, max - 1);
    n += std::max<ssize_t>(more, 0);
  }
  for (ssize_t i = 0; i < n; ++i) {
    notePolled(raw[static_cast<size_t>(i)]);
    out.emplace_back(MessagePtr(raw[static_cast<size_t>(i)]));
  }
  return out;
}

VoidResult Consumer::commit(const std::vector<TopicPartitionOffset>& offsets, int timeoutMs) {
  if (offsets.empty()) {
    return {};
  }
  auto list = toList(offsets);
  // The answer comes back on a queue of our own, so the wait is bounded. Dropping the queue
  // with the commit still in flight is safe: librdkafka then discards the late answer.
  QueuePtr answers(rd_kafka_queue_new(rk_.get()));
  auto err = rd_kafka_commit_queue(rk_.get(), list.get(), answers.get(), nullptr, nullptr);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return toError(err, "commit");
  }
  EventPtr event(rd_kafka_queue_poll(answers.get(), timeoutMs));
  if (!event) {
    return Error(Status::kTimeout, "commit: no answer from the group coordinator within " +
                                       std::to_string(timeoutMs) + " ms");
  }
  if (auto e = rd_kafka_event_error(event.get()); e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return toError(e, "commit");
  }
  if (const auto* parts = rd_kafka_event_topic_partition_list(event.get())) {
    for (int i = 0; i < parts->cnt; ++i) {
      const auto& p = parts->elems[i];
      if (p.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        return toError(p.err,
                       "commit " + std::string(p.topic) + "[" + std::to_string(p.partition) + "]");
      }
    }
  }
  return {};
}

Result<std::vector<TopicPartitionOffset>> Consumer::committed(
    std::vector<TopicPartitionOffset> parts, int timeoutMs) {
  auto list = toList(parts);
  auto err = rd_kafka_committed(rk_.get(), list.get(), timeoutMs);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return toError(err, "committed offsets");
  }
  return fromList(list.get());
}

Result<std::vector<TopicPartitionOffset>> Consumer::assignment() {
  rd_kafka_topic_partition_list_t* raw = nullptr;
  auto err = rd_kafka_assignment(rk_.get(), &raw);
  PartitionListPtr list(raw);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return toError(err, "assignment");
  }
  return fromList(list.get());
}

Result<int> Consumer::partitionCount(const std::string& topic, int timeoutMs) {
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk_.get(), topic.c_str(), nullptr);
  const rd_kafka_metadata_t* raw = nullptr;
  auto err = rd_kafka_metadata(rk_.get(), 0, rkt, &raw, timeoutMs);
  rd_kafka_topic_destroy(rkt);
  MetadataPtr md(raw);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return toError(err, "metadata for " + topic);
  }
  for (int i = 0; i < md->topic_cnt; ++i) {
    const auto& t = md->topics[i];
    if (topic == t.topic) {
      if (t.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        return toError(t.err, "topic " + topic);
      }
      if (t.partition_cnt == 0) {
        return Error(Status::kNotFound, "topic " + topic + " has no partitions yet");
      }
      return t.partition_cnt;
    }
  }
  return Error(Status::kNotFound, "topic " + topic + " is unknown to the broker");
}

Result<std::pair<int64_t, int64_t>> Consumer::watermarks(const std::string& topic,
                                                         int32_t partition, int timeoutMs) {
  int64_t lo = -1, hi = -1;
  auto err =
      rd_kafka_query_watermark_offsets(rk_.get(), topic.c_str(), partition, &lo, &hi, timeoutMs);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return toError(err, "watermarks of " + topic + "[" + std::to_string(partition) + "]");
  }
  return std::make_pair(lo, hi);
}

Result<std::optional<int64_t>> Consumer::offsetForTime(const std::string& topic, int32_t partition,
                                                       int64_t tsMs, int timeoutMs) {
  auto list = toList({{topic, partition, tsMs}});
  auto err = rd_kafka_offsets_for_times(rk_.get(), list.get(), timeoutMs);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return toError(err, "offsets for time on " + topic);
  }
  const auto& e = list->elems[0];
  if (e.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return toError(e.err, "offsets for time on " + topic);
  }
  if (e.offset < 0) {
    return std::optional<int64_t>();
  }
  return std::optional<int64_t>(e.offset);
}

void Consumer::enableIoEvent(int fd) {
  static const char kByte = 'c';
  rd_kafka_queue_io_event_enable(queue_.get(), fd, &kByte, 1);
}

void Consumer::rebalanceThunk(rd_kafka_t*, int err, rd_kafka_topic_partition_list_t* parts,
                              void* opaque) noexcept {
  try {
    static_cast<Consumer*>(opaque)->rebalance(err, parts);
  } catch (...) {
  }
}

void Consumer::rebalance(int err, rd_kafka_topic_partition_list_t* parts) {
  rd_kafka_t* rk = rk_.get();
  const bool cooperative = std::strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
  rd_kafka_error_t* error = nullptr;
  rd_kafka_resp_err_t plain = RD_KAFKA_RESP_ERR_NO_ERROR;
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    ++rebalances_;
    if (cooperative) {
      error = rd_kafka_incremental_assign(rk, parts);
    } else {
      plain = rd_kafka_assign(rk, parts);
    }
  } else if (cooperative) {
    error = rd_kafka_incremental_unassign(rk, parts);
  } else {
    plain = rd_kafka_assign(rk, nullptr);
  }
  if (error != nullptr) {
    log::get("kafka")->warn("rebalance: {}", rd_kafka_error_string(error));
    rd_kafka_error_destroy(error);
  } else if (plain != RD_KAFKA_RESP_ERR_NO_ERROR) {
    log::get("kafka")->warn("rebalance: {}", rd_kafka_err2str(plain));
  }
}

int64_t Consumer::lag() {
  rd_kafka_topic_partition_list_t* raw = nullptr;
  if (rd_kafka_assignment(rk_.get(), &raw) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return 0;
  }
  PartitionListPtr list(raw);
  if (list->cnt == 0 || rd_kafka_position(rk_.get(), list.get()) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return 0;
  }
  int64_t sum = 0;
  for (int i = 0; i < list->cnt; ++i) {
    const auto& p = list->elems[i];
    int64_t low = -1;
    int64_t high = -1;
    if (p.offset < 0 || rd_kafka_get_watermark_offsets(rk_.get(), p.topic, p.partition, &low,
                                                       &high) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      continue;
    }
    if (high > p.offset) {
      sum += high - p.offset;
    }
  }
  return sum;
}

bool Consumer::close(int timeoutMs) {
  if (closed_ || !rk_) {
    return !abandoned_;
  }
  closed_ = true;
  QueuePtr events(rd_kafka_queue_new(rk_.get()));
  if (rd_kafka_error_t* e = rd_kafka_consumer_close_queue(rk_.get(), events.get())) {
    log::get("kafka")->warn("closing the consumer: {}; destroyed without a clean close",
                            rd_kafka_error_string(e));
    rd_kafka_error_destroy(e);
    abandoned_ = true;
    return false;
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeoutMs);
  while (rd_kafka_consumer_closed(rk_.get()) == 0) {
    if (std::chrono::steady_clock::now() >= deadline) {
      log::get("kafka")->warn(
          "closing the consumer: no answer from Kafka within {} ms; destroyed without a clean "
          "close (a consumer group drops the member when its session times out)",
          timeoutMs);
      abandoned_ = true;
      return false;
    }
    // While closing, the rebalance callback's work arrives as events: the final revoke must
    // be acted on (unassign) for the close to complete. Other events are informational.
    EventPtr ev(rd_kafka_queue_poll(events.get(), 100));
    if (ev && rd_kafka_event_type(ev.get()) == RD_KAFKA_EVENT_REBALANCE) {
      rebalance(static_cast<int>(rd_kafka_event_error(ev.get())),
                rd_kafka_event_topic_partition_list(ev.get()));
    }
  }
  return true;
}

}  // namespace edgelink::kafka
