// The chaos run's simulated web backend: signed requests (ping, system_info, frp_start,
// frp_stop) to random edges at a steady rate, each with its delivery report.
#include <chrono>

#include "chaos.h"
#include "e2e_common.h"
#include "security/signature.h"

namespace edgelink::bench::chaos {
namespace {

using namespace edgelink::testing;

/// A session long enough that only stop requests end it during the run.
constexpr int kAutoStopSeconds = 3600;

std::string startBody(uint16_t port) {
  return "{\"services\":{\"ssh\":" + std::to_string(port) +
         "},\"auto_stop_seconds\":" + std::to_string(kAutoStopSeconds) + "}";
}

}  // namespace

Load::Load(World& w, const Args& a) : world_(w), args_(a) {
  kafka::Config c = e2e::clientConfig(w.harness().broker(), false);
  auto producer = kafka::Producer::create(c, [this](const kafka::DeliveryReport& r) {
    if (r.opaque < published_.size()) {
      published_[r.opaque].delivered = r.delivered() ? 1 : -1;
    }
  });
  if (!producer) {
    throw std::runtime_error("producer: " + producer.error().describe());
  }
  producer_ = std::move(*producer);
  published_.reserve(static_cast<size_t>(a.rate) * static_cast<size_t>(a.minutes * 60 + 60));
}

void Load::start() {
  thread_ = std::thread([this] { run(); });
}

Load::~Load() {
  stop();
}

void Load::stop() {
  if (stop_.exchange(true)) {
    return;
  }
  if (thread_.joinable()) {
    thread_.join();
  }
  (void)producer_->flush(120000);
}

void Load::run() {
  // The load's own stream, apart from the faults' (the same seed replays both).
  std::mt19937 rng(args_.seed ^ 0x5eedu);
  const auto start = std::chrono::steady_clock::now();
  for (int64_t i = 0; !stop_; ++i) {
    const auto due = start + std::chrono::microseconds(i * 1000000 / args_.rate);
    while (!stop_ && std::chrono::steady_clock::now() < due) {
      producer_->poll(0);
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    if (!stop_) {
      publishOne(rng);
    }
  }
}

void Load::publishOne(std::mt19937& rng) {
  auto& agents = world_.agents();
  const auto& sims = world_.simEdges();
  // One request in five goes to a real agent (they are few; frp there is real).
  const bool real = std::uniform_int_distribution<int>(0, 4)(rng) == 0;
  static const char* const kTypes[] = {"ping", "system_info", "frp_start", "frp_start", "frp_stop"};
  const std::string type = kTypes[std::uniform_int_distribution<int>(0, 4)(rng)];
  std::string edge;
  uint16_t port = 0;
  if (real) {
    RealEdge& e = agents[std::uniform_int_distribution<size_t>(0, agents.size() - 1)(rng)];
    edge = e.agent->setup().edgeId;
    port = e.ports[std::uniform_int_distribution<size_t>(0, e.ports.size() - 1)(rng)];
  } else {
    const size_t i = std::uniform_int_distribution<size_t>(0, sims.size() - 1)(rng);
    edge = sims[i];
    port = world_.simPort(i);
  }
  (void)publish(edge, type, type == "frp_start" ? startBody(port) : "{}");
}

std::string Load::publish(const std::string& edge, const std::string& type,
                          const std::string& body) {
  auto id = envelope::Id::generate();
  const std::string value = requestJson(id, type, body, nowMs());
  const std::string topic = world_.harness().topic(edge);
  const auto sig = security::signMessage(e2e::webBackendKey(), topic, value);
  const uint64_t index = published_.size();
  published_.push_back({id.str(), edge, type, 0});
  auto r = producer_->produce(topic, edge, value,
                              {{std::string(security::kKeyIdHeader), sig.keyId},
                               {std::string(security::kSignatureHeader), sig.signature}},
                              index);
  if (!r) {
    published_.back().delivered = -1;
    if (problem_.empty()) {
      problem_ = "produce: " + r.error().describe();
    }
  }
  return id.str();
}

}  // namespace edgelink::bench::chaos
