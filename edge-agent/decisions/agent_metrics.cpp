#include "decisions/agent_metrics.h"

#include "envelope/types.h"

namespace edgelink::agent {

namespace ro = envelope::request_outcome;

const char* requestOutcome(int statusCode) {
  if (statusCode >= 200 && statusCode <= 299) {
    return ro::kOk;
  }
  if (statusCode == 408) {
    return ro::kStale;
  }
  if (statusCode >= 500) {
    return ro::kFailed;
  }
  return ro::kRejected;
}

void AgentCounters::triaged(Verdict verdict, int64_t nowMs, int64_t recordTimestampMs) {
  switch (verdict) {
    case Verdict::kResend:
      ++requests_[ro::kRedelivered];
      break;
    case Verdict::kAnswer:
    case Verdict::kAct:
      break;
    case Verdict::kIgnore:
    case Verdict::kDrop:
    case Verdict::kSkipSilently:
      return;
  }
  if (recordTimestampMs > 0) {
    clockOffsetMs_ = nowMs - recordTimestampMs;
  }
}

void AgentCounters::answered(int statusCode) {
  ++requests_[requestOutcome(statusCode)];
}

envelope::body::AgentMetrics AgentCounters::snapshot(uint64_t outboxDepth) const {
  envelope::body::AgentMetrics m;
  for (const char* outcome : {ro::kOk, ro::kRejected, ro::kStale, ro::kFailed, ro::kRedelivered}) {
    m.requests[outcome] = 0;
  }
  for (const auto& [outcome, n] : requests_) {
    m.requests[outcome] = n;
  }
  m.frpcStarts = frpcStarts_;
  m.frpcUnexpectedExits = frpcUnexpectedExits_;
  m.kafkaReconnects = kafkaReconnects_;
  m.outboxDepth = outboxDepth;
  m.rssBytes = rssBytes_;
  m.clockOffsetMs = clockOffsetMs_;
  return m;
}

}  // namespace edgelink::agent
