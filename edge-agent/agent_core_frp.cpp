// AgentCore's frp session: start (pending until every proxy runs), extend, restart, stop,
// auto-stop, frpc exiting; the frp state answers and events.

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

}  // namespace

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
      agentLogger()->info("start with other ports: restarting frpc on the new config");
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
  counters_.frpcStarted();
  saveNow();
  agentLogger()->info("frpc pid {} started ({}); waiting up to {} s for its proxies", frpc_->pid(),
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
      agentLogger()->debug("frpc admin API not ready: {}", probe.statuses->error().describe());
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
  agentLogger()->info("frp session running: pid {}, expires {}", frpc_->pid(),
                      formatRfc3339Ms(p.session.expiresAtMs));
  if (p.request) {
    auto r = frpStateResponse(*p.request, &p.session, true, nullptr, &p.statuses, false);
    answer(p.request->id, p.request->type, p.request->sender, std::move(r), p.origin,
           "frpc pid " + std::to_string(frpc_->pid()));
  }
  auto ev = newEvent(et::kFrpStarted);
  auto started =
      frpState(FrpStateView{&p.session, true, frpc_->pid(), nullptr, &p.statuses, false}, now);
  started.resumed = p.resumed;
  envelope::body::write(started, ev);
  emitEvent(std::move(ev));
  hooks_.status("frp running until " + formatRfc3339Ms(p.session.expiresAtMs));
}

void AgentCore::failStart(Error error, const std::string& exitStatus) {
  PendingStart p = std::move(*pendingStart_);
  pendingStart_.reset();
  std::string output = frpc_->stop(10).output;
  StopInfo info{sr::kStartFailed, wallNow(), exitStatus, output};
  agentLogger()->warn("frp start failed: {}", error.message);
  if (p.request) {
    envelope::body::ErrorBody body;
    if (!p.statuses.empty()) {
      for (const auto& [name, svc] : p.session.services) {
        envelope::body::Proxy& proxy = body.proxies[name];
        proxy.remotePort = svc.remotePort;
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
  endSession(p.session, info);
  hooks_.status("idle");
}

std::optional<Session> AgentCore::stopFrpc(const char* reason) {
  if (!frpc_->active()) {
    return std::nullopt;
  }
  FrpcEnd end = frpc_->stop(0);
  agentLogger()->info("frpc pid {} stopped ({}): {}", end.pid, reason, end.waitStatus);
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
  counters_.frpcExitedUnexpectedly();
  agentLogger()->warn("frpc pid {} {} on its own; session ended", end.pid, info.exitStatus);
  endSession(state_.session, info);
  hooks_.status("idle");
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

}  // namespace edgelink::agent
