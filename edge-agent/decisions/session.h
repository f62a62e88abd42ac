#pragma once

// The frp session as pure data and decisions: what a start request asks for (a plan checked
// against the agent's config), whether it starts, extends or restarts the running session, and
// whether a session found at startup resumes or has expired. No processes, no I/O.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "agent_config.h"
#include "core/result.h"
#include "envelope/bodies.h"
#include "envelope/envelope.h"
#include "envelope/frp_command.h"
#include "frpc_config.h"

namespace edgelink::agent {

/// One exposed service of a session.
struct SessionService {
  uint16_t remotePort = 0;  ///< 0 for stcp (no public port)
  std::string proxyName;
  std::string localIp;
  uint16_t localPort = 0;

  std::string localAddr() const { return localIp + ":" + std::to_string(localPort); }
  friend bool operator==(const SessionService& a, const SessionService& b) {
    return a.remotePort == b.remotePort && a.proxyName == b.proxyName && a.localIp == b.localIp &&
           a.localPort == b.localPort;
  }
};

/// What a start request asks for, checked against the agent's config.
struct FrpPlan {
  std::map<std::string, SessionService> services;  ///< by service name
  std::string secretKey = {};  ///< stcp: the session's secret (never logged); empty: tcp
  int64_t autoStopSeconds = 0;
  bool capped = false;  ///< the request asked for more than auto-stop-max
};

/// A running (or resumable) frp session. Times are wall-clock epoch ms (persisted).
struct Session {
  std::map<std::string, SessionService> services;
  std::string secretKey = {};  ///< stcp: the session's secret (never logged); empty: tcp
  int64_t startedAtMs = 0;
  int64_t expiresAtMs = 0;
  int64_t autoStopSeconds = 0;
  envelope::Id requestId;  ///< the request that started (or last extended) it

  bool sameServices(const FrpPlan& plan) const {
    return services == plan.services && secretKey == plan.secretKey;
  }
  bool stcp() const { return !secretKey.empty(); }
  /// Seconds until the auto-stop deadline (negative when past).
  int64_t secondsLeft(int64_t nowMs) const;
  std::vector<ProxySpec> proxies() const;
};

/// The legacy or canonical field a service's port came from, for error messages:
/// "request.body.edge_ssh_remote_port" or "request.body.services.ssh".
std::string serviceField(const std::string& requestType, const std::string& service);

/// Checks a start command against the config: every service must be named by the config
/// (403), every port within remote-ports (403; stcp has none); auto-stop defaults and is capped.
Result<FrpPlan> planStart(const AgentConfig& config, const std::string& requestType,
                          const envelope::FrpCommand& command);

enum class StartDecision {
  kStart,    ///< nothing runs: start frpc
  kExtend,   ///< running with the same services and ports: only move the deadline
  kRestart,  ///< running with other ports: stop frpc, start it on the new config
};
StartDecision decideStart(const std::optional<Session>& running, const FrpPlan& plan);

/// A new session (or the extended one) for `plan` started at `nowMs`.
Session sessionFor(const FrpPlan& plan, int64_t nowMs, const envelope::Id& requestId);

enum class ResumeDecision { kNothing, kResume, kExpired };
/// At startup: a stored session resumes (frpc restarted, same deadline) or is reported expired.
ResumeDecision decideResume(const std::optional<Session>& stored, int64_t nowMs);

/// Why the last session ended (kept for frp_status and the frp_stopped event).
struct StopInfo {
  std::string reason;  ///< envelope::stop_reason::*
  int64_t stoppedAtMs = 0;
  std::string exitStatus;  ///< exited_unexpectedly: "exited with status 1"
  std::string output;      ///< exited_unexpectedly / start_failed: frpc's last lines
};

/// frp's status of one proxy, from the admin API.
struct ProxyStatus {
  std::string name;
  std::string type;
  std::string status;  ///< "running", "start error", "wait start", "new", "check failed", ...
  std::string err;
  std::string localAddr;
  std::string remoteAddr;
};

/// frpc's /api/status lists no proxies at all until frpc has logged in to frps, and again while
/// it is reconnecting (frps restarted or away; frpc retries on its own, the session goes on).
/// The agent reports each proxy of its session then with this status and error.
inline constexpr const char* kProxyDisconnected = "disconnected";
inline constexpr const char* kNotLoggedIn = "frpc is not logged in to frps (it lists no proxies)";

/// What an frpState body (schemas/common.schema.json#/definitions/frpState) describes.
struct FrpStateView {
  const Session* session = nullptr;  ///< the running session, or the one that just ended
  bool running = false;
  int pid = 0;
  const StopInfo* stop = nullptr;  ///< why it stopped (stopped states)
  const std::map<std::string, ProxyStatus>* statuses = nullptr;  ///< by proxy name
  bool extended = false;  ///< a start only moved the deadline
};

/// The frpState body: state, services (with each proxy's status and error when `statuses` is
/// given), pid, times, seconds left; stop reason and time.
envelope::body::FrpState frpState(const FrpStateView& view, int64_t nowMs);

/// Writes the frpState object into `env`'s body: state, services (with each proxy's status and
/// error when `statuses` is given), pid, times, seconds left; stop reason and time.
void writeFrpState(envelope::Envelope& env, const FrpStateView& view, int64_t nowMs);

}  // namespace edgelink::agent
