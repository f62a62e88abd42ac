#pragma once

// The board's remote configuration (docs/REMOTE-CONFIG.md), decided without I/O: a get_config
// answer's body read into a RemoteConfig; a RemoteConfig checked against the split (no
// local-only or unknown key, every value of its kind) and overlaid on the board's own options,
// then validated by the same code as `edge-agent verify`. The result is the configuration the
// agent would run with, or why the remote config is refused (the old one is then kept).
// Persisted as <state-dir>/remote-config.json {version, received_at, config}.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "agent_config.h"
#include "core/result.h"

namespace edgelink::agent {

/// A remote config as the cloud sent it.
struct RemoteConfig {
  int64_t version = 0;
  int64_t receivedAtMs = 0;
  /// key -> the value's JSON text (30, "debug"), in the order received.
  std::vector<std::pair<std::string, std::string>> values;
};

/// Reads a get_config answer's body, {"version": V, "config": {...}} (JSON text). The keys and
/// values are not judged here (checkRemoteConfig does): only the shape.
Result<RemoteConfig> parseRemoteConfigBody(std::string_view bodyJson, int64_t receivedAtMs);

/// The configuration the agent runs with under `remote`: the board's own options (`own`, as
/// its file and flags give them) with the remote values over them, validated as `verify` does.
/// An error (400) says why it is refused, naming the key: a local-only or unknown key, a value
/// of the wrong kind, every problem validate() finds. Other kafka-brokers than the agent runs
/// on is a move (AgentCore decides; the result carries the new cluster's Kafka properties).
Result<AgentConfig> checkRemoteConfig(const AgentOptions& own, const RemoteConfig& remote);

/// remote-config.json's text: {"version", "received_at" (RFC 3339), "config"}.
std::string remoteConfigToJson(const RemoteConfig& remote);
/// Parses remote-config.json's text; an error says what is wrong.
Result<RemoteConfig> remoteConfigFromJson(std::string_view text);

/// <state-dir>/remote-config.json
std::string remoteConfigPath(const AgentOptions& options);

}  // namespace edgelink::agent
