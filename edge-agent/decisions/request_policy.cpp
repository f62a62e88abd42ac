#include "decisions/request_policy.h"

#include <algorithm>

#include "agent_config.h"
#include "core/time_format.h"
#include "envelope/frp_command.h"
#include "envelope/types.h"

namespace edgelink::agent {

namespace rt = envelope::request_type;

bool isForUs(const envelope::Envelope& message, const Policy& policy) {
  return message.kind == envelope::Kind::kRequest && message.sender != policy.sender &&
         message.recipient.empty();
}

bool isKnownRequestType(const std::string& type) {
  return envelope::isFrpCommandType(type) || type == rt::kFrpStatus || type == rt::kSystemInfo ||
         type == rt::kPing;
}

SignatureJudgement judgeSignature(const Policy& policy, std::string_view type,
                                  std::string_view payload, const security::FoundHeaders& headers) {
  SignatureJudgement j;
  if (policy.trustedKeys == nullptr) {
    j.verification.verdict = security::Verdict::kValid;
    return j;
  }
  j.verification = policy.trustedKeys->verify(policy.topic, payload, headers);
  if (j.verification.valid()) {
    return j;
  }
  if (j.verification.verdict != security::Verdict::kUnsigned) {
    j.refused = true;  // present but bad: never ignored
    j.trusted = false;
    return j;
  }
  if (!policy.requireSigned) {
    return j;  // the migration: unsigned requests act as before signatures
  }
  j.trusted = false;
  const bool allowed = isReadOnlyRequestType(type) &&
                       std::find(policy.allowUnsigned.begin(), policy.allowUnsigned.end(), type) !=
                           policy.allowUnsigned.end();
  j.refused = !allowed;
  if (j.refused) {
    j.verification.reason +=
        type.empty() ? std::string(", and a request of unreadable type must be signed")
                     : ", and '" + std::string(type) + "' must be signed (not in allow-unsigned)";
  }
  return j;
}

envelope::Envelope signatureRefusal(const envelope::Id& id, const std::string& type,
                                    const std::string& sender, int64_t nowMs,
                                    const security::Verification& verification) {
  std::string why = verification.reason.empty() ? security::verdictName(verification.verdict)
                                                : verification.reason;
  auto response = errorResponse(
      id, type, sender, nowMs,
      Error(verification.status(), "signature check failed: " + why + "; not acted on"));
  response.description = verification.status() == Status::kForbidden
                             ? "request signed by an unknown key"
                             : "request not validly signed";
  return response;
}

std::optional<envelope::Envelope> checkTimestamp(const envelope::Envelope& request,
                                                 const Policy& policy, int64_t nowMs,
                                                 const TimeBasis& basis) {
  int64_t ageMs = nowMs - request.timestampMs;
  // Appended longer ago than its sender's timestamp says (a sender clock ahead, or a request
  // waiting in the topic while the edge was away): counted from the broker's append.
  const bool byAppend = basis.brokerTime && basis.appendedAtMs &&
                        nowMs - *basis.appendedAtMs > ageMs && nowMs - *basis.appendedAtMs >= 0;
  const int64_t staleAgeMs = byAppend ? nowMs - *basis.appendedAtMs : ageMs;
  const bool tooOld = staleAgeMs > policy.maxAgeMs;
  const bool expired = request.expiresAtMs && nowMs > *request.expiresAtMs;
  if (!tooOld && !expired && -ageMs <= policy.maxSkewMs) {
    return std::nullopt;
  }
  const bool stale = tooOld || expired;
  // Both limits passed: the earlier one is the reason (and the message says which).
  const int64_t agedOutAtMs = nowMs - staleAgeMs + policy.maxAgeMs;
  const bool byExpiry = expired && (!tooOld || *request.expiresAtMs <= agedOutAtMs);
  const std::string requestTime = formatRfc3339Ms(request.timestampMs);
  const std::string clock = basis.brokerTime ? "broker time " + formatRfc3339Ms(nowMs) +
                                                   " (estimated from this edge's heartbeats)"
                                             : "edge clock " + formatRfc3339Ms(nowMs);
  const std::string when =
      "request timestamp " + requestTime +
      (byAppend ? ", appended by the broker at " + formatRfc3339Ms(*basis.appendedAtMs) : "") +
      ", " + clock;
  Error error;
  if (byExpiry) {
    error = Error(Status::kStale, "request expired at " + formatRfc3339Ms(*request.expiresAtMs) +
                                      " (its expires_at), " +
                                      std::to_string((nowMs - *request.expiresAtMs) / 1000) +
                                      " s before the edge got to it: not acted on (" + when + ")");
  } else if (stale) {
    error =
        Error(Status::kStale,
              "request is " + std::to_string(staleAgeMs / 1000) + " s old, older than max_age " +
                  std::to_string(policy.maxAgeMs / 1000) + " s: not acted on (" + when + ")");
  } else {
    error = Error(Status::kBadRequest,
                  "request timestamp " + requestTime + " is " + std::to_string(-ageMs / 1000) +
                      " s ahead of the " + clock + " (tolerance " +
                      std::to_string(policy.maxSkewMs / 1000) + " s): check the sender's" +
                      (basis.brokerTime ? " clock" : " and the edge's clocks") + "; not acted on",
                  "request.timestamp");
  }
  envelope::body::ErrorBody body;
  body.requestTimestampMs = request.timestampMs;
  body.requestExpiresAtMs = request.expiresAtMs;
  body.edgeTimeMs = nowMs;
  body.maxAgeSeconds = policy.maxAgeMs / 1000;
  if (stale) {
    body.expiredBy = byExpiry ? "expires_at" : "max_age";
  }
  auto response =
      errorResponse(request.id, request.type, policy.sender, nowMs, error, std::move(body));
  response.description = byExpiry ? "request expired"
                         : stale  ? "request is stale"
                                  : "request is dated in the future";
  return response;
}

envelope::Envelope errorResponse(const envelope::Id& id, const std::string& type,
                                 const std::string& sender, int64_t nowMs, const Error& error,
                                 envelope::body::ErrorBody body) {
  auto response = envelope::Envelope::response(id, type, sender, nowMs, toInt(error.status));
  response.status = envelope::kStatusFailed;
  // "error" is written even when empty, as before the typed body.
  response.set("error", error.message);
  body.error = error.message;
  body.field = error.field;
  envelope::body::write(body, response);
  return response;
}

}  // namespace edgelink::agent
