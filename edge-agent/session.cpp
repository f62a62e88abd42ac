#include "session.h"

#include "core/strings.h"
#include "core/time_format.h"
#include "envelope/json_util.h"
#include "envelope/types.h"

namespace edgelink::agent {
namespace {

rapidjson::Value idValue(const envelope::Id& id, rapidjson::Document::AllocatorType& alloc) {
  if (id.isNumber()) {
    if (auto n = parseUint64(id.str())) {
      return rapidjson::Value(static_cast<uint64_t>(*n));
    }
  }
  return json::str(id.str(), alloc);
}

}  // namespace

int64_t Session::secondsLeft(int64_t nowMs) const {
  int64_t leftMs = expiresAtMs - nowMs;
  // Round up: 0 only once the deadline has passed.
  return leftMs > 0 ? (leftMs + 999) / 1000 : leftMs / 1000;
}

std::vector<ProxySpec> Session::proxies() const {
  std::vector<ProxySpec> out;
  for (const auto& [name, s] : services) {
    out.push_back({name, s.proxyName, s.localIp, s.localPort, s.remotePort});
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
    if (port < config.remotePortMin || port > config.remotePortMax) {
      return Error(Status::kForbidden,
                   "remote port " + std::to_string(port) + " is outside this edge's allowed " +
                       "range " + std::to_string(config.remotePortMin) + "-" +
                       std::to_string(config.remotePortMax),
                   field);
    }
    plan.services[name] = {port, proxyName(config.options.edgeId, name), spec->localIp,
                           spec->localPort};
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

void writeFrpState(envelope::Envelope& env, const FrpStateView& view, int64_t nowMs) {
  auto& alloc = env.allocator();
  env.set("state", view.running ? "running" : "stopped");
  if (const Session* session = view.session) {
    rapidjson::Value services(rapidjson::kObjectType);
    for (const auto& [name, s] : session->services) {
      rapidjson::Value v(rapidjson::kObjectType);
      v.AddMember("remote_port", static_cast<int>(s.remotePort), alloc);
      v.AddMember("proxy_name", json::str(s.proxyName, alloc), alloc);
      v.AddMember("local_addr", json::str(s.localAddr(), alloc), alloc);
      if (view.statuses != nullptr && view.statuses->empty()) {
        v.AddMember("status", json::str(kProxyDisconnected, alloc), alloc);
        v.AddMember("error", json::str(kNotLoggedIn, alloc), alloc);
      } else if (view.statuses != nullptr) {
        auto it = view.statuses->find(s.proxyName);
        const bool known = it != view.statuses->end();
        v.AddMember("status", json::str(known ? it->second.status : "unknown", alloc), alloc);
        if (known && !it->second.err.empty()) {
          v.AddMember("error", json::str(it->second.err, alloc), alloc);
        }
      }
      services.AddMember(json::str(name, alloc), v, alloc);
    }
    env.set("services", std::move(services));
    if (view.running && view.pid > 0) {
      env.set("pid", view.pid);
    }
    env.set("started_at", formatRfc3339Ms(session->startedAtMs));
    env.set("expires_at", formatRfc3339Ms(session->expiresAtMs));
    if (view.running) {
      env.set("seconds_left", session->secondsLeft(nowMs));
    }
    env.set("auto_stop_seconds", session->autoStopSeconds);
    if (!session->requestId.empty()) {
      env.set("request_id", idValue(session->requestId, alloc));
    }
  }
  if (view.running) {
    env.set("extended", view.extended);
  }
  if (view.stop != nullptr) {
    env.set("stop_reason", view.stop->reason);
    env.set("stopped_at", formatRfc3339Ms(view.stop->stoppedAtMs));
  }
}

}  // namespace edgelink::agent
