#include "cluster_move.h"

#include <unistd.h>

#include <chrono>

#include "agent_log.h"

namespace edgelink::agent {

namespace {

constexpr int kRetryMs = 1000;

}  // namespace

ClusterMove::ClusterMove(const AgentConfig& target, int64_t deadlineMono, const Clock& clock,
                         int wakeFd, kafka::LinkWatch* link, kafka::DeliveryCallback onDelivery,
                         AgentCore& core, ActionRunner& runner)
    : target_(target),
      deadlineMono_(deadlineMono),
      timeoutMs_(deadlineMono - clock.monoMs()),
      clock_(clock),
      wakeFd_(wakeFd) {
  auto producer = kafka::Producer::create(target_.producerConfig, std::move(onDelivery), link);
  if (!producer) {
    setupError_ = "cannot make the new cluster's producer: " + producer.error().describe();
    return;
  }
  auto source = KafkaSource::create(target_.consumerConfig, target_.topic, wakeFd_, link);
  if (!source) {
    setupError_ = "cannot make the new cluster's consumer: " + source.error().describe();
    return;
  }
  clients_.producer = std::move(*producer);
  clients_.producer->enableIoEvent(wakeFd_);
  clients_.source = std::move(*source);
  clients_.reader = std::make_unique<TopicReader>(*clients_.source, core, runner, target_.topic,
                                                  target_.options.maxRequestAge);
  thread_ = std::thread([this] { lookUp(); });
}

ClusterMove::~ClusterMove() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
  clients_.reader.reset();
  if (clients_.source) {
    clients_.source->close(2000);
  }
}

void ClusterMove::lookUp() {
  bool warned = false;
  for (;;) {
    std::string why;
    // No stored position on a new cluster: each partition from the first request younger than
    // max-request-age, found by timestamp.
    auto plan = clients_.reader->plan({}, clock_.wallMs(), warned, &why);
    std::unique_lock<std::mutex> lock(mutex_);
    if (plan) {
      found_ = std::move(plan);
      lock.unlock();
      char b = 'm';
      ssize_t ignored = ::write(wakeFd_, &b, 1);
      (void)ignored;
      return;
    }
    lastError_ = why;
    if (cv_.wait_for(lock, std::chrono::milliseconds(kRetryMs), [this] { return stop_; })) {
      return;
    }
  }
}

ClusterMove::State ClusterMove::poll(int64_t nowMono) {
  if (!setupError_.empty()) {
    return State::kFailed;
  }
  std::lock_guard<std::mutex> lock(mutex_);
  if (found_) {
    return State::kReady;
  }
  return nowMono >= deadlineMono_ ? State::kFailed : State::kWaiting;
}

std::string ClusterMove::failure() const {
  if (!setupError_.empty()) {
    return setupError_;
  }
  std::lock_guard<std::mutex> lock(mutex_);
  return "cannot read topic " + target_.topic + " on the new cluster (" +
         target_.options.kafkaBrokers + ") within " + std::to_string(timeoutMs_ / 1000) + " s" +
         (lastError_.empty() ? "" : ": " + lastError_);
}

ClusterMove::Clients ClusterMove::take() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    clients_.plan = std::move(*found_);
    found_.reset();
  }
  if (thread_.joinable()) {
    thread_.join();  // it returned when it found the plan
  }
  return std::move(clients_);
}

}  // namespace edgelink::agent
