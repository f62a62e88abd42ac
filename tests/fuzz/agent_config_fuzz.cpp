// The edge agent's configuration loader on any config file text: CLI11's reading of the file
// (unknown keys refused), then validate() collecting every problem. Whatever the text, the
// outcome is options or messages naming keys: no exception escapes, nothing crashes.

#include <cstdio>
#include <cstdlib>

#include "agent_config.h"
#include "fuzz_util.h"

using namespace edgelink;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::silenceLogs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  CLI::App app{"edge-agent"};
  agent::AgentOptions options;
  config::addConfigFile(app);
  agent::addOptions(app, options);
  if (!fuzz::parseConfigText(app, fuzz::asText(data, size), "edge-agent")) {
    return 0;
  }
  const agent::Validated v = agent::validate(options);
  for (const auto& line : v.problems.lines()) {
    if (line.find(": ") == std::string::npos) {
      std::fprintf(stderr, "a problem that names no key: %s\n", line.c_str());
      std::abort();
    }
  }
  if (v.problems.empty()) {
    for (const auto& s : v.config.services) {
      if (v.config.findService(s.name) == nullptr) {
        std::fprintf(stderr, "configured service %s not found\n", s.name.c_str());
        std::abort();
      }
    }
    (void)v.config.statePath();
  }
  return 0;
}
