#pragma once

// `edge-agent render-frpc`: the frpc config the agent would write for a request, through the
// daemon's own triage and start plan; no Kafka, no process, no file.

#include <string>

#include "agent_config.h"
#include "core/clock.h"

namespace edgelink::agent {

/// What `edge-agent render-frpc` prints for a request: the frpc config the agent would write,
/// or the error response it would send (ok false). Timestamps are not judged (the request file
/// is usually an example); everything else is, exactly as the daemon does. The frps token and
/// the admin password are masked (kMaskedSecret, with a comment saying so) unless `showSecrets`.
struct RenderOutcome {
  bool ok = false;
  std::string text;
};
inline constexpr const char* kMaskedSecret = "*****";
RenderOutcome renderForRequest(const AgentConfig& config, const std::string& requestBytes,
                               const Clock& clock, bool showSecrets = false);

}  // namespace edgelink::agent
