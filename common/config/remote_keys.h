#pragma once

// The split between what the cloud may configure on a board and what only the board's own file
// may (docs/REMOTE-CONFIG.md). One list for both sides: the agent refuses a remote config naming
// any other key, and `cloud-dispatcher config set` refuses to store one.

#include <string>
#include <string_view>
#include <vector>

namespace edgelink::config {

/// How a remote value is written in JSON: seconds and ports are integers, the rest strings.
enum class RemoteValueKind { kSeconds, kPort, kLogLevel, kText };

struct RemoteKey {
  const char* name;  ///< the agent's config key
  RemoteValueKind kind;
  const char* meaning;
};

/// The keys a remote config may set, in the order the docs list them.
const std::vector<RemoteKey>& remoteKeys();
/// The remote key named `name`, or null.
const RemoteKey* findRemoteKey(std::string_view name);
/// True for an agent key that only the board's own file may set (services, ports, keys,
/// credentials, paths): named so a refusal can say why.
bool isLocalOnlyKey(std::string_view name);

/// Why `name` = `json` (a JSON value's text: 30, "debug") cannot be part of a remote config, or
/// "" when it can: an unknown key, a local-only key, or a value of the wrong kind or range.
/// Ranges are the agent's own (the agent then validates the whole config as `verify` does).
std::string checkRemoteValue(std::string_view name, std::string_view json);

}  // namespace edgelink::config
