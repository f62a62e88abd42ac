#include "observe/metrics.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <sstream>

#include "envelope/types.h"

namespace edgelink::dispatcher {
namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;

const prometheus::Histogram::BucketBoundaries& roundTripBuckets() {
  static const prometheus::Histogram::BucketBoundaries b = {
      0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300};
  return b;
}

prometheus::Counter& counter(prometheus::Registry& r, const char* name, const char* help) {
  return BuildCounter().Name(name).Help(help).Register(r).Add({});
}

prometheus::Gauge& gauge(prometheus::Registry& r, const char* name, const char* help) {
  return BuildGauge().Name(name).Help(help).Register(r).Add({});
}

std::string typeLabel(const std::string& type) {
  return type.empty() ? "unknown" : type;
}

}  // namespace

std::string rejectionReason(const RejectedRow& r) {
  if (r.signature) {
    return "unverified";
  }
  if (r.statusCode == 413) {
    return "too_large";
  }
  if (r.statusCode >= 500) {
    return "database_refused";
  }
  if (!r.edgeId) {
    return "unknown_edge";
  }
  if (r.reason.rfind("invalid JSON", 0) == 0) {
    return "invalid_json";
  }
  return "invalid";
}

Metrics::Metrics() : registry_(std::make_shared<prometheus::Registry>()) {
  auto& r = *registry_;
  requests_ = &BuildCounter()
                   .Name("edgelink_requests_total")
                   .Help("Requests consumed from the edge topics and stored, by type")
                   .Register(r);
  finished_ = &BuildCounter()
                   .Name("edgelink_requests_finished_total")
                   .Help("Requests reaching a final state (succeeded, failed, stale, timeout)")
                   .Register(r);
  roundTrip_ = &BuildHistogram()
                    .Name("edgelink_request_round_trip_seconds")
                    .Help("A request's timestamp to its answer stored, by type")
                    .Register(r);
  lateAnswers_ =
      &counter(r, "edgelink_late_answers_total", "Answers received past their request's deadline");
  rejected_ = &BuildCounter()
                   .Name("edgelink_messages_rejected_total")
                   .Help("Messages stored in rejected_messages, by reason")
                   .Register(r);
  unverified_ = &BuildCounter()
                     .Name("edgelink_dispatcher_unverified_messages_total")
                     .Help(
                         "Responses and events refused for their signature (stored flagged in "
                         "rejected_messages, no effect), by verdict")
                     .Register(r);
  auto& ingest = BuildCounter()
                     .Name("edgelink_ingest_messages_total")
                     .Help("Messages stored, by kind (events include heartbeats)")
                     .Register(r);
  ingestRequests_ = &ingest.Add({{"kind", "request"}});
  ingestResponses_ = &ingest.Add({{"kind", "response"}});
  ingestEvents_ = &ingest.Add({{"kind", "event"}});
  batchSize_ = &BuildHistogram()
                    .Name("edgelink_ingest_batch_size")
                    .Help("Messages per stored batch")
                    .Register(r)
                    .Add({}, prometheus::Histogram::BucketBoundaries{1, 5, 10, 50, 100, 500, 1000,
                                                                     2500, 5000, 10000, 50000});
  transaction_ =
      &BuildHistogram()
           .Name("edgelink_pg_transaction_seconds")
           .Help("A batch's PostgreSQL transaction, begin to commit")
           .Register(r)
           .Add({}, prometheus::Histogram::BucketBoundaries{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                            0.1, 0.25, 0.5, 1, 2.5, 5, 10});
  failures_ = &counter(r, "edgelink_ingest_failures_total",
                       "Batch writes that failed (rolled back, retried)");
  edgeAnswers_ = &counter(r, "edgelink_edge_requests_answered_total",
                          "Answers to edge requests (recipient cloud) delivered to the edges' "
                          "topics");
  edgeAnswerRetries_ = &counter(r, "edgelink_edge_answer_retries_total",
                                "Deliveries of a batch's answers to edge requests that failed "
                                "and were retried (offsets not committed meanwhile)");
  lag_ = &gauge(r, "edgelink_consumer_lag_messages",
                "Messages behind the high watermark, summed over this dispatcher's partitions");
  rebalances_ = &counter(r, "edgelink_rebalances_total",
                         "Consumer group rebalances (assignments received) in this dispatcher");
  sessionsActive_ = &gauge(r, "edgelink_sessions_active", "frp sessions active");
  sessionsOpening_ = &gauge(r, "edgelink_sessions_opening", "frp sessions awaiting their start");
  sessionsOpeningOldest_ = &gauge(r, "edgelink_sessions_opening_oldest_seconds",
                                  "Age of the oldest session awaiting its start (0: none)");
  sessionsOpened_ = &counter(r, "edgelink_sessions_opened_total",
                             "frp sessions this dispatcher saw become active");
  sessionsEnded_ = &BuildCounter()
                        .Name("edgelink_sessions_ended_total")
                        .Help("frp sessions this dispatcher ended, by end reason")
                        .Register(r);
  edgesOnline_ = &gauge(r, "edgelink_edges_online", "Known edges online (heartbeats)");
  edgesOffline_ = &gauge(r, "edgelink_edges_offline", "Known edges offline");
  edgesOfflineOver1h_ = &gauge(r, "edgelink_edges_offline_over_1h",
                               "Known edges whose last heartbeat is older than an hour (or none)");
  ready_ = &gauge(r, "edgelink_ready", "1 when /readyz says ready");
  frpsPlugin_ = &BuildCounter()
                     .Name("edgelink_frps_plugin_decisions_total")
                     .Help("frps server plugin requests answered, by op and outcome")
                     .Register(r);
  for (const char* op : {"Login", "NewProxy"}) {
    frpsPlugin_->Add({{"op", op}, {"outcome", "allowed"}});
  }
  registerFleet(r);
  // Every reason known in advance has its series from the start (at 0), so dashboards and alerts
  // see a rate of 0 rather than no data, and a scrape shows the label before the first event.
  for (const char* reason :
       {"too_large", "invalid_json", "invalid", "unknown_edge", "database_refused", "unverified"}) {
    rejected_->Add({{"reason", reason}});
  }
  for (auto v : {security::Verdict::kUnsigned, security::Verdict::kMalformed,
                 security::Verdict::kUnknownKey, security::Verdict::kBadSignature}) {
    unverified_->Add({{"verdict", security::verdictName(v)}});
  }
  namespace sr = envelope::stop_reason;
  for (const char* reason :
       {sr::kRequested, sr::kReplaced, "expired", "no_answer", sr::kAutoStop,
        sr::kExitedUnexpectedly, sr::kAgentShutdown, sr::kExpiredWhileDown, sr::kStartFailed}) {
    sessionsEnded_->Add({{"reason", reason}});
  }
}

