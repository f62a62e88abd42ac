// AgentCore's frp session: start (pending until every proxy runs), extend, restart, stop,
// auto-stop, frpc exiting; the frp state answers and events. frpc itself is the shell's: the core
// asks (WriteFrpcConfig, StartFrpc, CheckFrpc, QueryProxyStatus, WatchFrpcExit, StopFrpc) and goes
// on when the outcome comes back.

#include <algorithm>

#include "agent_core.h"
#include "agent_log.h"
#include "core/time_format.h"
#include "envelope/types.h"

namespace edgelink::agent {

namespace et = envelope::event_type;
namespace sr = envelope::stop_reason;

namespace {

constexpr int64_t kStartCheckMs = 50;
constexpr int64_t kFirstCheckMs = 20;
constexpr size_t kEndLines = 10;

}  // namespace

bool AgentCore::running() const {
  return frpc_.has_value() && state_.session.has_value() && !pendingStart_;
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
      armSessionDeadline(s.expiresAtMs);
      s.autoStopSeconds = plan.autoStopSeconds;
      s.requestId = request.id;
      auto r = frpStateResponse(request, &s, true, nullptr, nullptr, true);
      answer(request.id, request.type, request.sender, std::move(r), origin,
             "extended to " + formatRfc3339Ms(s.expiresAtMs) + (note.empty() ? "" : ", " + note));
      return;
    }
    case StartDecision::kRestart: {
      agentLogger()->info("start with other ports: restarting frpc on the new config{}",
                          requestTag(request));
      Stopping then;
      then.next = PendingStart{};
      then.next->request = request.clone();
      then.next->origin = origin;
      then.next->session = sessionFor(plan, now, request.id);
      stopFrpc(sr::kReplaced, std::move(then));
      return;
    }
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
  p.nextCheckMono = monoNow() + kFirstCheckMs;
  pendingStart_ = std::move(p);
  // The state goes to disk first: a start the agent cannot record is refused (500) rather than
  // run unrecorded (onStatePersisted, then WriteFrpcConfig).
  flushDueMono_.reset();
  out_.emplace_back(action::PersistState{true});
}

Actions AgentCore::onStatePersisted(const VoidResult& written) {
  if (stopAnswer_) {
    StopAnswer a = std::move(*stopAnswer_);
    stopAnswer_.reset();
    answerStop(a, written);
    return take();
  }
  if (!pendingStart_ || stopping_) {
    return take();
  }
  if (!written) {
    // Before frpc runs nothing is started; after, the failed start stops it: no frpc left
    // running that the state file does not know.
    failStart(written.error(), "");
  } else if (!frpc_) {
    out_.emplace_back(action::WriteFrpcConfig{pendingStart_->session});
  }
  return take();
}

void AgentCore::answerStop(const StopAnswer& a, const VoidResult& written) {
  const PendingAnswer& p = a.request;
  auto r = frpStateResponse(p.request, a.ended ? &*a.ended : nullptr, false,
                            state_.lastStop ? &*state_.lastStop : nullptr, nullptr, false);
  std::string note = "frpc stopped";
  if (!written) {
    // frpc is stopped all the same; the file still describes the session until it can be
    // written, so a restart before then would resume it.
    r.description = "frpc stopped, but " + written.error().message +
                    ": a restart before the state can be written resumes the session";
    note = r.description;
    agentLogger()->error("{}{}", r.description, requestTag(p.request));
  }
  answer(p.request.id, p.request.type, p.request.sender, std::move(r), p.origin, note);
}

Actions AgentCore::onFrpcConfigWritten(const VoidResult& written) {
  if (!pendingStart_) {
    return take();
  }
  if (!written) {
    failStart(written.error(), "");
    return take();
  }
  out_.emplace_back(action::StartFrpc{});
  return take();
}

Actions AgentCore::onFrpcStarted(Result<FrpcRecord> started) {
  if (!pendingStart_) {
    return take();
  }
  if (!started) {
    failStart(started.error(), "");
    return take();
  }
  frpc_ = *started;
  state_.frpc = *started;
  counters_.frpcStarted();
  // Recorded before it is relied on; if it cannot be, onStatePersisted stops it.
  flushDueMono_.reset();
  out_.emplace_back(action::PersistState{true});
  agentLogger()->info("frpc pid {} started ({}); waiting up to {} s for its proxies{}", frpc_->pid,
                      pendingStart_->resumed ? "resuming the session" : "new session",
                      config_.options.frpcStartTimeout, requestTag(pendingStart_->request));
  return take();
}

