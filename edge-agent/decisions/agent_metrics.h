#pragma once

// The agent's own numbers for its heartbeat (pure: no I/O). AgentCore counts what happens where
// it happens (a request answered, frpc started or exiting, a request read); the daemon sets what
// only it sees (Kafka reconnects, its RSS) before the core's timers run; snapshot() fills the
// heartbeat's `metrics` with those and the outbox depth of the moment. Counters start at 0 with the
// process.

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
  /// A request refused for its signature, by verdict name (security::verdictName). Kept here,
  /// not yet on the heartbeat's wire body; the refusals count as `rejected` there.
  void signatureRefused(const std::string& verdict) { ++signatureFailures_[verdict]; }
  const std::map<std::string, uint64_t>& signatureFailures() const { return signatureFailures_; }
  void frpcStarted() { ++frpcStarts_; }
  void frpcExitedUnexpectedly() { ++frpcUnexpectedExits_; }
  /// Kafka reconnects so far, as the daemon's Kafka clients count them.
  void setKafkaReconnects(uint64_t n) { kafkaReconnects_ = n; }
  /// The process's resident set as the daemon last read it (nullopt: unreadable, left out).
  void setRssBytes(std::optional<uint64_t> rss) { rssBytes_ = rss; }

  /// The heartbeat's metrics: the counts (every outcome, 0 included), the RSS last set and the
  /// given outbox depth.
  envelope::body::AgentMetrics snapshot(uint64_t outboxDepth) const;

 private:
  std::map<std::string, uint64_t> requests_;
  std::map<std::string, uint64_t> signatureFailures_;
  uint64_t frpcStarts_ = 0;
  uint64_t frpcUnexpectedExits_ = 0;
  uint64_t kafkaReconnects_ = 0;
  std::optional<int64_t> clockOffsetMs_;
  std::optional<uint64_t> rssBytes_;
};

}  // namespace edgelink::agent
