// The cloud dispatcher's options loader on any config file text: CLI11's reading of the file,
// then Options::validate() collecting every problem. No exception escapes, nothing crashes.

#include <cstdio>
#include <cstdlib>

#include "config/cli_config.h"
#include "fuzz_util.h"
#include "options.h"

using namespace edgelink;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::silenceLogs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  CLI::App app{"cloud-dispatcher"};
  dispatcher::Options options;
  config::addConfigFile(app);
  options.addTo(app);
  if (!fuzz::parseConfigText(app, fuzz::asText(data, size), "cloud-dispatcher")) {
    return 0;
  }
  const config::Problems problems = options.validate();
  for (const auto& line : problems.lines()) {
    if (line.find(": ") == std::string::npos) {
      std::fprintf(stderr, "a problem that names no key: %s\n", line.c_str());
      std::abort();
    }
  }
  if (problems.empty()) {
    (void)options.effectiveTopicRegex();
    (void)options.edgeFromTopic(options.topicPrefix + "e1");
    (void)options.deadlineFor("frp_start");
    (void)options.topicConfigMap();
    for (const auto& [service, hint] : options.hintByService) {
      (void)options.connectHint(service, 31022);
    }
  }
  return 0;
}