void AgentCore::checkPendingStart() {
  PendingStart& p = *pendingStart_;
  const int64_t now = monoNow();
  p.nextCheckMono = now + kStartCheckMs;
  if (!frpc_) {
    return;
  }
  p.pastDeadline = now >= p.deadlineMono;
  out_.emplace_back(action::CheckFrpc{});
}

Actions AgentCore::onFrpcChecked(StartProbe probe) {
  if (!pendingStart_) {
    return take();
  }
  PendingStart& p = *pendingStart_;
  if (probe.statuses && !probe.statuses->ok()) {
    agentLogger()->debug("frpc admin API not ready: {}", probe.statuses->error().describe());
  }
  probe.pastDeadline = p.pastDeadline;
  StartVerdict v = judgeStart(p.session, probe, p.statuses, config_.options.frpcStartTimeout);
  if (v.outcome == StartOutcome::kRunning) {
    succeedStart();
  } else if (v.outcome == StartOutcome::kFailed) {
    failStart(std::move(v.error), v.exitStatus);
  }
  return take();
}

void AgentCore::succeedStart() {
  PendingStart p = std::move(*pendingStart_);
  pendingStart_.reset();
  state_.session = p.session;
  armSessionDeadline(p.session.expiresAtMs);
  state_.frpc = frpc_;
  const int64_t now = wallNow();
  agentLogger()->info("frp session running: pid {}, expires {}{}", frpc_->pid,
                      formatRfc3339Ms(p.session.expiresAtMs), requestTag(p.request));
  if (p.request) {
    auto r = frpStateResponse(*p.request, &p.session, true, nullptr, &p.statuses, false);
    answer(p.request->id, p.request->type, p.request->sender, std::move(r), p.origin,
           "frpc pid " + std::to_string(frpc_->pid));
  }
  auto ev = newEvent(et::kFrpStarted);
  auto started =
      frpState(FrpStateView{&p.session, true, frpc_->pid, nullptr, &p.statuses, false}, now);
  started.resumed = p.resumed;
  envelope::body::write(started, ev);
  emitEvent(std::move(ev));
  out_.emplace_back(
      action::SetStatus{"frp running until " + formatRfc3339Ms(p.session.expiresAtMs)});
}

void AgentCore::failStart(Error error, const std::string& exitStatus) {
  PendingStart p = std::move(*pendingStart_);
  pendingStart_.reset();
  Stopping then;
  then.info = StopInfo{sr::kStartFailed, wallNow(), exitStatus, {}};
  then.ended = p.session;
  then.keepOutput = true;
  then.error = std::move(error);
  then.failed = std::move(p);
  stopFrpc(sr::kStartFailed, std::move(then));
}

void AgentCore::answerFailedStart(PendingStart& p, const Error& error) {
  envelope::body::ErrorBody body;
  if (!p.statuses.empty()) {
    for (const auto& [name, svc] : p.session.services) {
      envelope::body::Proxy& proxy = body.proxies[name];
      if (p.session.stcp()) {
        proxy.type = "stcp";
      } else {
        proxy.remotePort = svc.remotePort;
      }
      proxy.proxyName = svc.proxyName;
      auto it = p.statuses.find(svc.proxyName);
      if (it != p.statuses.end()) {
        proxy.status = it->second.status;
        proxy.error = it->second.err;
      }
    }
  }
  auto r = errorResponse(p.request->id, p.request->type, policy_.sender, wallNow(), error,
                         std::move(body));
  r.description = "frp could not be started";
  answer(p.request->id, p.request->type, p.request->sender, std::move(r), p.origin);
}

void AgentCore::stopFrpc(const char* reason) {
  stopFrpc(reason, Stopping{});
}

void AgentCore::stopFrpc(const char* reason, Stopping then) {
  if (then.info.reason.empty()) {
    // Stopping the running session (a failed or abandoned start says what it ends itself).
    then.info = StopInfo{reason, wallNow(), {}, {}};
    then.ended = state_.session;
  }
  const size_t lines = then.keepOutput ? kEndLines : 0;
  stopping_ = std::move(then);
  out_.emplace_back(action::StopFrpc{reason, lines, false});
}

