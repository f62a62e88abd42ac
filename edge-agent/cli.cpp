#include "cli.h"

#include <cstdio>

#include "agent.h"
#include "agent_config.h"
#include "config/cli_config.h"
#include "config/secrets.h"
#include "core/atomic_file.h"
#include "core/clock.h"
#include "core/logging.h"
#include "core/version.h"

namespace edgelink::agent {

namespace {

/// `edge-agent verify`: every warning and problem; 0 valid, 1 problems.
int runVerify(const Validated& v) {
  for (const auto& w : v.warnings) {
    std::printf("warning: %s\n", w.c_str());
  }
  for (const auto& p : v.problems.lines()) {
    std::printf("error: %s\n", p.c_str());
  }
  if (!v.problems.empty()) {
    std::printf("configuration has %zu problem(s)\n", v.problems.lines().size());
    return 1;
  }
  std::printf("configuration OK: edge %s, topic %s, %zu service(s), frpc %s (%s)\n",
              v.config.options.edgeId.c_str(), v.config.topic.c_str(), v.config.services.size(),
              v.config.options.frpcPath.c_str(), formatName(v.config.format));
  return 0;
}

/// `edge-agent render-frpc`: 0 config printed, 1 error response printed, 2 unreadable file.
int runRender(const AgentConfig& config, const std::string& requestFile, bool showSecrets) {
  auto bytes = readFile(requestFile);
  if (!bytes) {
    std::fprintf(stderr, "edge-agent: %s\n", bytes.error().describe().c_str());
    return 2;
  }
  auto rendered = renderForRequest(config, *bytes, SystemClock::instance(), showSecrets);
  std::fputs(rendered.text.c_str(), stdout);
  if (rendered.text.empty() || rendered.text.back() != '\n') {
    std::fputc('\n', stdout);
  }
  return rendered.ok ? 0 : 1;
}

}  // namespace

int runMain(int argc, const char* const* argv) {
  CLI::App app{
      "edge-agent: answers EdgeLink requests on this edge's Kafka topic and runs frpc on "
      "demand.\nEvery option is also a key of the --config file (kafka-brokers = \"...\" "
      "for --kafka-brokers)."};
  app.set_version_flag("--version", kVersion);
  AgentOptions options;
  auto* configFile = config::addConfigFile(app);
  addOptions(app, options);
  auto* verify = app.add_subcommand(
      "verify", "Load and validate the configuration, report every problem, exit 1 on any");
  auto* render = app.add_subcommand(
      "render-frpc",
      "Print the frpc config the agent would write for a request (or the error response it "
      "would send, exit 1). No Kafka, no processes; the request's timestamp is not judged.");
  std::string requestFile;
  bool showSecrets = false;
  render->add_option("--request", requestFile, "File holding the request envelope (JSON)")
      ->required()
      ->check(CLI::ExistingFile);
  render->add_flag("--show-secrets", showSecrets,
                   "Print the frps token and the admin password (masked by default)");
  verify->fallthrough();
  render->fallthrough();
  const std::string global =
      "Global flags (before or after the command): --config FILE and every option of "
      "`edge-agent --help` (--edge-id, --kafka-brokers, ...).\nExample: ";
  verify->footer(global + "edge-agent verify --config /etc/edge-agent/edge-agent.conf");
  render->footer(global +
                 "edge-agent render-frpc --config /etc/edge-agent/edge-agent.conf --request "
                 "start.json");
  app.require_subcommand(0, 1);

  auto outcome = config::parse(app, argc, argv);
  if (!outcome.proceed) {
    return config::report(outcome);
  }
  Validated v = validate(options);
  // Secrets come from files only (docs/SECURITY.md): not from the command line (ps shows it),
  // not from a config file others may read.
  std::vector<std::string> secrets;
  for (const auto& p : options.kafkaProperties) {
    if (auto key = p.substr(0, p.find('=')); config::isSecretProperty(key)) {
      secrets.push_back("kafka-property " + key);
    }
  }
  v.problems.addAll(config::secretsOnCommandLine(argc, argv, {"--kafka-property"}, {}));
  v.problems.addAll(config::configFileExposesSecrets(configFile->as<std::string>(), secrets));
  if (verify->parsed()) {
    return runVerify(v);
  }
  if (!v.problems.empty()) {
    std::fprintf(stderr, "edge-agent: invalid configuration:\n");
    for (const auto& p : v.problems.lines()) {
      std::fprintf(stderr, "  %s\n", p.c_str());
    }
    return 2;
  }
  if (render->parsed()) {
    return runRender(v.config, requestFile, showSecrets);
  }
  auto format = log::parseFormat(v.config.options.logFormat);  // validated above
  if (auto r = log::init(v.config.options.logLevel, format ? *format : log::Format::kText,
                         {{"edge", v.config.options.edgeId}});
      !r) {
    std::fprintf(stderr, "edge-agent: %s\n", r.error().message.c_str());
    return 2;
  }
  for (const auto& w : v.warnings) {
    log::get("agent")->warn("{}", w);
  }
  Agent agent(std::move(v.config), SystemClock::instance());
  return agent.run();
}

}  // namespace edgelink::agent
