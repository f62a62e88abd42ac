#pragma once

// Helpers shared by the agent's unit tests.

#include <string>
#include <vector>

#include "agent_config.h"
#include "envelope/envelope.h"
#include "harness/test_util.h"

namespace edgelink::agent::test {

/// A valid configuration whose files live in `dir` (token file 0600, frpc = the stand-in).
AgentOptions validOptions(const testing::TempDir& dir);
/// validate(validOptions(dir)) that must have no problems.
AgentConfig validConfig(const testing::TempDir& dir);

/// Encodes and decodes again: the agent's output must pass the schemas like anyone's input.
envelope::Envelope roundTrip(const envelope::Envelope& e);

/// Runs `python3 -c script args...`; returns its stdout (throws when it exits non-zero).
std::string runPython(const std::string& script, const std::vector<std::string>& args);

/// Parses frpc config files with the stand-in's strict loader (tomllib for TOML, a go-ini-like
/// reader for INI): a JSON array with, per file, {"ok": bool, "cfg": ..., "raw": ..., "error"}.
std::string parseFrpcConfigs(const std::vector<std::string>& paths);

std::string fakesDir();

}  // namespace edgelink::agent::test
