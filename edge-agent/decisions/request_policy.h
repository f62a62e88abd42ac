#pragma once

// Pure decisions about one incoming request, before anything is done: whether it is for this
// agent at all, whether it is too old (408) or dated too far ahead (400 naming both clocks),
// whether its type is known (404); whether it is signed as it must be (401/403); and the error
// responses that say so.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "envelope/bodies.h"
#include "envelope/envelope.h"
#include "security/signature.h"

namespace edgelink::agent {

struct Policy {
  int64_t maxAgeMs = 600'000;
  int64_t maxSkewMs = 60'000;
  std::string sender = "edge_board";  ///< ours: requests we sent ourselves are not acted on
  /// The cloud's public keys requests are checked against; nullptr: signatures are not judged
  /// at all (render-frpc, tests of other things).
  const security::KeyRing* trustedKeys = nullptr;
  std::string topic;                       ///< the topic a request must be signed for (this edge's)
  bool requireSigned = true;               ///< require-signed-requests
  std::vector<std::string> allowUnsigned;  ///< read-only types accepted unsigned (when required)
};

/// How a request's signature headers were judged.
struct SignatureJudgement {
  security::Verification verification;
  /// Not to be acted on: a request that must be signed and is not validly, or one whose
  /// signature headers are present but bad (never ignored, whatever the config).
  bool refused = false;
  /// Its answer may be remembered as its id's answer (processed-id store) and an earlier
  /// answer re-sent to it: validly signed, or signatures not required and none given. An
  /// unsigned read-only request accepted under `allow-unsigned` is answered afresh each time,
  /// so that a forger cannot take an id before the genuine signed request.
  bool trusted = true;
};

/// Judges `payload` (the exact bytes read) of a request of `type` ("" or an unknown type: one
/// that acts) against the policy's keys. Pure: no I/O.
SignatureJudgement judgeSignature(const Policy& policy, std::string_view type,
                                  std::string_view payload, const security::FoundHeaders& headers);

/// The refusal of a request judged `refused`: 403 for an unknown key, 401 otherwise, the
/// message naming why (never the raw header bytes).
envelope::Envelope signatureRefusal(const envelope::Id& id, const std::string& type,
                                    const std::string& sender, int64_t nowMs,
                                    const security::Verification& verification);

/// True for requests the agent answers: a request not sent by the agent itself and without a
/// recipient (one naming any, "cloud" included, is addressed to someone else).
bool isForUs(const envelope::Envelope& message, const Policy& policy);

/// True for the request types this agent handles.
bool isKnownRequestType(const std::string& type);

/// What `nowMs` is when a request's time is judged.
struct TimeBasis {
  /// The broker's time as estimated from this agent's heartbeats (broker_clock.h), not the
  /// board's wall clock.
  bool brokerTime = false;
  /// When the broker appended the request (LogAppendTime; only with brokerTime): its age is
  /// also counted from there, so a request appended while the edge was offline is stale
  /// whatever its sender wrote.
  std::optional<int64_t> appendedAtMs;
};

/// nullopt when the request's timestamp is acceptable; otherwise the response to send:
/// 408 when older than max age or past its own `expires_at` (not acted on; the earlier of the
/// two is the reason given, in the message and as `expired_by`), 400 when ahead of the edge's
/// clock by more than the tolerance (naming both clocks). `nowMs` is the edge clock, or the
/// estimated broker time when `basis.brokerTime` (the messages name which).
std::optional<envelope::Envelope> checkTimestamp(const envelope::Envelope& request,
                                                 const Policy& policy, int64_t nowMs,
                                                 const TimeBasis& basis = {});

/// A failure response: body {"error": ..., "field": ...} (schemas/bodies/responses/error.json),
/// with the other members of `body` (clock details, proxies) when given.
envelope::Envelope errorResponse(const envelope::Id& id, const std::string& type,
                                 const std::string& sender, int64_t nowMs, const Error& error,
                                 envelope::body::ErrorBody body = {});

}  // namespace edgelink::agent
