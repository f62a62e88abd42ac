#include "agent_core.h"

#include <algorithm>

#include "core/logging.h"
#include "core/time_format.h"
#include "core/version.h"
#include "envelope/json_util.h"
#include "envelope/types.h"

namespace edgelink::agent {

namespace et = envelope::event_type;
namespace sr = envelope::stop_reason;

namespace {

constexpr int64_t kFlushDelayMs = 1000;
constexpr int64_t kCpuWindowMs = 250;
constexpr int64_t kStartCheckMs = 50;
constexpr int64_t kMaxIdleMs = 60'000;

const auto& logger() {
  static const auto l = log::get("agent");
  return l;
}

std::string idText(const envelope::Id& id) {
  return id.isNumber() ? id.str() : "\"" + id.str() + "\"";
}

}  // namespace

AgentCore::AgentCore(const AgentConfig& config, const Clock& clock, MessageSink& sink,
                     FrpcControl& frpc, CoreHooks hooks)
    : config_(config),
      clock_(clock),
      decoder_(envelope::Limits{static_cast<size_t>(config_.options.maxMessageBytes), 32}),
      frpc_(&frpc),
      hooks_(std::move(hooks)),
      sender_(
          state_.outbox, sink, clock, [this] { saveNow(); }, [this] { markDirty(); }) {
  policy_.maxAgeMs = config_.options.maxRequestAge * 1000;
  policy_.maxSkewMs = config_.options.maxClockSkew * 1000;
  policy_.sender = config_.options.sender;
  if (!hooks_.status) {
    hooks_.status = [](const std::string&) {};
  }
}

// ---------------------------------------------------------------------------------------------
// Startup and the loop's inputs

void AgentCore::begin(AgentState state, const StartupFacts& facts) {
  startMono_ = monoNow();
  state_ = std::move(state);
  state_.edgeId = config_.options.edgeId;
  state_.processed.setLimits(256, 2 * policy_.maxAgeMs + policy_.maxSkewMs);
  state_.processed.expire(wallNow());
  // The position, and answers not yet delivered before the last stop.
  positions_.restore(state_.positions);
  for (const auto& [seq, e] : state_.outbox.entries()) {
    positions_.hold(e.partition, e.offset);
  }
  if (!state_.outbox.empty()) {
    logger()->info("re-sending {} undelivered response(s)/event(s) from before the restart",
                   state_.outbox.size());
  }
  sender_.resendAll();

  // A session from before the restart resumes with its deadline, or is reported expired.
  bool resumed = false;
  switch (decideResume(state_.session, wallNow())) {
    case ResumeDecision::kResume: {
      logger()->info("resuming the frp session from before the restart (expires {})",
                     formatRfc3339Ms(state_.session->expiresAtMs));
      resumed = true;
      startFrpc(*state_.session, std::nullopt, Origin{}, true);
      break;
    }
    case ResumeDecision::kExpired: {
      logger()->info("the frp session from before the restart expired at {}: ended",
                     formatRfc3339Ms(state_.session->expiresAtMs));
      endSession(state_.session, StopInfo{sr::kExpiredWhileDown, wallNow(), {}, {}});
      break;
    }
    case ResumeDecision::kNothing:
      break;
  }
  auto started = newEvent(et::kAgentStarted);
  started.set("agent_version", kVersion);
  if (!facts.hostname.empty()) {
    started.set("hostname", facts.hostname);
  }
  started.set("pid", facts.pid);
  started.set("session_resumed", resumed);
  emitEvent(std::move(started));
  saveNow();
  nextHeartbeatMono_ = monoNow();
}

void AgentCore::setSilentBefore(std::map<int32_t, int64_t> silentBefore) {
  silentBefore_ = std::move(silentBefore);
}

void AgentCore::onMessage(const Inbound& m) {
  const Origin origin{m.partition, m.offset, monoNow()};
  positions_.consumed(origin.partition, origin.offset);
  TriageContext context(policy_, decoder_);
  context.processed = &state_.processed;
  context.held = positions_.held(origin.partition, origin.offset);
  if (auto s = silentBefore_.find(origin.partition); s != silentBefore_.end()) {
    context.silentBeforeMs = s->second;
  }
  context.nowMs = wallNow();
  act(triage(m, context), origin, m.payload.size());
}

void AgentCore::act(Triage t, const Origin& origin, size_t bytes) {
  switch (t.verdict) {
    case Verdict::kIgnore:
      positionsChanged(false);
      return;
    case Verdict::kDrop:
      logger()->warn("dropped a message of {} bytes at {}[{}] offset {}: {}", bytes, config_.topic,
                     origin.partition, origin.offset, t.reason);
      positionsChanged(true);
      return;
    case Verdict::kSkipSilently:
      ++silentlySkipped_;
      logger()->debug("skipped request id={}: {}", idText(t.id), t.reason);
      positionsChanged(true);
      return;
    case Verdict::kResend:
      hold(origin);
      sender_.queue("response " + idText(t.id) + " (" +
                        (t.decoded ? t.type + ", stored)" : std::string("stored)")),
                    t.stored, origin.partition, origin.offset);
      if (t.decoded) {
        logger()->info(
            "request id={} type={} from={} edge={}: redelivered, answered from the stored "
            "response (not acted on again)",
            idText(t.id), t.type, t.sender, config_.options.edgeId);
      }
      return;
    case Verdict::kAnswer:
      hold(origin);
      answer(t.id, t.type.empty() ? "?" : t.type, t.sender, std::move(*t.response), origin);
      return;
    case Verdict::kAct:
      hold(origin);
      dispatch(*t.request, origin);
      return;
  }
}

void AgentCore::skipTo(int32_t partition, int64_t next) {
  positions_.skipTo(partition, next);
  positionsChanged(true);
}

void AgentCore::onDelivery(const Delivery& delivery) {
  if (auto released = sender_.onDelivery(delivery)) {
    positions_.release(released->partition, released->offset);
    positionsChanged(true);
  }
}

void AgentCore::onFrpcSignal() {
  if (frpc_->exited()) {
    if (pendingStart_) {
      pendingStart_->nextCheckMono = monoNow();  // the check reports the exit
    } else {
      onFrpcExit();
    }
  }
}

void AgentCore::onTimers() {
  const int64_t now = monoNow();
  if (now >= nextHeartbeatMono_) {
    sendHeartbeat();
    nextHeartbeatMono_ = now + config_.options.heartbeatInterval * 1000;
  }
  sender_.retryIfDue();
  if (pendingStart_ && now >= std::min(pendingStart_->nextCheckMono, pendingStart_->deadlineMono)) {
    checkPendingStart();
  }
  if (pendingInfo_ && now >= pendingInfo_->dueMono) {
    finishSystemInfo();
  }
  if (running() && wallNow() >= state_.session->expiresAtMs) {
    logger()->info("frp session reached its auto-stop deadline {}",
                   formatRfc3339Ms(state_.session->expiresAtMs));
    stopFrpc(sr::kAutoStop);
  }
  if (flushDueMono_ && now >= *flushDueMono_) {
    saveNow();
  }
}

int64_t AgentCore::nextDueMono() const {
  const int64_t now = monoNow();
  int64_t due = now + kMaxIdleMs;
  auto earliest = [&](int64_t t) { due = std::min(due, t); };
  earliest(nextHeartbeatMono_);
  if (flushDueMono_) {
    earliest(*flushDueMono_);
  }
  if (auto retry = sender_.retryDueMono()) {
    earliest(*retry);
  }
  if (pendingStart_) {
    earliest(std::min(pendingStart_->nextCheckMono, pendingStart_->deadlineMono));
  }
  if (pendingInfo_) {
    earliest(pendingInfo_->dueMono);
  }
  if (running()) {
    // The deadline is wall-clock time (it survives restarts); re-checked at least every minute
    // in case the wall clock jumps.
    earliest(now + std::max<int64_t>(0, state_.session->expiresAtMs - wallNow()));
  }
  return due;
}

void AgentCore::shutdown(const std::string& reason) {
  if (pendingStart_) {
    // Not answered: the request stays before the position and is served again after a restart.
    logger()->info("abandoning a pending frp start");
    frpc_->stop(0);
    state_.frpc.reset();
    PendingStart p = std::move(*pendingStart_);
    pendingStart_.reset();
    if (p.resumed) {
      endSession(p.session, StopInfo{sr::kAgentShutdown, wallNow(), {}, {}});
    }
  }
  pendingInfo_.reset();
  if (running()) {
    stopFrpc(sr::kAgentShutdown);
  }
  auto stopping = newEvent(et::kAgentStopping);
  stopping.set("agent_version", kVersion);
  stopping.set("reason", reason);
  emitEvent(std::move(stopping));
}

void AgentCore::saveNow() {
  flushDueMono_.reset();
  if (hooks_.persist) {
    hooks_.persist(state_);
  }
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
      pendingInfo_ =
          PendingInfo{request.clone(), origin, readCpuSample(), monoNow() + kCpuWindowMs};
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
  hb.set("agent_version", kVersion);
  hb.set("interval_seconds", config_.options.heartbeatInterval);
  hb.set("uptime_seconds", static_cast<double>(monoNow() - startMono_) / 1000.0);
  hb.set("frp_running", running());
  if (running()) {
    hb.set("frp_expires_at", formatRfc3339Ms(state_.session->expiresAtMs));
  }
  sender_.sendPerishable(envelope::encode(hb));
}

void AgentCore::answer(const envelope::Id& id, const std::string& type, const std::string& sender,
                       envelope::Envelope response, const Origin& origin, const std::string& note) {
  const int64_t now = wallNow();
  std::string value = envelope::encode(response);
  state_.processed.expire(now);
  state_.processed.add({sender, id, now, value});
  sender_.queue("response " + idText(id) + " (" + type + ")", value, origin.partition,
                origin.offset);
  logger()->info("request id={} type={} from={} edge={}: {} in {} ms{}{}", idText(id), type, sender,
                 config_.options.edgeId, response.statusCode, monoNow() - origin.receivedMono,
                 note.empty() ? "" : "; ", note);
}

envelope::Envelope AgentCore::newEvent(const char* type) {
  return envelope::Envelope::event(envelope::Id::generate(), policy_.sender, wallNow(), type);
}

void AgentCore::emitEvent(envelope::Envelope event) {
  sender_.queue("event " + event.type, envelope::encode(event));
  logger()->info("event {} id={}", event.type, event.id.str());
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

bool AgentCore::running() const {
  return frpc_->active() && state_.session.has_value() && !pendingStart_;
}

void AgentCore::handleStart(const envelope::Envelope& request, const FrpPlan& plan,
                            const Origin& origin) {
  const int64_t now = wallNow();
  std::string note = plan.capped
                         ? "auto-stop capped at " + std::to_string(plan.autoStopSeconds) + " s"
                         : std::string();
  std::optional<Session> current;
  if (running()) {
    current = state_.session;
  }
  switch (decideStart(current, plan)) {
    case StartDecision::kExtend: {
      Session& s = *state_.session;
      s.expiresAtMs = now + plan.autoStopSeconds * 1000;
      s.autoStopSeconds = plan.autoStopSeconds;
      s.requestId = request.id;
      auto r = frpStateResponse(request, &s, true, nullptr, nullptr, true);
      answer(request.id, request.type, request.sender, std::move(r), origin,
             "extended to " + formatRfc3339Ms(s.expiresAtMs) + (note.empty() ? "" : ", " + note));
      return;
    }
    case StartDecision::kRestart:
      logger()->info("start with other ports: restarting frpc on the new config");
      stopFrpc(sr::kReplaced);
      break;
    case StartDecision::kStart:
      break;
  }
  startFrpc(sessionFor(plan, now, request.id), request.clone(), origin, false);
}

void AgentCore::startFrpc(Session candidate, std::optional<envelope::Envelope> request,
                          const Origin& origin, bool resumed) {
  PendingStart p;
  p.request = std::move(request);
  p.origin = origin;
  p.session = std::move(candidate);
  p.resumed = resumed;
  p.deadlineMono = monoNow() + config_.options.frpcStartTimeout * 1000;
  p.nextCheckMono = monoNow() + 20;
  pendingStart_ = std::move(p);

  if (auto r = frpc_->start(pendingStart_->session); !r) {
    failStart(r.error(), "");
    return;
  }
  state_.frpc = frpc_->record();
  saveNow();
  logger()->info("frpc pid {} started ({}); waiting up to {} s for its proxies", frpc_->pid(),
                 resumed ? "resuming the session" : "new session",
                 config_.options.frpcStartTimeout);
}

void AgentCore::checkPendingStart() {
  PendingStart& p = *pendingStart_;
  const int64_t now = monoNow();
  p.nextCheckMono = now + kStartCheckMs;
  if (!frpc_->active()) {
    return;
  }
  frpc_->serveOutput();
  StartProbe probe;
  probe.exited = frpc_->exited();
  if (!probe.exited) {
    probe.statuses = frpc_->proxyStatus();
    if (!probe.statuses->ok()) {
      logger()->debug("frpc admin API not ready: {}", probe.statuses->error().describe());
    }
  }
  probe.output = frpc_->lastLines(3);
  probe.pastDeadline = now >= p.deadlineMono;
  StartVerdict v = judgeStart(p.session, probe, p.statuses, config_.options.frpcStartTimeout);
  if (v.outcome == StartOutcome::kRunning) {
    succeedStart();
  } else if (v.outcome == StartOutcome::kFailed) {
    failStart(std::move(v.error), v.exitStatus);
  }
}

void AgentCore::succeedStart() {
  PendingStart p = std::move(*pendingStart_);
  pendingStart_.reset();
  state_.session = p.session;
  state_.frpc = frpc_->record();
  const int64_t now = wallNow();
  logger()->info("frp session running: pid {}, expires {}", frpc_->pid(),
                 formatRfc3339Ms(p.session.expiresAtMs));
  if (p.request) {
    auto r = frpStateResponse(*p.request, &p.session, true, nullptr, &p.statuses, false);
    answer(p.request->id, p.request->type, p.request->sender, std::move(r), p.origin,
           "frpc pid " + std::to_string(frpc_->pid()));
  }
  auto ev = newEvent(et::kFrpStarted);
  writeFrpState(ev, FrpStateView{&p.session, true, frpc_->pid(), nullptr, &p.statuses, false}, now);
  ev.set("resumed", p.resumed);
  emitEvent(std::move(ev));
  hooks_.status("frp running until " + formatRfc3339Ms(p.session.expiresAtMs));
}

void AgentCore::failStart(Error error, const std::string& exitStatus) {
  PendingStart p = std::move(*pendingStart_);
  pendingStart_.reset();
  std::string output = frpc_->stop(10).output;
  StopInfo info{sr::kStartFailed, wallNow(), exitStatus, output};
  logger()->warn("frp start failed: {}", error.message);
  if (p.request) {
    auto r = errorResponse(p.request->id, p.request->type, policy_.sender, wallNow(), error);
    r.description = "frp could not be started";
    if (!p.statuses.empty()) {
      rapidjson::Value proxies(rapidjson::kObjectType);
      auto& alloc = r.allocator();
      for (const auto& [name, svc] : p.session.services) {
        rapidjson::Value v(rapidjson::kObjectType);
        v.AddMember("remote_port", static_cast<int>(svc.remotePort), alloc);
        v.AddMember("proxy_name", json::str(svc.proxyName, alloc), alloc);
        auto it = p.statuses.find(svc.proxyName);
        if (it != p.statuses.end()) {
          v.AddMember("status", json::str(it->second.status, alloc), alloc);
          if (!it->second.err.empty()) {
            v.AddMember("error", json::str(it->second.err, alloc), alloc);
          }
        }
        proxies.AddMember(json::str(name, alloc), v, alloc);
      }
      r.set("proxies", std::move(proxies));
    }
    answer(p.request->id, p.request->type, p.request->sender, std::move(r), p.origin);
  }
  endSession(p.session, info);
  hooks_.status("idle");
}

std::optional<Session> AgentCore::stopFrpc(const char* reason) {
  if (!frpc_->active()) {
    return std::nullopt;
  }
  FrpcEnd end = frpc_->stop(0);
  logger()->info("frpc pid {} stopped ({}): {}", end.pid, reason, end.waitStatus);
  std::optional<Session> ended = state_.session;
  endSession(ended, StopInfo{reason, wallNow(), {}, {}});
  hooks_.status("idle");
  return ended;
}

void AgentCore::endSession(std::optional<Session> ended, const StopInfo& info) {
  state_.frpc.reset();
  state_.session.reset();
  state_.lastStop = info;
  emitFrpStopped(ended ? &*ended : nullptr, info);
}

void AgentCore::onFrpcExit() {
  if (!frpc_->exited()) {
    return;
  }
  FrpcEnd end = frpc_->reap(10);
  StopInfo info{sr::kExitedUnexpectedly, wallNow(), end.waitStatus, end.output};
  logger()->warn("frpc pid {} {} on its own; session ended", end.pid, info.exitStatus);
  endSession(state_.session, info);
  hooks_.status("idle");
}

void AgentCore::emitFrpStopped(const Session* ended, const StopInfo& info) {
  auto ev = newEvent(et::kFrpStopped);
  writeFrpState(ev, FrpStateView{ended, false, 0, &info, nullptr, false}, wallNow());
  if (!info.exitStatus.empty()) {
    ev.set("exit_status", info.exitStatus);
  }
  if (!info.output.empty()) {
    ev.set("frpc_output", info.output);
  }
  emitEvent(std::move(ev));
}

envelope::Envelope AgentCore::frpStateResponse(const envelope::Envelope& request,
                                               const Session* session, bool isRunning,
                                               const StopInfo* stop,
                                               const std::map<std::string, ProxyStatus>* statuses,
                                               bool extended) {
  const int64_t now = wallNow();
  auto r = envelope::Envelope::response(request, policy_.sender, now, 200);
  writeFrpState(
      r, FrpStateView{session, isRunning, isRunning ? frpc_->pid() : 0, stop, statuses, extended},
      now);
  return r;
}

void AgentCore::handleStop(const envelope::Envelope& request, const Origin& origin) {
  if (running()) {
    auto ended = stopFrpc(sr::kRequested);
    auto r = frpStateResponse(request, ended ? &*ended : nullptr, false,
                              state_.lastStop ? &*state_.lastStop : nullptr, nullptr, false);
    answer(request.id, request.type, request.sender, std::move(r), origin, "frpc stopped");
    return;
  }
  auto r = frpStateResponse(request, nullptr, false, state_.lastStop ? &*state_.lastStop : nullptr,
                            nullptr, false);
  answer(request.id, request.type, request.sender, std::move(r), origin, "was not running");
}

void AgentCore::handleStatus(const envelope::Envelope& request, const Origin& origin) {
  if (!running()) {
    auto r = frpStateResponse(request, nullptr, false,
                              state_.lastStop ? &*state_.lastStop : nullptr, nullptr, false);
    answer(request.id, request.type, request.sender, std::move(r), origin);
    return;
  }
  auto statuses = frpc_->proxyStatus();
  std::string note;
  if (!statuses) {
    note = "proxy states unknown: " + statuses.error().message;
  } else if (statuses->empty()) {
    note = kNotLoggedIn;
  }
  auto r = frpStateResponse(request, &*state_.session, true, nullptr,
                            statuses ? &*statuses : nullptr, false);
  answer(request.id, request.type, request.sender, std::move(r), origin, note);
}

void AgentCore::finishSystemInfo() {
  PendingInfo p = std::move(*pendingInfo_);
  pendingInfo_.reset();
  std::optional<double> cpu;
  auto second = readCpuSample();
  if (p.first && second) {
    cpu = cpuUsagePercent(*p.first, *second);
  }
  auto r = envelope::Envelope::response(p.request, policy_.sender, wallNow(), 200);
  writeSystemInfo(r, cpu, {"/", config_.options.stateDir});
  answer(p.request.id, p.request.type, p.request.sender, std::move(r), p.origin);
}

}  // namespace edgelink::agent
