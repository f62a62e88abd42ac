#pragma once

// The ingest model (pure: no I/O). Consumed Kafka messages become rows for PostgreSQL, grouped
// into a Batch that is stored in one transaction:
// - requests, responses and events, each deduplicated within the batch (first one wins, as
//   ON CONFLICT DO NOTHING does across batches);
// - heartbeats are not stored as rows: they are folded into one update per edge;
// - undecodable messages become rejected rows (never blocking the partition);
// - the offsets to commit once the transaction has committed.

#include <rapidjson/stringbuffer.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "domain/signatures.h"
#include "envelope/envelope.h"
#include "envelope/frp_command.h"
#include "options.h"

namespace edgelink::dispatcher {

/// One consumed message, as the ingest needs it.
struct RawMessage {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  std::string_view key;
  std::string_view payload;
  int64_t kafkaTimestampMs = -1;     ///< -1 when unknown
  security::FoundHeaders signature;  ///< its edgelink-key / edgelink-sig headers
};

/// The frp state carried by start/stop answers and frp events (only what sessions need).
struct FrpInfo {
  std::string state;                    ///< "running" / "stopped" / ""
  std::map<std::string, int> services;  ///< service -> remote port
  std::optional<int64_t> startedAtMs;
  std::optional<int64_t> expiresAtMs;
  std::optional<int64_t> autoStopSeconds;
  std::optional<std::string> requestId;
  std::string stopReason;
  std::string error;  ///< failure answers: body.error
  bool extended = false;
};

/// Reads the FrpInfo fields present in a body (absent fields stay empty).
FrpInfo readFrpInfo(const rapidjson::Value& body);

struct RequestRow {
  std::string edgeId;
  std::string id;
  bool idIsNumber = false;
  std::string type;
  std::string sender;
  std::string description;
  int64_t sentAtMs = 0;
  int64_t seenAtMs = 0;
  int64_t deadlineMs = 0;
  std::optional<int64_t> expiresAtMs;  ///< the request's own expires_at
  std::string bodyJson;
  int32_t partition = 0;
  int64_t offset = -1;  ///< -1: not from Kafka (recorded by the CLI before delivery)
  std::optional<envelope::FrpCommand> frp;  ///< start/stop requests only
  /// Start/stop requests from Kafka: their signature checked against the trusted request keys
  /// (for the audit trail; nullopt: not checked, as for the requests the CLI records).
  std::optional<security::Verification> signature;
};

struct ResponseRow {
  std::string edgeId;
  std::string id;
  std::string sender;
  std::string type;
  int statusCode = 0;
  std::string status;
  std::string description;
  int64_t sentAtMs = 0;
  int64_t receivedAtMs = 0;
  std::string bodyJson;
  int32_t partition = 0;
  int64_t offset = 0;
  std::optional<FrpInfo> frp;  ///< answers that may answer a start/stop (frp type or none)
};

struct EventRow {
  std::string edgeId;
  int32_t partition = 0;
  int64_t offset = 0;
  std::string id;
  std::string type;
  std::string sender;
  std::string description;
  int64_t sentAtMs = 0;
  int64_t receivedAtMs = 0;
  std::string bodyJson;
  std::optional<FrpInfo> frp;  ///< frp_started / frp_stopped
};

/// A request a board sent to the cloud (recipient "cloud", e.g. get_config): answered by the
/// dispatcher (domain/edge_requests.h) and stored with its answer in edge_requests, never in
/// `requests` (the cloud's requests awaiting an edge's answer).
struct EdgeRequestRow {
  std::string topic;  ///< where it came from: the answer goes there
  std::string edgeId;
  std::string id;
  bool idIsNumber = false;
  std::string sender;
  std::string type;
  int64_t sentAtMs = 0;
  int64_t receivedAtMs = 0;
  std::string bodyJson;
  int32_t partition = 0;
  int64_t offset = 0;
};

struct RejectedRow {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  std::optional<std::string> edgeId;
  int64_t receivedAtMs = 0;
  int statusCode = 400;
  std::string field;
  std::string reason;
  std::string kind;
  std::string messageId;
  std::string sender;
  std::string type;
  std::string payload;  ///< the first kRejectedPayloadBytes bytes
  int64_t payloadBytes = 0;
  std::optional<std::string> signature;  ///< an answer that did not verify: its verdict
};

/// How much of a rejected message is kept.
inline constexpr size_t kRejectedPayloadBytes = 4096;

/// What a batch teaches about one edge (merged with GREATEST/LEAST in SQL, so redelivery and
/// out-of-order batches converge to the same row).
struct EdgeUpdate {
  std::string edgeId;
  int64_t firstSeenMs = 0;
  std::optional<int64_t> lastSeenMs;       ///< last response/event from the edge
  std::optional<int64_t> lastHeartbeatMs;  ///< last heartbeat or agent_started
  std::optional<int64_t> heartbeatSentMs;  ///< the edge's own timestamp on it
  std::optional<int64_t> intervalSeconds;
  std::optional<double> uptimeSeconds;
  std::optional<bool> frpRunning;
  std::optional<std::string> agentVersion;
  std::optional<std::string> hostname;
  std::optional<int64_t> agentStartedMs;
  std::optional<int64_t> stoppedMs;  ///< agent_stopping
  /// The newest heartbeat's metrics (envelope::body::toJson) and when it was seen.
  std::optional<std::string> agentMetricsJson;
  std::optional<int64_t> agentMetricsMs;
  /// The latest heartbeat's clock_offset_ms (edge clock minus broker time); reset by a newer
  /// heartbeat without it or by agent_started.
  std::optional<int64_t> clockOffsetMs;
  /// The latest heartbeat's config_version (the remote config the edge runs with); kept when a
  /// newer heartbeat has none.
  std::optional<int64_t> configVersion;
};

/// last_seen_at is kept to this resolution: an edge row is not rewritten only to move it less.
inline constexpr int64_t kLastSeenResolutionMs = 10000;

/// Whether an edge update must be written, given the last_seen this process last wrote for the
/// edge (nullopt: never written by it). Heartbeats and lifecycle events always are.
bool edgeWriteNeeded(const EdgeUpdate& u, std::optional<int64_t> written);

/// The outcome of classifying one message.
/// kEdgeRequest: a request a board sent to the cloud; kOwnAnswer: a response or event this
/// dispatcher's sender produced (its answer to an edge request, a config_changed), read back
/// from the edge's topic: skipped.
enum class Classified {
  kRequest,
  kResponse,
  kEvent,
  kHeartbeat,
  kRejected,
  kDuplicate,
  kEdgeRequest,
  kOwnAnswer
};

class Batch {
 public:
  /// `options` must outlive the batch (prefix, deadlines, limits); so must `check` (null: answers
  /// are not checked, as for the requests the CLI records).
  explicit Batch(const Options& options, const SignatureCheck* check = nullptr);

