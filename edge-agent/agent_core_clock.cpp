// AgentCore and time: the broker's time learnt from its heartbeats (decisions/broker_clock.h),
// against which requests are judged, and the running session's deadline on the monotonic clock.
#include <cstdlib>

#include "agent_core.h"
#include "agent_log.h"

namespace edgelink::agent {

void AgentCore::brokerTimeSeen(const std::string& id, int64_t appendedAtMs, const char* how) {
  const bool first = !brokerClock_.known();
  if (!brokerClock_.echoed(id, appendedAtMs, monoNow())) {
    return;  // not ours, seen already, or a wider sample than the one in use
  }
  const int64_t offset = *brokerClock_.wallOffsetMs(wallNow(), monoNow());
  const bool off = std::abs(offset) > policy_.maxSkewMs;
  if (first || off) {
    agentLogger()->log(off ? spdlog::level::warn : spdlog::level::info,
                       "broker time from heartbeat id={} ({}): the edge clock is {} ms {} it "
                       "(+/- {} ms); requests are judged against broker time",
                       id, how, std::abs(offset), offset >= 0 ? "ahead of" : "behind",
                       brokerClock_.uncertaintyMs());
  }
}

void AgentCore::armSessionDeadline(int64_t expiresAtMs) {
  sessionDeadlineMono_ = monoNow() + (expiresAtMs - wallNow());
}

}  // namespace edgelink::agent
