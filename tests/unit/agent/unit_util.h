#pragma once

// Helpers shared by the agent's unit tests.

#include <string>
#include <vector>

#include "agent_config.h"
#include "decisions/actions.h"
#include "decisions/system_info.h"
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

/// The envelopes the Send actions among `actions` carry, decoded (each must decode).
std::vector<envelope::Envelope> sent(const Actions& actions);

/// A board's facts as the tests know them (hostname "board", 4 CPUs, 1 GB of memory, ...).
inline SystemFacts boardFacts() {
  SystemFacts f;
  f.hostname = "board";
  f.kernel = "Linux 5.10.160 armv7l";
  f.uptimeSeconds = 3600.5;
  f.cpuCount = 4;
  f.loadAverage = std::vector<double>{0.5, 0.25, 0.125};
  f.memory = SystemFacts::Memory{1'000'000'000, 250'000'000};
  f.rssBytes = 12'345'678;
  return f;
}

}  // namespace edgelink::agent::test