Actions AgentCore::onFrpcStopped(const FrpcEnd& end) {
  if (!stopping_) {
    return take();
  }
  Stopping s = std::move(*stopping_);
  stopping_.reset();
  frpc_.reset();
  state_.frpc.reset();
  if (s.withEnd) {
    s.info.exitStatus = end.waitStatus;
    s.info.output = end.output;
    agentLogger()->warn("frpc pid {} {} on its own; session ended", end.pid, s.info.exitStatus);
  } else if (s.keepOutput) {
    s.info.output = end.output;
    agentLogger()->warn("frp start failed: {}{}", s.error.message,
                        s.failed ? requestTag(s.failed->request) : std::string());
  } else if (s.idle) {
    agentLogger()->info("frpc pid {} stopped ({}): {}", end.pid, s.info.reason, end.waitStatus);
  }
  if (s.failed && s.failed->request) {
    answerFailedStart(*s.failed, s.error);
  }
  if (s.endsSession) {
    endSession(s.ended, s.info);
  }
  if (s.idle) {
    out_.emplace_back(action::SetStatus{"idle"});
  }
  if (s.answerStop) {
    // Answered once the stop is on disk, or with why it is not (onStatePersisted).
    stopAnswer_ = StopAnswer{std::move(*s.answerStop), s.ended};
    flushDueMono_.reset();
    out_.emplace_back(action::PersistState{true});
  }
  if (s.next) {
    startFrpc(std::move(s.next->session), std::move(s.next->request), s.next->origin, false);
  }
  if (s.stopping) {
    sayStopping(*s.stopping);
  }
  return take();
}

void AgentCore::endSession(std::optional<Session> ended, const StopInfo& info) {
  state_.frpc.reset();
  state_.session.reset();
  state_.lastStop = info;
  emitFrpStopped(ended ? &*ended : nullptr, info);
}

Actions AgentCore::onFrpcSignal() {
  if (frpc_ && !stopping_) {
    out_.emplace_back(action::WatchFrpcExit{});
  }
  return take();
}

Actions AgentCore::onFrpcExitSeen(const std::optional<std::string>& exited) {
  if (!exited || !frpc_ || stopping_) {
    return take();
  }
  if (pendingStart_) {
    pendingStart_->nextCheckMono = monoNow();  // the check reports the exit
    return take();
  }
  counters_.frpcExitedUnexpectedly();
  Stopping then;
  then.info = StopInfo{sr::kExitedUnexpectedly, wallNow(), *exited, {}};
  then.ended = state_.session;
  then.withEnd = true;
  stopping_ = std::move(then);
  out_.emplace_back(action::StopFrpc{sr::kExitedUnexpectedly, kEndLines, true});
  return take();
}

void AgentCore::emitFrpStopped(const Session* ended, const StopInfo& info) {
  auto ev = newEvent(et::kFrpStopped);
  auto stopped = frpState(FrpStateView{ended, false, 0, &info, nullptr, false}, wallNow());
  stopped.exitStatus = info.exitStatus;  // written only when not empty
  stopped.frpcOutput = info.output;
  envelope::body::write(stopped, ev);
  emitEvent(std::move(ev));
}

envelope::Envelope AgentCore::frpStateResponse(const envelope::Envelope& request,
                                               const Session* session, bool isRunning,
                                               const StopInfo* stop,
                                               const std::map<std::string, ProxyStatus>* statuses,
                                               bool extended) {
  const int64_t now = wallNow();
  auto r = envelope::Envelope::response(request, policy_.sender, now, 200);
  const int pid = isRunning && frpc_ ? frpc_->pid : 0;
  writeFrpState(r, FrpStateView{session, isRunning, pid, stop, statuses, extended}, now);
  return r;
}

void AgentCore::handleStop(const envelope::Envelope& request, const Origin& origin) {
  if (running()) {
    Stopping then;
    then.answerStop = PendingAnswer{request.clone(), origin};
    stopFrpc(sr::kRequested, std::move(then));
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
  pendingStatus_ = PendingAnswer{request.clone(), origin};
  out_.emplace_back(action::QueryProxyStatus{});
}

Actions AgentCore::onProxyStatus(Result<ProxyStatuses> statuses) {
  if (!pendingStatus_) {
    return take();
  }
  PendingAnswer p = std::move(*pendingStatus_);
  pendingStatus_.reset();
  std::string note;
  if (!statuses) {
    note = "proxy states unknown: " + statuses.error().message;
  } else if (statuses->empty()) {
    note = kNotLoggedIn;
  }
  const Session* session = state_.session ? &*state_.session : nullptr;
  auto r = frpStateResponse(p.request, session, session != nullptr, nullptr,
                            statuses ? &*statuses : nullptr, false);
  answer(p.request.id, p.request.type, p.request.sender, std::move(r), p.origin, note);
  return take();
}

}  // namespace edgelink::agent
