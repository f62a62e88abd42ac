#pragma once

// <state-dir>/remote-config.json: the remote configuration the agent last accepted, written
// atomically (mode 0600) like state.json, and loaded at start (docs/AGENT.md "Remote
// configuration").

#include <optional>
#include <string>

#include "core/result.h"
#include "decisions/remote_config.h"

namespace edgelink::agent {

/// A missing file is no remote config; a damaged one is set aside (<path>.corrupt-<ms>) and
/// ignored, with `warning` saying so.
struct LoadedRemoteConfig {
  std::optional<RemoteConfig> remote;
  std::string warning;
};
LoadedRemoteConfig loadRemoteConfig(const std::string& path, int64_t nowMs);

/// Writes atomically, mode 0600.
VoidResult saveRemoteConfig(const std::string& path, const RemoteConfig& remote);

}  // namespace edgelink::agent
