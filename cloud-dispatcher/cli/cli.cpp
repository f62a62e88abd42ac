#include "cli/cli.h"

#include <cstdio>

#include "cli/config_store.h"
#include "cli/context.h"
#include "config/cli_config.h"
#include "config/secrets.h"
#include "core/logging.h"
#include "core/version.h"

namespace edgelink::dispatcher {

int cliMain(int argc, const char* const* argv) {
  Options options;
  Context context(options);
  CLI::App app{
      "cloud-dispatcher: the EdgeLink cloud dispatcher (daemon and operators' CLI).\n"
      "Every option below is also a key of the --config file (kafka-brokers = \"...\" for "
      "--kafka-brokers); flags win. Durations: 600, 90s, 15m, 2h, 1d."};
  app.fallthrough();
  app.require_subcommand(1);
  app.set_version_flag("--version", kVersion);
  auto* configFile = config::addConfigFile(app, "CLOUD_DISPATCHER_CONFIG");
  options.addTo(app);
  app.add_flag("--json", context.json, "Print JSON instead of tables (for scripts)");
  app.add_flag("-v,--verbose", context.verbose, "CLI commands: log at --log-level instead of warn");
  app.footer(
      "Exit codes: 0 ok, 1 the edge answered non-2xx or the command was refused, 2 usage or "
      "configuration error, 3 no answer within --wait, 4 Kafka, 5 PostgreSQL, 6 not found.\n"
      "Example: cloud-dispatcher --config /etc/edgelink/cloud-dispatcher.conf session open "
      "--edge elevator-0042 --auto-stop 1h");

  Commands commands(app, context);
  addDaemonCommands(commands);
  addDbCommands(commands);
  addSendCommand(commands);
  addSessionCommands(commands);
  addEdgesCommands(commands);
  addRequestsCommands(commands);
  addEventsCommands(commands);
  addKeysCommands(commands);
  addAuditCommands(commands);
  addConfigCommands(commands);
  addUsersCommands(commands);

  auto parsed = config::parse(app, argc, argv);
  if (!parsed.proceed) {
    return config::report(parsed);
  }
  config::Problems problems = options.validate();
  // Secrets come from files only (docs/SECURITY.md): not from the command line (ps shows it),
  // not from a config file others may read.
  std::vector<std::string> secrets;
  for (const auto& p : options.kafkaProperties) {
    if (auto key = p.substr(0, p.find('=')); config::isSecretProperty(key)) {
      secrets.push_back("kafka-property " + key);
    }
  }
  if (config::conninfoHasPassword(options.pgConninfo)) {
    secrets.emplace_back("pg-conninfo password");
  }
  problems.addAll(
      config::secretsOnCommandLine(argc, argv, {"--kafka-property"}, {"--pg-conninfo"}));
  problems.addAll(config::configFileExposesSecrets(configFile->as<std::string>(), secrets));
  if (context.limit < 1 || context.limit > 1000000) {
    problems.add("limit", "expected 1-1000000");
  }
  if (!problems.empty()) {
    std::fprintf(stderr, "cloud-dispatcher: configuration problems:\n");
    for (const auto& line : problems.lines()) {
      std::fprintf(stderr, "  %s\n", line.c_str());
    }
    return kExitUsage;
  }
  // The CLI logs warnings only unless -v; the daemon at --log-level.
  std::string level = options.logLevel;
  if (!app.got_subcommand("run") && !context.verbose) {
    auto parsedLevel = log::parseLevel(level);
    if (parsedLevel && *parsedLevel < spdlog::level::warn) {
      level = "warn";
    }
  }
  auto format = log::parseFormat(options.logFormat);  // validated above
  (void)log::init(level, format ? *format : log::Format::kText);
  return commands.runParsed();
}

}  // namespace edgelink::dispatcher
