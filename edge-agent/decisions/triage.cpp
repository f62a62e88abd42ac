#include "decisions/triage.h"

#include "core/time_format.h"
#include "core/version.h"
#include "envelope/bodies.h"
#include "envelope/salvage.h"
#include "envelope/types.h"
#include "state.h"

namespace edgelink::agent {

namespace rt = envelope::request_type;

namespace {

/// Refuses `t` when its signature says so (true); otherwise records whether it is trusted.
bool refuseUnsigned(Triage& t, const Inbound& message, const TriageContext& ctx) {
  SignatureJudgement j = judgeSignature(ctx.policy, t.type, message.payload, message.headers);
  t.trusted = j.trusted;
  if (!j.refused) {
    return false;
  }
  t.verdict = Verdict::kAnswer;
  t.signatureRefused = j.verification.verdict;
  t.reason = j.verification.reason;
  t.response = signatureRefusal(t.id, t.type, ctx.policy.sender, ctx.nowMs, j.verification);
  return true;
}

/// A request read only because the broker could not seek by time, older than max age and from
/// before this agent's first start: it was never going to be acted on (true: `t` says so).
bool skipSilently(Triage& t, const Inbound& message, const envelope::Envelope& msg,
                  const TriageContext& ctx) {
  if (!ctx.silentBeforeMs) {
    return false;
  }
  int64_t ts = message.recordTimestampMs >= 0 ? message.recordTimestampMs : msg.timestampMs;
  if (ts >= *ctx.silentBeforeMs || ctx.nowMs - msg.timestampMs <= ctx.policy.maxAgeMs) {
    return false;
  }
  t.verdict = Verdict::kSkipSilently;
  t.reason = "older than max age, before this agent's first start; dated " +
             formatRfc3339Ms(msg.timestampMs);
  t.response.reset();
  t.signatureRefused.reset();
  return true;
}

const ProcessedIds::Entry* findAnswered(const Triage& t, const TriageContext& ctx) {
  if (ctx.processed == nullptr || !t.trusted) {
    return nullptr;  // an untrusted request neither reads nor writes the store
  }
  return ctx.processed->find(t.sender, t.id);
}

Triage decodeFailure(const envelope::DecodeError& e, const Inbound& message,
                     const TriageContext& ctx) {
  const size_t bytes = message.payload.size();
  // Never acted on, whatever it says; answered when a request's id could be read (the decoder
  // reads the header leniently whatever is wrong with the rest: broken JSON, any size).
  Triage t;
  const bool answerable =
      e.kind == envelope::Kind::kRequest && e.id && e.sender != ctx.policy.sender;
  if (!answerable) {
    t.verdict = Verdict::kDrop;
    t.reason = e.describe() + " (" +
               (e.kind && e.kind != envelope::Kind::kRequest ? "not a request"
                                                             : "no readable request id to answer") +
               ")";
    return t;
  }
  t.id = *e.id;
  t.sender = e.sender;
  t.type = envelope::isTypeName(e.type) ? e.type : std::string();
  if (refuseUnsigned(t, message, ctx)) {
    return t;
  }
  if (const auto* done = findAnswered(t, ctx)) {
    t.verdict = Verdict::kResend;
    t.stored = done->response;
    return t;
  }
  Error error = e.toError();
  if (e.status == Status::kTooLarge) {
    error.message = "message of " + std::to_string(bytes) +
                    " bytes is larger than this edge's limit of " +
                    std::to_string(ctx.decoder.limits().maxBytes) + " bytes: not acted on";
  }
  auto r = errorResponse(*e.id, t.type, ctx.policy.sender, ctx.nowMs, error);
  r.description =
      e.status == Status::kTooLarge ? "request too large" : "request could not be decoded";
  t.verdict = Verdict::kAnswer;
  t.response = std::move(r);
  return t;
}

}  // namespace

Triage triage(const Inbound& message, TriageContext& ctx) {
  if (ctx.held) {
    return Triage{};  // redelivered; its answer from before the restart is being re-sent
  }
  auto decoded = ctx.decoder.decode(message.payload);
  if (!decoded) {
    return decodeFailure(decoded.error(), message, ctx);
  }
  envelope::Envelope& msg = *decoded;
  Triage t;
  if (!isForUs(msg, ctx.policy)) {
    if (msg.kind != envelope::Kind::kRequest) {
      t.reason = std::string("not a request but a ") + envelope::kindName(msg.kind);
    } else if (msg.sender == ctx.policy.sender) {
      t.reason = "a request sent by this agent itself";
    } else {
      t.reason = "a request addressed to '" + msg.recipient + "', not this agent";
    }
    if (msg.kind == envelope::Kind::kEvent && msg.sender == ctx.policy.sender &&
        msg.type == envelope::event_type::kHeartbeat) {
      t.ownHeartbeat = msg.id.str();
    }
    if (msg.kind != envelope::Kind::kRequest && msg.sender != ctx.policy.sender) {
      t.other = std::move(msg);  // an answer to one of ours, or the cloud's event
    }
    return t;  // responses, events, our own messages, requests to someone else
  }
  t.id = msg.id;
  t.type = msg.type;
  t.sender = msg.sender;
  t.decoded = true;
  if (refuseUnsigned(t, message, ctx)) {
    // Old junk read before the first start is skipped unanswered, signed or not.
    if (!skipSilently(t, message, msg, ctx)) {
      t.request = std::move(msg);
    }
    return t;
  }
  if (const auto* done = findAnswered(t, ctx)) {
    t.verdict = Verdict::kResend;
    t.stored = done->response;
    return t;
  }
  if (skipSilently(t, message, msg, ctx)) {
    return t;
  }
  std::optional<envelope::Envelope> refusal;
  if (ctx.judgeTime) {
    TimeBasis basis;
    basis.brokerTime = ctx.brokerTime;
    if (ctx.brokerTime && message.logAppendTime && message.recordTimestampMs >= 0) {
      basis.appendedAtMs = message.recordTimestampMs;
    }
    refusal = checkTimestamp(msg, ctx.policy, ctx.nowMs, basis);
  }
  if (!refusal && !isKnownRequestType(msg.type)) {
    refusal = errorResponse(msg.id, msg.type, ctx.policy.sender, ctx.nowMs,
                            Error(Status::kNotFound,
                                  "unknown request type '" + msg.type +
                                      "': this agent answers change_frp_client_config, "
                                      "frp_start, frp_stop, frp_status, system_info, ping",
                                  "request.type"));
  }
  t.verdict = refusal ? Verdict::kAnswer : Verdict::kAct;
  t.response = std::move(refusal);
  t.request = std::move(msg);
  return t;
}

RequestAction decideRequest(const envelope::Envelope& request, const AgentConfig& config,
                            const Policy& policy, int64_t nowMs) {
  RequestAction a;
  if (request.type == rt::kPing) {
    a.response = pingResponse(request, policy.sender, nowMs);
    return a;
  }
  if (request.type == rt::kFrpStatus) {
    a.kind = ActionKind::kStatus;
    return a;
  }
  if (request.type == rt::kSystemInfo) {
    a.kind = ActionKind::kSystemInfo;
    return a;
  }
  auto command = envelope::readFrpCommand(request);
  if (!command) {
    a.response = errorResponse(request.id, request.type, policy.sender, nowMs, command.error());
    return a;
  }
  if (command->action == envelope::FrpAction::kStop) {
    a.kind = ActionKind::kStop;
    return a;
  }
  auto plan = planStart(config, request.type, *command);
  if (!plan) {
    a.response = errorResponse(request.id, request.type, policy.sender, nowMs, plan.error());
    return a;
  }
  a.kind = ActionKind::kStart;
  a.plan = std::move(*plan);
  return a;
}

envelope::Envelope pingResponse(const envelope::Envelope& request, const std::string& sender,
                                int64_t nowMs) {
  auto r = envelope::Envelope::response(request, sender, nowMs, 200);
  envelope::body::Pong body;
  body.pong = true;
  body.agentVersion = kVersion;
  body.receivedAtMs = nowMs;
  envelope::body::write(body, r);
  return r;
}

}  // namespace edgelink::agent
