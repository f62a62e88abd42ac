#include "kafka/client.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>

#include "core/logging.h"

namespace edgelink::kafka {

Result<HandlePtr> newHandle(rd_kafka_type_t type, ConfPtr conf) {
  char err[512];
  // rd_kafka_new takes ownership of conf only on success.
  rd_kafka_t* rk = rd_kafka_new(type, conf.get(), err, sizeof err);
  if (rk == nullptr) {
    return Error(Status::kBadRequest, std::string("cannot create Kafka client: ") + err);
  }
  (void)conf.release();
  return HandlePtr(rk);
}

Result<HandlePtr> newAdminHandle(const Config& config) {
  auto conf = config.build();
  if (!conf) {
    return conf.error();
  }
  return newHandle(RD_KAFKA_PRODUCER, std::move(*conf));
}

Error toError(rd_kafka_resp_err_t err, const std::string& context) {
  Status s = Status::kInternal;
  switch (err) {
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
      s = Status::kTimeout;
      break;
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
    case RD_KAFKA_RESP_ERR__RESOLVE:
    case RD_KAFKA_RESP_ERR__QUEUE_FULL:
    case RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION:
      s = Status::kUnavailable;
      break;
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
      s = Status::kNotFound;
      break;
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
      s = Status::kTooLarge;
      break;
    case RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS:
      s = Status::kConflict;
      break;
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED:
    case RD_KAFKA_RESP_ERR__AUTHENTICATION:
      s = Status::kForbidden;
      break;
    default:
      break;
  }
  return Error(s, context + ": " + rd_kafka_err2str(err) + " (" + rd_kafka_err2name(err) + ")");
}

// ---------------------------------------------------------------------------------------------
// Message

std::string Message::errorText() const {
  return std::string(rd_kafka_err2name(m_->err)) + ": " + rd_kafka_message_errstr(m_.get());
}

int64_t Message::timestampMs() const {
  rd_kafka_timestamp_type_t type;
  return rd_kafka_message_timestamp(m_.get(), &type);
}

namespace {

/// A broker's append time, trusted as the time, unless no real broker could give it: librdkafka's
/// mock cluster reports LogAppendTime near 0. Before 2024 it is no broker time.
bool trustedAppendTime(rd_kafka_timestamp_type_t type, int64_t ms) {
  constexpr int64_t kEarliestMs = 1704067200000;  // 2024-01-01T00:00:00Z
  return type == RD_KAFKA_TIMESTAMP_LOG_APPEND_TIME && ms >= kEarliestMs;
}

}  // namespace

bool Message::timestampIsLogAppendTime() const {
  rd_kafka_timestamp_type_t type = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE;
  const int64_t ms = rd_kafka_message_timestamp(m_.get(), &type);
  return trustedAppendTime(type, ms);
}

std::vector<std::pair<std::string, std::string>> Message::headers() const {
  std::vector<std::pair<std::string, std::string>> out;
  rd_kafka_headers_t* hdrs = nullptr;  // owned by the message
  if (rd_kafka_message_headers(m_.get(), &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR || hdrs == nullptr) {
    return out;
  }
  const char* n = nullptr;
  const void* v = nullptr;
  size_t len = 0;
  for (size_t i = 0; rd_kafka_header_get_all(hdrs, i, &n, &v, &len) == RD_KAFKA_RESP_ERR_NO_ERROR;
       ++i) {
    out.emplace_back(n != nullptr ? n : "",
                     v != nullptr ? std::string(static_cast<const char*>(v), len) : std::string());
  }
  return out;
}

std::vector<std::string> Message::headerValues(std::string_view name) const {
  std::vector<std::string> out;
  for (auto& [n, v] : headers()) {
    if (n == name) {
      out.push_back(std::move(v));
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Producer

// ---------------------------------------------------------------------------------------------
// LinkWatch

void LinkWatch::onError(rd_kafka_resp_err_t err) noexcept {
  if (err != RD_KAFKA_RESP_ERR__TRANSPORT && err != RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
    return;
  }
  if (up_.exchange(false, std::memory_order_relaxed)) {
    losses_.fetch_add(1, std::memory_order_relaxed);
  }
}

Result<std::unique_ptr<Producer>> Producer::create(const Config& config,
                                                   DeliveryCallback onDelivery, LinkWatch* link) {
  auto conf = config.build();
  if (!conf) {
    return conf.error();
  }
  std::unique_ptr<Producer> p(new Producer(std::move(onDelivery), link));
  rd_kafka_conf_set_dr_msg_cb(conf->get(), &Producer::deliveryThunk);
  if (link != nullptr) {
    rd_kafka_conf_set_error_cb(conf->get(), &Producer::errorThunk);
  }
  rd_kafka_conf_set_opaque(conf->get(), p.get());
  auto rk = newHandle(RD_KAFKA_PRODUCER, std::move(*conf));
  if (!rk) {
    return rk.error();
  }
  p->rk_ = std::move(*rk);
  p->mainQueue_.reset(rd_kafka_queue_get_main(p->rk_.get()));
  return p;
}

Producer::~Producer() {
  mainQueue_.reset();
  rk_.reset();  // rd_kafka_destroy: outstanding messages fail with __DESTROY (no callbacks)
}

bool DeliveryReport::permanentFailure() const {
  return err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE || err == RD_KAFKA_RESP_ERR_INVALID_MSG_SIZE ||
         err == RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE;
}

void Producer::deliveryThunk(rd_kafka_t* /*rk*/, const rd_kafka_message_t* m,
                             void* opaque) noexcept {
  auto* self = static_cast<Producer*>(opaque);
  if (self != nullptr && self->link_ != nullptr && m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    self->link_->onTraffic();
  }
  if (self == nullptr || !self->onDelivery_) {
    return;
  }
  try {
    DeliveryReport r;
    r.opaque = reinterpret_cast<uint64_t>(m->_private);
    r.err = m->err;
    r.topic = m->rkt ? rd_kafka_topic_name(m->rkt) : "";
    r.partition = m->partition;
    r.offset = m->offset;
    rd_kafka_timestamp_type_t type = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE;
    r.timestampMs = rd_kafka_message_timestamp(m, &type);
    r.logAppendTime = trustedAppendTime(type, r.timestampMs);
    self->onDelivery_(r);
  } catch (const std::exception& e) {
    log::get("kafka")->error("delivery callback threw: {}", e.what());
  } catch (...) {
    log::get("kafka")->error("delivery callback threw");
  }
}

void Producer::errorThunk(rd_kafka_t* rk, int err, const char* reason, void* opaque) noexcept {
  logClientError(rk, err, reason);
  if (auto* self = static_cast<Producer*>(opaque); self != nullptr && self->link_ != nullptr) {
    self->link_->onError(static_cast<rd_kafka_resp_err_t>(err));
  }
}

// librdkafka's RD_KAFKA_V_* macros expand to C casts.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wold-style-cast"
VoidResult Producer::produce(const std::string& topic, std::string_view key, std::string_view value,
                             uint64_t opaque, int32_t partition) {
  return produce(topic, key, value, {}, opaque, partition);
}

VoidResult Producer::produce(const std::string& topic, std::string_view key, std::string_view value,
                             const std::vector<std::pair<std::string, std::string>>& headers,
                             uint64_t opaque, int32_t partition) {
  // The message owns its header list once produced; until then it is ours to free.
  rd_kafka_headers_t* hdrs = nullptr;
  if (!headers.empty()) {
    hdrs = rd_kafka_headers_new(headers.size());
    for (const auto& [name, v] : headers) {
      rd_kafka_header_add(hdrs, name.data(), static_cast<ssize_t>(name.size()), v.data(),
                          static_cast<ssize_t>(v.size()));
    }
  }
  rd_kafka_resp_err_t err = rd_kafka_producev(
      rk_.get(), RD_KAFKA_V_TOPIC(topic.c_str()),
      RD_KAFKA_V_KEY(const_cast<char*>(key.data()), key.size()),
      RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_PARTITION(partition),
      RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_OPAQUE(reinterpret_cast<void*>(opaque)), RD_KAFKA_V_END);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR && hdrs != nullptr) {
    rd_kafka_headers_destroy(hdrs);
  }
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return toError(err, "produce to " + topic);
  }
  return {};
}
#pragma GCC diagnostic pop

int Producer::poll(int timeoutMs) {
  return rd_kafka_poll(rk_.get(), timeoutMs);
}

VoidResult Producer::flush(int timeoutMs) {
  rd_kafka_resp_err_t err = rd_kafka_flush(rk_.get(), timeoutMs);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return toError(err, "flush (" + std::to_string(outstanding()) + " messages outstanding)");
  }
  return {};
}

void Producer::enableIoEvent(int fd) {
  static const char kByte = 'p';
  rd_kafka_queue_io_event_enable(mainQueue_.get(), fd, &kByte, 1);
}

}  // namespace edgelink::kafka
