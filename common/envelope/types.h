#pragma once

// The names on the wire. Changing any of these breaks deployed agents and web backends:
// tests/unit/envelope/stability_test.cpp pins them.

#include <string_view>

namespace edgelink::envelope {

namespace request_type {
/// Legacy start/stop frp, from the original design (ports + auto_stop_service_in + actions).
inline constexpr const char* kChangeFrpClientConfig = "change_frp_client_config";
/// Canonical start: {"services": {"ssh": 31022, ...}, "auto_stop_seconds": 3600}.
inline constexpr const char* kFrpStart = "frp_start";
inline constexpr const char* kFrpStop = "frp_stop";
inline constexpr const char* kFrpStatus = "frp_status";
inline constexpr const char* kSystemInfo = "system_info";
inline constexpr const char* kPing = "ping";
}  // namespace request_type

namespace event_type {
inline constexpr const char* kAgentStarted = "agent_started";
inline constexpr const char* kAgentStopping = "agent_stopping";
inline constexpr const char* kHeartbeat = "heartbeat";
inline constexpr const char* kFrpStarted = "frp_started";
inline constexpr const char* kFrpStopped = "frp_stopped";
}  // namespace event_type

namespace stop_reason {
inline constexpr const char* kRequested = "requested";
inline constexpr const char* kAutoStop = "auto_stop";
inline constexpr const char* kExitedUnexpectedly = "exited_unexpectedly";
inline constexpr const char* kAgentShutdown = "agent_shutdown";
inline constexpr const char* kExpiredWhileDown = "expired_while_down";
/// The session was replaced by a start with other ports.
inline constexpr const char* kReplaced = "replaced";
/// frpc never got all proxies running (the start request was answered with a failure).
inline constexpr const char* kStartFailed = "start_failed";
}  // namespace stop_reason

/// How the agent handled a request, as its heartbeat's `metrics.requests` counts them (one
/// per "request id=..." log line): by the answer's status code, or answered again from the
/// stored response.
namespace request_outcome {
inline constexpr const char* kOk = "ok";              ///< 2xx
inline constexpr const char* kRejected = "rejected";  ///< 4xx other than 408: refused, not acted on
inline constexpr const char* kStale = "stale";        ///< 408: too old or past expires_at
inline constexpr const char* kFailed = "failed";      ///< 5xx: tried and failed, or timed out
/// A redelivered id, answered from the stored response (not acted on again).
inline constexpr const char* kRedelivered = "redelivered";
}  // namespace request_outcome

namespace legacy {
inline constexpr const char* kActionStart = "start_frp_client_service";
inline constexpr const char* kActionStop = "stop_frp_client_service";
/// Legacy body port fields and the service names they map to.
struct PortField {
  const char* field;
  const char* service;
};
inline constexpr PortField kPortFields[] = {
    {"edge_ssh_remote_port", "ssh"},
    {"edge_fcc_web_config_page_remote_port", "fcc_web"},
    {"camera_admin_web_page_remote_port", "camera_admin"},
};
inline constexpr const char* kAutoStopField = "auto_stop_service_in";
}  // namespace legacy

/// Status texts used in `overall_status`.
inline constexpr const char* kStatusSucceed = "Succeed";
inline constexpr const char* kStatusFailed = "Failed";

/// A request/event type name as the schemas allow it (common.schema.json#/definitions/typeName):
/// [a-z][a-z0-9_.]*, at most 64 characters. The one check, for whoever must judge a type the
/// schemas did not (salvaged headers, configuration keys).
inline bool isTypeName(std::string_view t) {
  if (t.empty() || t.size() > 64 || !(t[0] >= 'a' && t[0] <= 'z')) {
    return false;
  }
  for (char c : t) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.')) {
      return false;
    }
  }
  return true;
}

}  // namespace edgelink::envelope
