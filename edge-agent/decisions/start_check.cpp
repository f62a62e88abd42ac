#include "decisions/start_check.h"

#include <vector>

#include "core/strings.h"

namespace edgelink::agent {

namespace {

StartVerdict failed(Status status, std::string message, std::string exitStatus = {}) {
  return StartVerdict{StartOutcome::kFailed, Error(status, std::move(message)),
                      std::move(exitStatus)};
}

std::string describeProxies(const Session& session, const ProxyStatuses& lastSeen,
                            bool listedNone) {
  std::vector<std::string> states;
  for (const auto& [name, svc] : session.services) {
    auto it = lastSeen.find(svc.proxyName);
    states.push_back(
        svc.proxyName + ": " +
        (it == lastSeen.end()
             ? std::string(listedNone ? kNotLoggedIn : "not reported")
             : it->second.status +
                   (it->second.err.empty() ? std::string() : " (" + it->second.err + ")")));
  }
  return join(states, ", ");
}

}  // namespace

StartVerdict judgeStart(const Session& session, const StartProbe& probe, ProxyStatuses& lastSeen,
                        int64_t timeoutSeconds) {
  if (probe.exited) {
    return failed(Status::kInternal,
                  "frpc " + *probe.exited + " before its proxies were running" +
                      (probe.output.empty() ? std::string() : ": " + probe.output),
                  *probe.exited);
  }
  const bool answered = probe.statuses && probe.statuses->ok();
  if (answered) {
    const ProxyStatuses& statuses = **probe.statuses;
    lastSeen = statuses;
    bool allRunning = true;
    for (const auto& [name, svc] : session.services) {
      auto it = statuses.find(svc.proxyName);
      if (it == statuses.end() || it->second.status != "running") {
        allRunning = false;
      }
      if (it != statuses.end() && it->second.status == "start error") {
        return failed(Status::kInternal,
                      "frp proxy " + svc.proxyName + ": start error: " + it->second.err);
      }
    }
    if (allRunning) {
      return StartVerdict{StartOutcome::kRunning, Error(Status::kOk, ""), {}};
    }
  }
  if (!probe.pastDeadline) {
    return StartVerdict{StartOutcome::kWait, Error(Status::kOk, ""), {}};
  }
  std::string adminError;
  if (probe.statuses && !probe.statuses->ok()) {
    adminError = "; admin API: " + probe.statuses->error().message;
  }
  return failed(
      Status::kTimeout,
      "frpc's proxies were not all running within " + std::to_string(timeoutSeconds) +
          " s: " + describeProxies(session, lastSeen, answered && (**probe.statuses).empty()) +
          adminError + (probe.output.empty() ? std::string() : "; frpc said: " + probe.output));
}

}  // namespace edgelink::agent
