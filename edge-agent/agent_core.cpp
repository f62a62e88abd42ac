#include "agent_core.h"

#include <algorithm>
#include <limits>
#include <type_traits>

#include "agent_log.h"
#include "core/time_format.h"
#include "core/version.h"
#include "envelope/bodies.h"
#include "envelope/types.h"

namespace edgelink::agent {

namespace et = envelope::event_type;
namespace sr = envelope::stop_reason;

namespace {

constexpr int64_t kFlushDelayMs = 1000;
constexpr int64_t kCpuWindowMs = 250;
constexpr int64_t kMaxIdleMs = 60'000;
constexpr int64_t kNever = std::numeric_limits<int64_t>::max();
/// How long requests wait for the first heartbeat's delivery report (broker time) at startup.
constexpr int64_t kBrokerTimeWaitMs = 5000;

std::string idText(const envelope::Id& id) {
  return id.isNumber() ? id.str() : "\"" + id.str() + "\"";
}

}  // namespace

AgentCore::AgentCore(const AgentConfig& config, const Clock& clock)
    : config_(config),
      ownOptions_(config.options),
      clock_(clock),
      decoder_(envelope::Limits{static_cast<size_t>(config_.options.maxMessageBytes), 32}),
      sender_(state_.outbox),
      fetch_(config.options.edgeId, config.options.configRefresh * 1000,
             config.options.configRequestTimeout * 1000) {
  policy_.maxAgeMs = config_.options.maxRequestAge * 1000;
  policy_.maxSkewMs = config_.options.maxClockSkew * 1000;
  policy_.sender = config_.options.sender;
  policy_.trustedKeys = &config_.trustedKeys;
  policy_.topic = config_.topic;
  policy_.requireSigned = config_.options.requireSignedRequests;
  policy_.allowUnsigned = config_.options.allowUnsigned;
}

Actions AgentCore::take() {
  Actions out;
  out.swap(out_);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Startup and the loop's inputs

Actions AgentCore::begin(AgentState state, const StartupFacts& facts) {
  startMono_ = monoNow();
  state_ = std::move(state);
  state_.edgeId = config_.options.edgeId;
  state_.processed.setLimits(256, 2 * policy_.maxAgeMs + policy_.maxSkewMs);
  state_.processed.expire(wallNow());
  // The position, and answers not yet delivered before the last stop.
  positions_.restore(state_.positions);
  probed_ = state_.positions.empty();  // a first start has no backlog to judge on broker time
  for (const auto& [seq, e] : state_.outbox.entries()) {
    positions_.hold(e.partition, e.offset);
  }
  if (!state_.outbox.empty()) {
    agentLogger()->info("re-sending {} undelivered response(s)/event(s) from before the restart",
                        state_.outbox.size());
  }
  sender_.resendAll(out_);

  // A session from before the restart resumes with its deadline, or is reported expired.
  bool resumed = false;
  switch (decideResume(state_.session, wallNow())) {
    case ResumeDecision::kResume: {
      agentLogger()->info("resuming the frp session from before the restart (expires {})",
                          formatRfc3339Ms(state_.session->expiresAtMs));
      resumed = true;
      startFrpc(*state_.session, std::nullopt, Origin{}, true);
      break;
    }
    case ResumeDecision::kExpired: {
      agentLogger()->info("the frp session from before the restart expired at {}: ended",
                          formatRfc3339Ms(state_.session->expiresAtMs));
      endSession(state_.session, StopInfo{sr::kExpiredWhileDown, wallNow(), {}, {}});
      break;
    }
    case ResumeDecision::kNothing:
      break;
  }
  auto started = newEvent(et::kAgentStarted);
  envelope::body::AgentStarted body;
  body.agentVersion = kVersion;
  body.hostname = facts.hostname;  // written only when known
  body.pid = facts.pid;
  body.sessionResumed = resumed;
  envelope::body::write(body, started);
  emitEvent(std::move(started));
  persistNow();
  nextHeartbeatMono_ = monoNow();
  askConfig(fetch_.askNow(monoNow(), wallNow()));
  return take();
}

void AgentCore::setSilentBefore(std::map<int32_t, int64_t> silentBefore) {
  silentBefore_ = std::move(silentBefore);
}

Actions AgentCore::onMessage(const Inbound& m) {
  Origin origin{m.partition, m.offset, monoNow()};
  positions_.consumed(origin.partition, origin.offset);
  TriageContext context(policy_, decoder_);
  context.processed = &state_.processed;
  context.held = positions_.held(origin.partition, origin.offset);
  if (auto s = silentBefore_.find(origin.partition); s != silentBefore_.end()) {
    context.silentBeforeMs = s->second;
  }
  // Requests are judged against the broker's time once a heartbeat has come back with it; the
  // board's wall clock (which may be decades off after a boot without RTC) until then.
  const auto brokerNow = brokerClock_.brokerNowMs(origin.receivedMono);
  context.nowMs = brokerNow.value_or(wallNow());
  context.brokerTime = brokerNow.has_value();
  Triage t = triage(m, context);
  counters_.triaged(t.verdict, wallNow(), m.recordTimestampMs);
  if (!t.ownHeartbeat.empty() && m.logAppendTime) {
    brokerTimeSeen(t.ownHeartbeat, m.recordTimestampMs, "read back");
  }
  if (t.signatureRefused) {
    counters_.signatureRefused(security::verdictName(*t.signatureRefused));
  }
  origin.trusted = t.trusted;
  act(std::move(t), origin, m.payload.size());
  return take();
}

void AgentCore::act(Triage t, const Origin& origin, size_t bytes) {
  switch (t.verdict) {
    case Verdict::kIgnore:
      positionsChanged(false);
      if (t.other) {
        onOther(*t.other);
      }
      return;
    case Verdict::kDrop:
      agentLogger()->warn("dropped a message of {} bytes at {}[{}] offset {}: {}", bytes,
                          config_.topic, origin.partition, origin.offset, t.reason);
      positionsChanged(true);
      return;
    case Verdict::kSkipSilently:
      ++silentlySkipped_;
      agentLogger()->debug("skipped request id={}: {}", idText(t.id), t.reason);
      positionsChanged(true);
      return;
    case Verdict::kResend:
      hold(origin);
      queue("response " + idText(t.id) + " (" +
                (t.decoded ? t.type + ", stored)" : std::string("stored)")),
            t.stored, origin.partition, origin.offset);
      if (t.decoded) {
        agentLogger()->info(
            "request id={} type={} from={} edge={} outcome=redelivered: answered from the "
            "stored response (not acted on again)",
            idText(t.id), t.type, t.sender, config_.options.edgeId);
      }
      return;
    case Verdict::kAnswer: {
      hold(origin);
      // A signature refusal's reason (never header bytes) goes on the request's line.
      std::string note = t.signatureRefused ? "refused: " + t.reason : std::string();
      answer(t.id, t.type.empty() ? "?" : t.type, t.sender, std::move(*t.response), origin, note);
      return;
    }
    case Verdict::kAct:
      hold(origin);
      dispatch(*t.request, origin);
      return;
  }
}

Actions AgentCore::skipTo(int32_t partition, int64_t next) {
  positions_.skipTo(partition, next);
  positionsChanged(true);
  return take();
}

Actions AgentCore::onDelivery(const Delivery& delivery) {
  if (delivery.opaque == kPerishableOpaque) {
    if (delivery.appendedAtMs && !heartbeatInFlight_.empty()) {
      brokerTimeSeen(heartbeatInFlight_, *delivery.appendedAtMs, "delivery report");
    } else if (probeUntilMono_ && delivery.outcome == Delivery::Outcome::kDelivered) {
      agentLogger()->info(
          "the topic's timestamps are its producers' (not LogAppendTime): "
          "requests are judged against the edge clock");
    }
    heartbeatInFlight_.clear();
    probeUntilMono_.reset();
  }
  bool changed = false;
  auto released = sender_.onDelivery(delivery, monoNow(), changed);
  if (changed) {
    markDirty();
  }
  if (released) {
    positions_.release(released->partition, released->offset);
    positionsChanged(true);
  }
  return take();
}

Actions AgentCore::onSendRefused(uint64_t opaque, const std::string& error) {
  sender_.onRefused(opaque, error, monoNow());
  return take();
}

Actions AgentCore::onTimers() {
  const int64_t now = monoNow();
  if (now >= nextHeartbeatMono_) {
    sendHeartbeat();
    nextHeartbeatMono_ = now + config_.options.heartbeatInterval * 1000;
  }
  sender_.retryIfDue(out_, now);
  if (pendingStart_ && now >= std::min(pendingStart_->nextCheckMono, pendingStart_->deadlineMono)) {
    checkPendingStart();
  }
  if (pendingInfo_ && pendingInfo_->sampled && now >= pendingInfo_->dueMono) {
    pendingInfo_->dueMono = kNever;  // the second sample is asked for
    out_.emplace_back(action::SampleCpu{});
  }
  if (running() && !stopping_ && now >= sessionDeadlineMono_) {
    agentLogger()->info("frp session reached its auto-stop deadline {}",
                        formatRfc3339Ms(state_.session->expiresAtMs));
    stopFrpc(sr::kAutoStop);
  }
  if (flushDueMono_ && now >= *flushDueMono_) {
    persistNow();
  }
  if (auto ask = fetch_.onTimer(now, wallNow())) {
    askConfig(*ask);
  } else if (fetch_.givenUp() > configGivenUp_) {
    configGivenUp_ = fetch_.givenUp();
    agentLogger()->warn("get_config: no answer after {} tries; asking again at the next refresh",
                        ConfigFetch::kRetries + 1);
  }
  if (probeUntilMono_ && now >= *probeUntilMono_) {
    probeUntilMono_.reset();
    agentLogger()->info(
        "no delivery report for the first heartbeat within {} ms: requests are "
        "judged against the edge clock until broker time is known",
        kBrokerTimeWaitMs);
  }
  return take();
}

Actions AgentCore::retryIfDue() {
  sender_.retryIfDue(out_, monoNow());
  return take();
}

bool AgentCore::busy() const {
  return pendingStart_.has_value() || pendingInfo_.has_value() || pendingStatus_.has_value() ||
         stopping_.has_value() || stopAnswer_.has_value() || awaitingBrokerTime();
}

Actions AgentCore::onOutcome(Outcome seen) {
  return std::visit(
      [this](auto&& o) -> Actions {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, outcome::SendRefused>) {
          return onSendRefused(o.opaque, o.error);
        } else if constexpr (std::is_same_v<T, outcome::FrpcConfigWritten>) {
          return onFrpcConfigWritten(o.written);
        } else if constexpr (std::is_same_v<T, outcome::FrpcStarted>) {
          return onFrpcStarted(std::move(o.started));
        } else if constexpr (std::is_same_v<T, outcome::FrpcChecked>) {
          return onFrpcChecked(std::move(o.probe));
        } else if constexpr (std::is_same_v<T, outcome::ProxyStatusRead>) {
          return onProxyStatus(std::move(o.statuses));
        } else if constexpr (std::is_same_v<T, outcome::FrpcExitSeen>) {
          return onFrpcExitSeen(o.exited);
        } else if constexpr (std::is_same_v<T, outcome::FrpcStopped>) {
          return onFrpcStopped(o.end);
        } else if constexpr (std::is_same_v<T, outcome::CpuSampled>) {
          return onCpuSample(o.sample);
        } else if constexpr (std::is_same_v<T, outcome::StatePersisted>) {
          return onStatePersisted(o.written);
        } else {
          return onSystemFacts(o.facts);
        }
      },
      std::move(seen));
}

int64_t AgentCore::nextDueMono() const {
  const int64_t now = monoNow();
  int64_t due = now + kMaxIdleMs;
  auto earliest = [&](int64_t t) { due = std::min(due, t); };
  earliest(nextHeartbeatMono_);
  if (probeUntilMono_) {
    earliest(*probeUntilMono_);
  }
  if (flushDueMono_) {
    earliest(*flushDueMono_);
  }
  if (auto retry = sender_.retryDueMono()) {
    earliest(*retry);
  }
  if (pendingStart_) {
    earliest(std::min(pendingStart_->nextCheckMono, pendingStart_->deadlineMono));
  }
  if (pendingInfo_ && pendingInfo_->sampled) {
    earliest(pendingInfo_->dueMono);
  }
  earliest(fetch_.nextDueMono());
  if (running()) {
    earliest(std::max<int64_t>(now, sessionDeadlineMono_));
  }
  return due;
}

std::string AgentCore::requestTag(const envelope::Envelope& request) {
  return " (request id=" + idText(request.id) + ")";
}

std::string AgentCore::requestTag(const std::optional<envelope::Envelope>& request) {
  return request ? requestTag(*request) : std::string();
}

Actions AgentCore::shutdown(const std::string& reason) {
  pendingInfo_.reset();
  pendingStatus_.reset();
  if (pendingStart_) {
    // Not answered: the request stays before the position and is served again after a restart.
    agentLogger()->info("abandoning a pending frp start{}", requestTag(pendingStart_->request));
    PendingStart p = std::move(*pendingStart_);
    pendingStart_.reset();
    Stopping then;
    then.info = StopInfo{sr::kAgentShutdown, wallNow(), {}, {}};
    then.ended = p.session;
    then.endsSession = p.resumed;
    then.idle = false;
    then.stopping = reason;
    stopFrpc(sr::kAgentShutdown, std::move(then));
  } else if (running()) {
    Stopping then;
    then.stopping = reason;
    stopFrpc(sr::kAgentShutdown, std::move(then));
  } else {
    sayStopping(reason);
  }
  return take();
}

void AgentCore::sayStopping(const std::string& reason) {
  auto stopping = newEvent(et::kAgentStopping);
  envelope::body::AgentStopping body;
  body.agentVersion = kVersion;
  body.reason = reason;
  envelope::body::write(body, stopping);
  emitEvent(std::move(stopping));
}

Actions AgentCore::saveNow() {
  persistNow();
  return take();
}

void AgentCore::persistNow() {
  flushDueMono_.reset();
  out_.emplace_back(action::PersistState{});
}

// ---------------------------------------------------------------------------------------------
// Requests, answers, events

void AgentCore::dispatch(const envelope::Envelope& request, const Origin& origin) {
  RequestAction action = decideRequest(request, config_, policy_, wallNow());
  switch (action.kind) {
    case ActionKind::kAnswer:
      answer(request.id, request.type, request.sender, std::move(*action.response), origin);
      return;
    case ActionKind::kStatus:
      handleStatus(request, origin);
      return;
    case ActionKind::kSystemInfo:
      pendingInfo_ = PendingInfo{request.clone(), origin, {}, {}, monoNow() + kCpuWindowMs, false};
      out_.emplace_back(action::SampleCpu{});
      return;
    case ActionKind::kStop:
      handleStop(request, origin);
      return;
    case ActionKind::kStart:
      handleStart(request, *action.plan, origin);
      return;
  }
}

void AgentCore::sendHeartbeat() {
  auto hb = newEvent(et::kHeartbeat);
  envelope::body::Heartbeat body;
  body.agentVersion = kVersion;
  body.intervalSeconds = config_.options.heartbeatInterval;
  body.uptimeSeconds = static_cast<double>(monoNow() - startMono_) / 1000.0;
  body.frpRunning = running();
  if (running()) {
    body.frpExpiresAtMs = state_.session->expiresAtMs;
  }
  body.metrics = counters_.snapshot(state_.outbox.size());
  body.clockOffsetMs = brokerClock_.wallOffsetMs(wallNow(), monoNow());
  envelope::body::write(body, hb);
  hb.set("config_version", configVersion());
  if (!sender_.sendPerishable(out_, envelope::encode(hb))) {
    return;
  }
  heartbeatInFlight_ = hb.id.str();
  brokerClock_.sent(heartbeatInFlight_, monoNow());
  if (!probed_) {
    // After a restart, requests that waited in the topic meanwhile (read first) wait for the
    // first heartbeat's delivery report, which carries the broker's time on a LogAppendTime
    // topic. A first start (no stored position) reads only what is younger than max age.
    probed_ = true;
    probeUntilMono_ = monoNow() + kBrokerTimeWaitMs;
  }
}

void AgentCore::answer(const envelope::Id& id, const std::string& type, const std::string& sender,
                       envelope::Envelope response, const Origin& origin, const std::string& note) {
  const int64_t now = wallNow();
  std::string value = envelope::encode(response);
  counters_.answered(response.statusCode);
  state_.processed.expire(now);
  if (origin.trusted) {
    // An untrusted request's answer is not its id's answer: a forger cannot take an id first.
    state_.processed.add({sender, id, now, value});
  }
  queue("response " + idText(id) + " (" + type + ")", value, origin.partition, origin.offset);
  agentLogger()->info("request id={} type={} from={} edge={} outcome={} ms={}{}{}", idText(id),
                      type, sender, config_.options.edgeId, response.statusCode,
                      monoNow() - origin.receivedMono, note.empty() ? "" : "; ", note);
}

envelope::Envelope AgentCore::newEvent(const char* type) {
  return envelope::Envelope::event(envelope::Id::generate(), policy_.sender, wallNow(), type);
}

void AgentCore::emitEvent(envelope::Envelope event) {
  queue("event " + event.type, envelope::encode(event));
  agentLogger()->info("event {} id={}", event.type, event.id.str());
}

void AgentCore::queue(const std::string& what, const std::string& value, int32_t partition,
                      int64_t offset) {
  flushDueMono_.reset();  // the tracker asks for the state file to be written now
  sender_.queue(out_, what, value, partition, offset);
}

void AgentCore::hold(const Origin& origin) {
  positions_.hold(origin.partition, origin.offset);
  positionsChanged(true);
}

void AgentCore::positionsChanged(bool persist) {
  if (positions_.update(state_.positions) && persist) {
    markDirty();
  }
}

void AgentCore::markDirty() {
  if (!flushDueMono_) {
    flushDueMono_ = monoNow() + kFlushDelayMs;
  }
}

Actions AgentCore::onCpuSample(std::optional<CpuSample> sample) {
  if (!pendingInfo_) {
    return take();
  }
  PendingInfo& p = *pendingInfo_;
  if (!p.sampled) {
    p.first = sample;
    p.sampled = true;
    return take();
  }
  if (p.first && sample) {
    p.cpu = cpuUsagePercent(*p.first, *sample);
  }
  out_.emplace_back(action::ReadSystemFacts{{"/", config_.options.stateDir}});
  return take();
}

Actions AgentCore::onSystemFacts(const SystemFacts& facts) {
  if (pendingInfo_) {
    finishSystemInfo(facts);
  }
  return take();
}

void AgentCore::finishSystemInfo(const SystemFacts& facts) {
  PendingInfo p = std::move(*pendingInfo_);
  pendingInfo_.reset();
  auto r = envelope::Envelope::response(p.request, policy_.sender, wallNow(), 200);
  writeSystemInfo(r, p.cpu, facts);
  answer(p.request.id, p.request.type, p.request.sender, std::move(r), p.origin);
}

}  // namespace edgelink::agent