void Metrics::registerFleet(prometheus::Registry& r) {
  fleet_.agentsReporting = &gauge(r, "edgelink_fleet_agents_reporting",
                                  "Edges whose agents' latest metrics are recent (the fleet_ "
                                  "gauges aggregate these)");
  fleet_.requests = &BuildGauge()
                         .Name("edgelink_fleet_agent_requests")
                         .Help("Requests the agents handled since they started, by outcome")
                         .Register(r);
  for (const char* outcome : {envelope::request_outcome::kOk, envelope::request_outcome::kRejected,
                              envelope::request_outcome::kStale, envelope::request_outcome::kFailed,
                              envelope::request_outcome::kRedelivered}) {
    fleet_.requests->Add({{"outcome", outcome}});
  }
  fleet_.frpcStarts =
      &gauge(r, "edgelink_fleet_frpc_starts", "frpc processes the agents started (sum)");
  fleet_.frpcUnexpectedExits = &gauge(r, "edgelink_fleet_frpc_unexpected_exits",
                                      "frpc exits the agents did not ask for (sum)");
  fleet_.kafkaReconnects =
      &gauge(r, "edgelink_fleet_kafka_reconnects", "Kafka outages the agents came back from (sum)");
  fleet_.outboxDepth = &gauge(r, "edgelink_fleet_outbox_depth",
                              "Answers and events the agents have not had delivered (sum)");
  fleet_.outboxDepthMax =
      &gauge(r, "edgelink_fleet_outbox_depth_max", "The largest outbox of one agent");
  fleet_.rssBytesMax =
      &gauge(r, "edgelink_fleet_agent_rss_bytes_max", "The largest resident set of one agent");
  fleet_.clockOffsetSecondsMax =
      &gauge(r, "edgelink_fleet_clock_offset_seconds_max",
             "The largest |clock offset| of one board against Kafka's timestamps");
}

Metrics::~Metrics() = default;

prometheus::Counter& Metrics::requests(const std::string& type) {
  return requests_->Add({{"type", typeLabel(type)}});
}

prometheus::Histogram& Metrics::roundTrip(const std::string& type) {
  return roundTrip_->Add({{"type", typeLabel(type)}}, roundTripBuckets());
}

