#pragma once

// The agent's own numbers for its heartbeat (pure: no I/O). AgentCore counts what happens where
// it happens (a request answered, frpc started or exiting, a request read); the daemon adds what
// only it sees (Kafka reconnects); snapshot() fills the heartbeat's `metrics` with the counts and
// the values of the moment (outbox depth, RSS) it is given. Counters start at 0 with the process.

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "decisions/triage.h"
#include "envelope/bodies.h"

namespace edgelink::agent {

/// The outcome (envelope::request_outcome) an answer with `statusCode` counts under: ok (2xx),
/// stale (408), rejected (other 4xx and anything below 200 or between 300 and 399), failed (5xx).
const char* requestOutcome(int statusCode);

class AgentCounters {
 public:
  /// A message triaged at `nowMs`: a redelivered request counts as such, and any request of
  /// another sender (answered, re-answered or acted on) gives the clock offset against its Kafka
  /// timestamp `recordTimestampMs` (-1: none). Old requests skipped silently, undecodable
  /// messages dropped and messages ignored give nothing.
  void triaged(Verdict verdict, int64_t nowMs, int64_t recordTimestampMs);
  /// A request answered with `statusCode` (one "request id=..." log line).
  void answered(int statusCode);
  void frpcStarted() { ++frpcStarts_; }
  void frpcExitedUnexpectedly() { ++frpcUnexpectedExits_; }
  /// Kafka reconnects so far, as the daemon's Kafka clients count them.
  void setKafkaReconnects(uint64_t n) { kafkaReconnects_ = n; }

  /// The heartbeat's metrics: the counts (every outcome, 0 included) and the given values now.
  envelope::body::AgentMetrics snapshot(uint64_t outboxDepth,
                                        std::optional<uint64_t> rssBytes) const;

 private:
  std::map<std::string, uint64_t> requests_;
  uint64_t frpcStarts_ = 0;
  uint64_t frpcUnexpectedExits_ = 0;
  uint64_t kafkaReconnects_ = 0;
  std::optional<int64_t> clockOffsetMs_;
};

}  // namespace edgelink::agent
