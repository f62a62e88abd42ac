#include "round_trip.h"

#include <time.h>

#include <algorithm>
#include <stdexcept>

#include "core/clock.h"

namespace edgelink::bench {
namespace {

int64_t monoMs() {
  return SystemClock::instance().monoMs();
}

}  // namespace

double nowUs() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) {
    return 0;
  }
  std::sort(v.begin(), v.end());
  auto i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

RoundTripClient::RoundTripClient(const kafka::Config& producer, const kafka::Config& consumer,
                                 std::string topic)
    : topic_(std::move(topic)) {
  auto p = kafka::Producer::create(producer);
  if (!p) {
    throw std::runtime_error("producer: " + p.error().describe());
  }
  auto c = kafka::Consumer::create(consumer);
  if (!c) {
    throw std::runtime_error("consumer: " + c.error().describe());
  }
  producer_ = std::move(*p);
  consumer_ = std::move(*c);
  if (auto r = consumer_->assign({{topic_, 0, RD_KAFKA_OFFSET_END}}); !r) {
    throw std::runtime_error("assign " + topic_ + ": " + r.error().describe());
  }
}

void RoundTripClient::produce(const std::string& key, const std::string& value) {
  std::vector<std::pair<std::string, std::string>> headers;
  if (signer_ != nullptr) {
    auto sig = security::signMessage(*signer_, topic_, value);
    headers = {{std::string(security::kKeyIdHeader), sig.keyId},
               {std::string(security::kSignatureHeader), sig.signature}};
  }
  if (!producer_->produce(topic_, key, value, headers)) {
    throw std::runtime_error("produce to " + topic_ + " failed");
  }
  producer_->poll(0);
}

double RoundTripClient::roundTrip(const std::string& key, const std::string& value,
                                  const Match& match, envelope::Envelope* out) {
  const double t0 = nowUs();
  produce(key, value);
  const int64_t deadline = monoMs() + 30000;
  while (monoMs() < deadline) {
    producer_->poll(0);
    auto m = consumer_->poll(5);
    if (!m || m->isError() || !match(m->payload())) {
      continue;
    }
    const double dt = (nowUs() - t0) / 1000.0;
    if (out != nullptr) {
      if (auto d = decoder_.decode(m->payload())) {
        *out = std::move(*d);
      }
    }
    return dt;
  }
  throw std::runtime_error("no answer within 30 s on " + topic_ + " to " + value);
}

void RoundTripClient::warmUp(const std::string& key) {
  const int64_t deadline = monoMs() + 30000;
  int64_t nextProduce = 0;
  while (monoMs() < deadline) {
    if (monoMs() >= nextProduce) {
      (void)producer_->produce(topic_, key, "warm-up");
      nextProduce = monoMs() + 500;
    }
    producer_->poll(0);
    auto m = consumer_->poll(5);
    if (m && !m->isError() && m->payload() == "warm-up") {
      return;
    }
  }
  throw std::runtime_error("the consumer of " + topic_ + " did not start within 30 s");
}

bool isResponseTo(std::string_view value, const std::string& idJson) {
  return value.rfind("{\"response\":{\"id\":" + idJson + ",", 0) == 0;
}

std::vector<double> bareRoundTrips(RoundTripClient& client, int n) {
  client.warmUp("baseline");
  std::vector<double> bare;
  for (int i = 0; i < n; ++i) {
    std::string v = "bare-" + std::to_string(i);
    bare.push_back(client.roundTrip("baseline", v, [&](std::string_view p) { return p == v; }));
  }
  return bare;
}

}  // namespace edgelink::bench
