#pragma once

// Whether a pending frpc start has succeeded, failed or must wait, from what the shell saw at
// one check: frpc's exit (if it exited), its last output lines, the admin API's proxy statuses
// and whether the start's deadline has passed. Pure: the admin API call, the process and the
// clock are the caller's.

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "core/result.h"
#include "decisions/session.h"

namespace edgelink::agent {

using ProxyStatuses = std::map<std::string, ProxyStatus>;

/// What one check of a pending start saw.
struct StartProbe {
  std::optional<std::string> exited;  ///< frpc's wait status, described, when it has exited
  std::string output;                 ///< frpc's last output lines
  /// The admin API's answer (not asked once frpc has exited).
  std::optional<Result<ProxyStatuses>> statuses;
  bool pastDeadline = false;  ///< the start's bound (frpc-start-timeout) has passed
};

enum class StartOutcome { kWait, kRunning, kFailed };
struct StartVerdict {
  StartOutcome outcome = StartOutcome::kWait;
  Error error;             ///< kFailed: 500 (frpc exited, a proxy in start error) or 504
  std::string exitStatus;  ///< kFailed because frpc exited
};

/// Judges one check. `lastSeen` keeps the statuses of the last successful admin API answer
/// (they go into the failure response). 200 only when every proxy of `session` is running.
StartVerdict judgeStart(const Session& session, const StartProbe& probe, ProxyStatuses& lastSeen,
                        int64_t timeoutSeconds);

}  // namespace edgelink::agent
