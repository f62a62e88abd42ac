#include "decisions/session.h"

#include "core/strings.h"
#include "envelope/types.h"

namespace edgelink::agent {

int64_t Session::secondsLeft(int64_t nowMs) const {
  int64_t leftMs = expiresAtMs - nowMs;
  // Round up: 0 only once the deadline has passed.
  return leftMs > 0 ? (leftMs + 999) / 1000 : leftMs / 1000;
}

std::vector<ProxySpec> Session::proxies() const {
  std::vector<ProxySpec> out;
  for (const auto& [name, s] : services) {
    out.push_back({name, s.proxyName, s.localIp, s.localPort, s.remotePort, secretKey});
  }
  return out;
}

std::string serviceField(const std::string& requestType, const std::string& service) {
  if (requestType == envelope::request_type::kChangeFrpClientConfig) {
    for (const auto& f : envelope::legacy::kPortFields) {
      if (service == f.service) {
        return std::string("request.body.") + f.field;
      }
    }
  }
  return "request.body.services." + service;
}

Result<FrpPlan> planStart(const AgentConfig& config, const std::string& requestType,
                          const envelope::FrpCommand& command) {
  FrpPlan plan;
  if (command.services.empty()) {
    return Error(Status::kBadRequest, "a start needs at least one service", "request.body");
  }
  for (const auto& [name, port] : command.services) {
    const ServiceSpec* spec = config.findService(name);
    std::string field = serviceField(requestType, name);
    if (spec == nullptr) {
      std::vector<std::string> known;
      for (const auto& s : config.services) {
        known.push_back(s.name);
      }
      return Error(Status::kForbidden,
                   "service '" + name + "' is not configured on this edge (configured: " +
                       (known.empty() ? std::string("none") : join(known, ", ")) + ")",
                   field);
    }
    const bool stcp = command.mode == envelope::FrpMode::kStcp;
    if (!stcp && (port < config.remotePortMin || port > config.remotePortMax)) {
      return Error(Status::kForbidden,
                   "remote port " + std::to_string(port) + " is outside this edge's allowed " +
                       "range " + std::to_string(config.remotePortMin) + "-" +
                       std::to_string(config.remotePortMax),
                   field);
    }
    plan.services[name] = {port, proxyName(config.options.edgeId, name), spec->localIp,
                           spec->localPort};
  }
  if (command.mode == envelope::FrpMode::kStcp) {
    plan.secretKey = command.secretKey;
  }
  int64_t requested = command.autoStopSeconds.value_or(0);
  if (requested <= 0) {
    requested = config.options.autoStopDefault;  // 0 or absent: the default
  }
  plan.autoStopSeconds = requested;
  if (requested > config.options.autoStopMax) {
    plan.autoStopSeconds = config.options.autoStopMax;
    plan.capped = true;
  }
  return plan;
}

StartDecision decideStart(const std::optional<Session>& running, const FrpPlan& plan) {
  if (!running) {
    return StartDecision::kStart;
  }
  return running->sameServices(plan) ? StartDecision::kExtend : StartDecision::kRestart;
}

Session sessionFor(const FrpPlan& plan, int64_t nowMs, const envelope::Id& requestId) {
  Session s;
  s.services = plan.services;
  s.secretKey = plan.secretKey;
  s.startedAtMs = nowMs;
  s.autoStopSeconds = plan.autoStopSeconds;
  s.expiresAtMs = nowMs + plan.autoStopSeconds * 1000;
  s.requestId = requestId;
  return s;
}

ResumeDecision decideResume(const std::optional<Session>& stored, int64_t nowMs) {
  if (!stored) {
    return ResumeDecision::kNothing;
  }
  return stored->expiresAtMs > nowMs ? ResumeDecision::kResume : ResumeDecision::kExpired;
}

envelope::body::FrpState frpState(const FrpStateView& view, int64_t nowMs) {
  envelope::body::FrpState out;
  out.state = view.running ? "running" : "stopped";
  if (const Session* session = view.session) {
    for (const auto& [name, s] : session->services) {
      envelope::body::Proxy& p = out.services[name];
      if (session->stcp()) {
        p.type = "stcp";
      } else {
        p.remotePort = s.remotePort;
      }
      p.proxyName = s.proxyName;
      p.localAddr = s.localAddr();
      if (view.statuses != nullptr && view.statuses->empty()) {
        p.status = kProxyDisconnected;
        p.error = kNotLoggedIn;
      } else if (view.statuses != nullptr) {
        auto it = view.statuses->find(s.proxyName);
        const bool known = it != view.statuses->end();
        p.status = known ? it->second.status : "unknown";
        if (known) {
          p.error = it->second.err;
        }
      }
    }
    if (view.running && view.pid > 0) {
      out.pid = view.pid;
    }
    out.startedAtMs = session->startedAtMs;
    out.expiresAtMs = session->expiresAtMs;
    if (view.running) {
      out.secondsLeft = session->secondsLeft(nowMs);
    }
    out.autoStopSeconds = session->autoStopSeconds;
    out.requestId = session->requestId;  // written only when not empty
  }
  if (view.running) {
    out.extended = view.extended;
  }
  if (view.stop != nullptr) {
    out.stopReason = view.stop->reason;
    out.stoppedAtMs = view.stop->stoppedAtMs;
  }
  return out;
}

void writeFrpState(envelope::Envelope& env, const FrpStateView& view, int64_t nowMs) {
  envelope::body::write(frpState(view, nowMs), env);
}

}  // namespace edgelink::agent