  /// Classifies and adds one message; `nowMs` is the dispatcher's wall clock.
  Classified add(const RawMessage& m, envelope::Decoder& decoder, int64_t nowMs);
  /// Adds a rejected row for a message the database refused (isolation path).
  void addRejected(const RawMessage& m, int64_t nowMs, int statusCode, const std::string& reason);

  bool empty() const { return messages_ == 0; }
  size_t messages() const { return messages_; }
  void clear();

  const std::vector<RequestRow>& requests() const { return requests_; }
  const std::vector<ResponseRow>& responses() const { return responses_; }
  const std::vector<EventRow>& events() const { return events_; }
  const std::vector<RejectedRow>& rejected() const { return rejected_; }
  const std::vector<EdgeRequestRow>& edgeRequests() const { return edgeRequests_; }
  /// Responses of this dispatcher's own sender seen (and skipped).
  size_t ownAnswers() const { return ownAnswers_; }
  /// One entry per edge, sorted by edge id (upserts in key order avoid deadlocks).
  std::vector<EdgeUpdate> edgeUpdates() const;
  size_t heartbeats() const { return heartbeats_; }
  /// Next offset to read per (topic, partition): what to commit after the batch is stored.
  std::map<std::pair<std::string, int32_t>, int64_t> nextOffsets() const;

