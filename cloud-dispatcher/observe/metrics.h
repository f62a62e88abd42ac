#pragma once

// The dispatcher's Prometheus metrics: one registry, the families docs/DISPATCHER.md lists, and
// typed recording calls for the parts that know the facts (the writers after a commit, the
// consumer loops, the sweeper, the periodic database gauges). Every call is thread-safe.
// Nothing here does I/O: the HTTP server (observe/http_server.h) serializes scrape().

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "domain/model.h"
#include "domain/sessions.h"

namespace prometheus {
class Counter;
class Gauge;
class Histogram;
class Registry;
template <typename T>
class Family;
}  // namespace prometheus

namespace edgelink::dispatcher {

/// A new answer that correlated with a stored request, as one batch's transaction learnt it.
struct AnsweredFact {
  std::string type;             ///< the request's type ("unknown" when it had none)
  std::string state;            ///< succeeded / failed / stale (request_status's names)
  int64_t requestSentMs = 0;    ///< the request's timestamp (the round trip starts there)
  bool late = false;            ///< received past the request's deadline
  bool timedOutBefore = false;  ///< the sweeper had counted it as timeout already
};

/// What one stored batch taught beyond its messages (filled inside the transaction, recorded
/// only once it committed).
struct StoredFacts {
  /// type -> requests consumed and stored (or found stored: the CLI records what it sends)
  std::map<std::string, int64_t> newRequests;
  std::vector<AnsweredFact> answered;
  SessionTally sessions;  ///< what the batch's session effects did
};

/// The database gauges, read by one periodic query (observe/db_gauges.h).
struct DbGauges {
  int64_t sessionsActive = 0;
  int64_t sessionsOpening = 0;
  double sessionsOpeningOldestSeconds = 0;
  int64_t edgesOnline = 0;
  int64_t edgesOffline = 0;
  int64_t edgesOfflineOver1h = 0;
  /// Fleet aggregates of the agents' own counters (their heartbeats' `metrics`, stored in
  /// edges.agent_metrics), over edges whose latest metrics are recent (within offline-after).
  /// The agents' counters restart with the agent, so these are gauges.
  struct Fleet {
    int64_t agentsReporting = 0;
    std::map<std::string, double> requests;  ///< by outcome (envelope::request_outcome)
    double frpcStarts = 0;
    double frpcUnexpectedExits = 0;
    double kafkaReconnects = 0;
    double outboxDepth = 0;
    double outboxDepthMax = 0;
    double rssBytesMax = 0;
    double clockOffsetSecondsMax = 0;  ///< the largest |clock offset|
  } fleet;
};

/// The low-cardinality reason a rejected message is counted under: too_large, invalid_json,
/// invalid (the contract: schema, fields), unknown_edge (topic outside the prefix, key not an
/// edge id), database_refused, unverified (an answer whose signature did not verify).
std::string rejectionReason(const RejectedRow& r);

class Metrics {
 public:
  Metrics();
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  /// A batch committed: its messages by kind, rejections, new requests, answers, and how long
  /// the transaction took; `storedAtMs` (wall clock, at commit) ends the answers' round trips.
  void batchStored(const Batch& batch, const StoredFacts& facts, double transactionSeconds,
                   int64_t storedAtMs);
  /// A batch write that failed (the transaction rolled back; it is retried).
  void batchFailed();
  /// Requests the sweeper marked timed out, by type.
  void timedOut(const std::map<std::string, int64_t>& byType);
  /// Sessions made active or ended outside a batch (the sweeper).
  void sessions(const SessionTally& t);
  void rebalances(int64_t n);
  void consumerLag(int64_t messages);
  void dbGauges(const DbGauges& g);
  void ready(bool ready);
  /// frps's server plugin answered `op` (Login / NewProxy) with `outcome` (allowed or the
  /// verdict's code, domain/frps_plugin.h).
  void frpsPluginDecision(const std::string& op, const std::string& outcome);
  /// Answers to edge requests (recipient "cloud") delivered to the edges' topics.
  void edgeAnswersDelivered(size_t n);
  /// A delivery of a batch's answers to edge requests failed and is retried.
  void edgeAnswersRetried();

  /// The Prometheus text exposition of every metric.
  std::string scrape() const;

 private:
  prometheus::Counter& requests(const std::string& type);
  prometheus::Histogram& roundTrip(const std::string& type);
  void registerFleet(prometheus::Registry& r);

  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>* requests_;
  prometheus::Family<prometheus::Counter>* finished_;
  prometheus::Family<prometheus::Histogram>* roundTrip_;
  prometheus::Counter* lateAnswers_;
  prometheus::Family<prometheus::Counter>* rejected_;
  prometheus::Family<prometheus::Counter>* unverified_;
  prometheus::Counter* ingestRequests_;
  prometheus::Counter* ingestResponses_;
  prometheus::Counter* ingestEvents_;
  prometheus::Histogram* batchSize_;
  prometheus::Histogram* transaction_;
  prometheus::Counter* failures_;
  prometheus::Gauge* lag_;
  prometheus::Counter* rebalances_;
  prometheus::Gauge* sessionsActive_;
  prometheus::Gauge* sessionsOpening_;
  prometheus::Gauge* sessionsOpeningOldest_;
  prometheus::Counter* sessionsOpened_;
  prometheus::Family<prometheus::Counter>* sessionsEnded_;
  prometheus::Gauge* edgesOnline_;
  prometheus::Gauge* edgesOffline_;
  prometheus::Gauge* edgesOfflineOver1h_;
  prometheus::Gauge* ready_;
  prometheus::Family<prometheus::Counter>* frpsPlugin_;
  prometheus::Counter* edgeAnswers_;
  prometheus::Counter* edgeAnswerRetries_;
  struct FleetGauges {
    prometheus::Gauge* agentsReporting;
    prometheus::Family<prometheus::Gauge>* requests;
    prometheus::Gauge* frpcStarts;
    prometheus::Gauge* frpcUnexpectedExits;
    prometheus::Gauge* kafkaReconnects;
    prometheus::Gauge* outboxDepth;
    prometheus::Gauge* outboxDepthMax;
    prometheus::Gauge* rssBytesMax;
    prometheus::Gauge* clockOffsetSecondsMax;
  } fleet_;
};

}  // namespace edgelink::dispatcher
