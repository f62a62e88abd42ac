// `edge-agent render-frpc`: a request and an agent config to the frpc config the agent would
// write (or the error response it would send), through the daemon's own triage and start plan.
// Both are untrusted here: the request bytes and the config text.
//
// Input: the config file text, a NUL, the request bytes. The files the config names are the
// config loader's target's business (agent_config_fuzz): here they are the fuzzer's own, so a
// config that is valid apart from its paths reaches the renderer. Without --show-secrets, the
// frps token never appears in the output.

#include <cstdio>
#include <cstdlib>

#include "agent_config.h"
#include "core/clock.h"
#include "fuzz_util.h"
#include "render_frpc.h"

using namespace edgelink;

namespace {

constexpr const char* kToken = "fuzz-frps-t0ken-Q9zX";

struct Fixtures {
  std::string tokenFile;
  std::string caFile;
};

const Fixtures& fixtures() {
  static const Fixtures f{
      fuzz::writeScratch("frps-token", kToken),
      fuzz::writeScratch("frps-ca.pem",
                         "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")};
  return f;
}

/// The fuzzer's files in place of the config's own.
void useFixtures(agent::AgentOptions& o) {
  o.frpcPath = "/bin/sh";
  if (!o.frpsTokenFile.empty()) {
    o.frpsTokenFile = fixtures().tokenFile;
  }
  if (!o.frpsCaFile.empty()) {
    o.frpsCaFile = fixtures().caFile;
  }
  o.trustedKeys.clear();
  o.requireSignedRequests = false;
  o.stateDir = fuzz::scratchDir();
  o.frpcConfig.clear();
  o.keyFile.clear();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::silenceLogs();
  (void)fixtures();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto [configText, request] = fuzz::splitAt(fuzz::asText(data, size), '\0');
  CLI::App app{"edge-agent"};
  agent::AgentOptions options;
  config::addConfigFile(app);
  agent::addOptions(app, options);
  if (!fuzz::parseConfigText(app, configText, "edge-agent")) {
    return 0;
  }
  useFixtures(options);
  const agent::Validated v = agent::validate(options);
  if (!v.problems.empty()) {
    return 0;
  }
  static const ManualClock clock;
  const agent::RenderOutcome out = agent::renderForRequest(v.config, std::string(request), clock);
  if (out.text.empty()) {
    std::fprintf(stderr, "render-frpc printed nothing\n");
    std::abort();
  }
  if (out.text.find(kToken) != std::string::npos &&
      request.find(kToken) == std::string_view::npos) {
    std::fprintf(stderr, "render-frpc printed the frps token without --show-secrets\n");
    std::abort();
  }
  return 0;
}