void Metrics::batchStored(const Batch& batch, const StoredFacts& facts, double transactionSeconds,
                          int64_t storedAtMs) {
  batchSize_->Observe(static_cast<double>(batch.messages()));
  transaction_->Observe(transactionSeconds);
  ingestRequests_->Increment(static_cast<double>(batch.requests().size()));
  ingestResponses_->Increment(static_cast<double>(batch.responses().size()));
  ingestEvents_->Increment(static_cast<double>(batch.events().size() + batch.heartbeats()));
  for (const auto& r : batch.rejected()) {
    rejected_->Add({{"reason", rejectionReason(r)}}).Increment();
    if (r.signature) {
      unverified_->Add({{"verdict", *r.signature}}).Increment();
    }
  }
  for (const auto& [type, n] : facts.newRequests) {
    requests(type).Increment(static_cast<double>(n));
  }
  // One label lookup per type and batch, not per answer.
  std::map<std::pair<std::string, std::string>, int64_t> finished;
  std::map<std::string, prometheus::Histogram*> histograms;
  for (const auto& a : facts.answered) {
    if (a.late) {
      lateAnswers_->Increment();
    }
    if (!a.timedOutBefore) {
      ++finished[{a.type, a.state}];
    }
    auto& h = histograms[a.type];
    if (h == nullptr) {
      h = &roundTrip(a.type);
    }
    h->Observe(static_cast<double>(std::max<int64_t>(0, storedAtMs - a.requestSentMs)) / 1000.0);
  }
  for (const auto& [key, n] : finished) {
    finished_->Add({{"type", typeLabel(key.first)}, {"state", key.second}})
        .Increment(static_cast<double>(n));
  }
  sessions(facts.sessions);
}

void Metrics::batchFailed() {
  failures_->Increment();
}

void Metrics::timedOut(const std::map<std::string, int64_t>& byType) {
  for (const auto& [type, n] : byType) {
    finished_->Add({{"type", typeLabel(type)}, {"state", "timeout"}})
        .Increment(static_cast<double>(n));
  }
}

void Metrics::sessions(const SessionTally& t) {
  if (t.opened > 0) {
    sessionsOpened_->Increment(static_cast<double>(t.opened));
  }
  for (const auto& [reason, n] : t.ended) {
    sessionsEnded_->Add({{"reason", reason.empty() ? "unknown" : reason}})
        .Increment(static_cast<double>(n));
  }
}

void Metrics::frpsPluginDecision(const std::string& op, const std::string& outcome) {
  // Unknown ops are counted under one label: the op is the caller's string.
  const bool known = op == "Login" || op == "NewProxy";
  frpsPlugin_->Add({{"op", known ? op : "other"}, {"outcome", outcome}}).Increment();
}

void Metrics::edgeAnswersDelivered(size_t n) {
  edgeAnswers_->Increment(static_cast<double>(n));
}

void Metrics::edgeAnswersRetried() {
  edgeAnswerRetries_->Increment();
}

void Metrics::rebalances(int64_t n) {
  rebalances_->Increment(static_cast<double>(n));
}

void Metrics::consumerLag(int64_t messages) {
  lag_->Set(static_cast<double>(messages));
}

void Metrics::dbGauges(const DbGauges& g) {
  sessionsActive_->Set(static_cast<double>(g.sessionsActive));
  sessionsOpening_->Set(static_cast<double>(g.sessionsOpening));
  sessionsOpeningOldest_->Set(g.sessionsOpeningOldestSeconds);
  edgesOnline_->Set(static_cast<double>(g.edgesOnline));
  edgesOffline_->Set(static_cast<double>(g.edgesOffline));
  edgesOfflineOver1h_->Set(static_cast<double>(g.edgesOfflineOver1h));
  fleet_.agentsReporting->Set(static_cast<double>(g.fleet.agentsReporting));
  for (const auto& [outcome, n] : g.fleet.requests) {
    fleet_.requests->Add({{"outcome", outcome}}).Set(n);
  }
  fleet_.frpcStarts->Set(g.fleet.frpcStarts);
  fleet_.frpcUnexpectedExits->Set(g.fleet.frpcUnexpectedExits);
  fleet_.kafkaReconnects->Set(g.fleet.kafkaReconnects);
  fleet_.outboxDepth->Set(g.fleet.outboxDepth);
  fleet_.outboxDepthMax->Set(g.fleet.outboxDepthMax);
  fleet_.rssBytesMax->Set(g.fleet.rssBytesMax);
  fleet_.clockOffsetSecondsMax->Set(g.fleet.clockOffsetSecondsMax);
}

void Metrics::ready(bool ready) {
  ready_->Set(ready ? 1 : 0);
}

std::string Metrics::scrape() const {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, registry_->Collect());
  return out.str();
}

}  // namespace edgelink::dispatcher