  /// A request recorded by the CLI (not from Kafka).
  void addRequest(RequestRow row);

 private:
  void reject(const RawMessage& m, const std::optional<std::string>& edge, int64_t nowMs,
              const envelope::DecodeError& e);
  /// Rejected, and recorded as a request too when its id can be read (its edge answers it).
  void rejectUndecodable(const RawMessage& m, const std::optional<std::string>& edgeId,
                         int64_t nowMs, int64_t seen, const envelope::DecodeError& e);
  Classified addRequest(const RawMessage& m, const std::string& edgeId,
                        const envelope::Envelope& env, int64_t seen);
  Classified addEdgeRequest(const RawMessage& m, const std::string& edgeId,
                            const envelope::Envelope& env, int64_t seen);
  Classified addResponse(const RawMessage& m, const std::string& edgeId,
                         const envelope::Envelope& env, int64_t seen);
  /// Heartbeats fold into the edge's update; other events become rows.
  Classified addEvent(const RawMessage& m, const std::string& edgeId, const envelope::Envelope& env,
                      int64_t seen);
  /// An answer that did not verify: rejected with its verdict, no effect.
  void rejectUnverified(const RawMessage& m, const std::string& edgeId, int64_t nowMs,
                        const envelope::Envelope& env, const AnswerVerdict& v);
  EdgeUpdate& edge(const std::string& id, int64_t seenMs);
  void noteOffset(const RawMessage& m);
  const std::optional<std::string>& edgeOf(const std::string& topic);

  const Options& options_;
  const SignatureCheck* check_;
  size_t messages_ = 0;
  size_t heartbeats_ = 0;
  size_t ownAnswers_ = 0;
  std::vector<RequestRow> requests_;
  std::vector<EdgeRequestRow> edgeRequests_;
  std::vector<ResponseRow> responses_;
  std::vector<EventRow> events_;
  std::vector<RejectedRow> rejected_;
  // Hot path (per message): hashed, not ordered.
  std::unordered_map<std::string, EdgeUpdate> edges_;
  std::unordered_set<std::string> requestKeys_;
  std::unordered_set<std::string> responseKeys_;
  std::unordered_set<std::string> edgeRequestKeys_;
  std::unordered_map<std::string, int64_t> nextOffsets_;  // "partition\0topic" -> next offset
  std::string lastTopic_;                                 // topic -> edge id, for runs of one topic
  std::optional<std::string> lastEdge_;
  int32_t lastPartition_ = -1;  // the last message's entry in nextOffsets_
  int64_t* lastNext_ = nullptr;
  rapidjson::StringBuffer json_;  // reused for bodies
  std::string bodyJson(const rapidjson::Value& body);
};

/// The time the dispatcher files a message under: the Kafka timestamp (the producer's or the
/// broker's clock), never later than now; now when Kafka gave none. Redelivery yields the same
/// value, so stored rows do not change.
int64_t seenAt(int64_t kafkaTimestampMs, int64_t nowMs);

/// A request's deadline: from when it was sent (never from a future timestamp) plus the
/// deadline for its type.
int64_t deadlineOf(int64_t sentAtMs, int64_t seenAtMs, int64_t deadlineSeconds);

/// The deadline of a request that carries its own expires_at: when an edge can no longer act on
/// it -- its expires_at, or the edges' max age after it was sent if that comes first -- plus the
/// grace an edge that began acting just in time has to answer. Past it, 'timeout' means: not
/// acted on, and never will be.
int64_t expiringDeadlineOf(int64_t sentAtMs, int64_t seenAtMs, int64_t expiresAtMs,
                           int64_t edgeMaxAgeSeconds, int64_t answerGraceSeconds);

/// "edge\0id": the correlation key.
std::string correlationKey(std::string_view edge, std::string_view id);

}  // namespace edgelink::dispatcher
