#pragma once

// What the agent does with one message of its topic, decided without any I/O: the message
// (bytes, partition, offset, record timestamp), what the agent remembers (answered ids, held
// offsets, whether it read the partition without a stored position) and the time in; a verdict
// out: ignore it, drop it (logged), skip it silently, re-send a stored answer, answer a refusal,
// or act on a valid request. A request that must be signed and is not (or whose signature is
// present but bad) is refused 401/403 before anything else, its answer not remembered. Then what a
// valid request asks for (decideRequest): ping's answer, a refusal, or the action (status, system
// info, stop, start with its checked plan). The daemon and `edge-agent render-frpc` both go through
// here.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "agent_config.h"
#include "decisions/request_policy.h"
#include "decisions/session.h"
#include "envelope/envelope.h"
#include "envelope/frp_command.h"

namespace edgelink::agent {

class ProcessedIds;  // state.h

/// One message as read from the topic.
struct Inbound {
  std::string_view payload;
  int32_t partition = -1;
  int64_t offset = -1;
  int64_t recordTimestampMs = -1;  ///< the broker's timestamp, -1 when it has none
  /// recordTimestampMs was set by the broker when it appended the record (LogAppendTime), not
  /// by its producer: it is broker time.
  bool logAppendTime = false;
  /// Its edgelink-key / edgelink-sig header values (none, one, or repeated).
  security::FoundHeaders headers{};
};

/// What the agent knows when it triages a message.
struct TriageContext {
  TriageContext(const Policy& p, envelope::Decoder& d) : policy(p), decoder(d) {}
  const Policy& policy;
  envelope::Decoder& decoder;
  const ProcessedIds* processed = nullptr;  ///< answered ids (nullptr: none)
  bool held = false;                        ///< its answer from before a restart is being re-sent
  /// Read without a stored position (the broker could not seek by time): requests written
  /// before this time and older than max age are skipped without an answer.
  std::optional<int64_t> silentBeforeMs;
  int64_t nowMs = 0;  ///< the edge clock, or the estimated broker time (brokerTime)
  /// nowMs is the broker's time estimated from this agent's heartbeats (broker_clock.h).
  bool brokerTime = false;
  bool judgeTime = true;  ///< false for render-frpc: the request's timestamp is not judged
};

enum class Verdict {
  kIgnore,        ///< responses, events, our own messages, held offsets: move on
  kDrop,          ///< undecodable without an id to answer: logged, moved past, not answered
  kSkipSilently,  ///< older than max age, before this agent's first start: moved past
  kResend,        ///< answered before: the stored response, byte for byte
  kAnswer,        ///< refused (decode error, stale, skewed, unknown type): `response`
  kAct,           ///< a valid request: see decideRequest
};

struct Triage {
  Verdict verdict = Verdict::kIgnore;
  /// kDrop, kSkipSilently, kIgnore of a non-request, a signature refusal: why (for logs)
  std::string reason;
  envelope::Id id;   ///< the request answered (kResend, kAnswer, kAct)
  std::string type;  ///< its type as far as it could be read ("" when not)
  std::string sender;
  bool decoded = false;                        ///< the request passed the schemas
  std::string stored;                          ///< kResend: the stored response
  std::optional<envelope::Envelope> response;  ///< kAnswer
  std::optional<envelope::Envelope> request;   ///< kAct (also kAnswer when it decoded)
  /// Its answer may be stored as the id's answer (request_policy.h SignatureJudgement::trusted).
  bool trusted = true;
  /// kAnswer refusing it for its signature: the verdict (metrics).
  std::optional<security::Verdict> signatureRefused;
  /// kIgnore of a heartbeat this agent's sender sent: its id (the broker clock's probe).
  std::string ownHeartbeat;
  /// kIgnore of a response or event from another sender (an answer to one of this agent's
  /// edge->cloud requests, a config_changed event): the message.
  std::optional<envelope::Envelope> other;
};

Triage triage(const Inbound& message, TriageContext& context);

/// What a valid request asks for.
enum class ActionKind { kAnswer, kStatus, kSystemInfo, kStop, kStart };
struct RequestAction {
  ActionKind kind = ActionKind::kAnswer;
  std::optional<envelope::Envelope> response;  ///< kAnswer: ping's answer or a refusal
  std::optional<FrpPlan> plan;                 ///< kStart: checked against the config
};

RequestAction decideRequest(const envelope::Envelope& request, const AgentConfig& config,
                            const Policy& policy, int64_t nowMs);

/// ping's answer: {"pong": true, "agent_version", "received_at"}.
envelope::Envelope pingResponse(const envelope::Envelope& request, const std::string& sender,
                                int64_t nowMs);

}  // namespace edgelink::agent
