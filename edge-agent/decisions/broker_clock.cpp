#include "decisions/broker_clock.h"

#include <algorithm>

namespace edgelink::agent {

void BrokerClock::sent(const std::string& id, int64_t monoMs) {
  pending_.emplace_back(id, monoMs);
  while (pending_.size() > kMaxPending) {
    pending_.pop_front();
  }
}

bool BrokerClock::echoed(const std::string& id, int64_t brokerMs, int64_t readMonoMs) {
  auto it =
      std::find_if(pending_.begin(), pending_.end(), [&](const auto& p) { return p.first == id; });
  if (it == pending_.end()) {
    return false;  // not a heartbeat of this process (an earlier run's, or already seen)
  }
  const int64_t sentMono = it->second;
  pending_.erase(it);
  const int64_t roundTrip = readMonoMs - sentMono;
  if (brokerMs < 0 || roundTrip < 0 || roundTrip > maxRoundTripMs_) {
    return false;
  }
  const int64_t uncertainty = roundTrip / 2;
  const bool better =
      !offsetMs_ || uncertainty <= uncertaintyMs_ || readMonoMs - sampledAtMono_ >= kRefreshAfterMs;
  if (!better) {
    return false;
  }
  offsetMs_ = brokerMs - (sentMono + uncertainty);
  uncertaintyMs_ = uncertainty;
  sampledAtMono_ = readMonoMs;
  return true;
}

std::optional<int64_t> BrokerClock::brokerNowMs(int64_t monoNowMs) const {
  if (!offsetMs_) {
    return std::nullopt;
  }
  return monoNowMs + *offsetMs_;
}

std::optional<int64_t> BrokerClock::wallOffsetMs(int64_t wallNowMs, int64_t monoNowMs) const {
  auto broker = brokerNowMs(monoNowMs);
  if (!broker) {
    return std::nullopt;
  }
  return wallNowMs - *broker;
}

}  // namespace edgelink::agent
