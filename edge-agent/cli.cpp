#include "cli.h"

#include <cstdio>
#include <cstdlib>
#include <optional>

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

/// The system clocks with the wall clock moved by a fixed offset (a test's wrong board clock).
class OffsetWallClock final : public Clock {
 public:
  explicit OffsetWallClock(int64_t offsetMs) : offsetMs_(offsetMs) {}
  int64_t wallMs() const override { return SystemClock::instance().wallMs() + offsetMs_; }
  int64_t monoMs() const override { return SystemClock::instance().monoMs(); }

 private:
  int64_t offsetMs_;
};

}  // namespace

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

/// `edge-agent key`: the board's public key (base64) on stdout, its key id and file on stderr;
/// the key is made on first use. Never the private key. 0 printed, 2 unusable key file.
int runKey(const AgentOptions& options) {
  const std::string path = keyFilePath(options);
  bool created = false;
  auto key = security::SigningKey::loadOrCreate(path, &created);
  if (!key) {
    std::fprintf(stderr, "edge-agent: key-file: %s\n", key.error().describe().c_str());
    return 2;
  }
  std::printf("%s\n", key->publicKey().base64().c_str());
  std::fprintf(stderr,
               "key id %s (%s%s); provision it with: cloud-dispatcher edges add %s --key %s\n",
               key->keyId().c_str(), path.c_str(), created ? ", made now" : "",
               options.edgeId.empty() ? "EDGE_ID" : options.edgeId.c_str(),
               key->publicKey().base64().c_str());
  return 0;
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
  auto* keyCmd = app.add_subcommand(
      "key",
      "Print this board's public signing key (base64; its key id on stderr), making the key "
      "(key-file, default <state-dir>/agent.key, 0600) on first use. The private key never "
      "leaves the file.");
  verify->fallthrough();
  render->fallthrough();
  keyCmd->fallthrough();
  const std::string global =
      "Global flags (before or after the command): --config FILE and every option of "
      "`edge-agent --help` (--edge-id, --kafka-brokers, ...).\nExample: ";
  verify->footer(global + "edge-agent verify --config /etc/edge-agent/edge-agent.conf");
  render->footer(global +
                 "edge-agent render-frpc --config /etc/edge-agent/edge-agent.conf --request "
                 "start.json");
  keyCmd->footer(global + "edge-agent key --config /etc/edge-agent/edge-agent.conf");
  app.require_subcommand(0, 1);

  auto outcome = config::parse(app, argc, argv);
  if (!outcome.proceed) {
    return config::report(outcome);
  }
  if (keyCmd->parsed()) {
    return runKey(options);  // needs only state-dir / key-file, not a whole valid config
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
  std::optional<OffsetWallClock> skewed;
  if (const char* offset = std::getenv("EDGELINK_TEST_WALL_CLOCK_OFFSET_MS")) {
    // Tests only (tests/integration/agent/clock_test.cpp): a board whose clock is wrong.
    skewed.emplace(std::strtoll(offset, nullptr, 10));
    log::get("agent")->warn("EDGELINK_TEST_WALL_CLOCK_OFFSET_MS: the wall clock is moved by {} ms",
                            std::strtoll(offset, nullptr, 10));
  }
  Agent agent(std::move(v.config),
              skewed ? static_cast<const Clock&>(*skewed) : SystemClock::instance());
  return agent.run();
}

}  // namespace edgelink::agent
