#include "agent_config.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <set>

#include "core/atomic_file.h"
#include "core/logging.h"
#include "core/strings.h"
#include "envelope/types.h"
#include "frpc_format.h"
#include "security/ed25519.h"

namespace edgelink::agent {
namespace {

bool isTopicChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
}

bool isHostName(const std::string& host) {
  if (host.empty() || host.size() > 253) {
    return false;
  }
  return std::all_of(host.begin(), host.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':' ||
           c == '_';
  });
}

/// An executable by path, or found in $PATH when the name has no '/'.
bool executableExists(const std::string& program) {
  if (program.find('/') != std::string::npos) {
    return ::access(program.c_str(), X_OK) == 0;
  }
  const char* path = std::getenv("PATH");
  for (const auto& dir : split(path ? path : "/usr/bin:/bin", ':')) {
    std::string candidate = (dir.empty() ? "." : dir) + "/" + program;
    if (::access(candidate.c_str(), X_OK) == 0) {
      return true;
    }
  }
  return false;
}

void checkRange(config::Problems& p, const std::string& key, int64_t value, int64_t lo,
                int64_t hi) {
  if (value < lo || value > hi) {
    p.add(key, "expected " + std::to_string(lo) + "-" + std::to_string(hi) + ", got " +
                   std::to_string(value));
  }
}

void checkServices(const AgentOptions& o, Validated& out) {
  std::set<std::string> names;
  for (const auto& entry : o.services) {
    auto kv = splitKeyValue(entry);
    auto hostPort = kv ? parseHostPort(kv->second) : std::nullopt;
    if (!kv || !hostPort) {
      out.problems.add("service",
                       "expected NAME=HOST:PORT (e.g. ssh=127.0.0.1:22), got '" + entry + "'");
      continue;
    }
    if (!isValidServiceName(kv->first)) {
      out.problems.add("service", "service name '" + kv->first +
                                      "': expected lower-case letters, digits and '_', starting "
                                      "with a letter (at most 32)");
      continue;
    }
    if (!names.insert(kv->first).second) {
      out.problems.add("service", "service '" + kv->first + "' is given twice");
      continue;
    }
    out.config.services.push_back({kv->first, hostPort->first, hostPort->second});
  }
  if (o.services.empty()) {
    out.problems.add("service",
                     "no service configured: requests can only expose services named here "
                     "(e.g. service = [\"ssh=127.0.0.1:22\"])");
  }
}

void checkRemotePorts(const AgentOptions& o, Validated& out) {
  auto dash = o.remotePorts.find('-');
  auto lo = parseUint64(trim(o.remotePorts.substr(0, dash)));
  auto hi = dash == std::string::npos ? lo : parseUint64(trim(o.remotePorts.substr(dash + 1)));
  if (!lo || !hi || *lo < 1 || *hi > 65535 || *lo > *hi) {
    out.problems.add(
        "remote-ports",
        "expected a range LOW-HIGH within 1-65535 (e.g. 30000-39999), got '" + o.remotePorts + "'");
    return;
  }
  out.config.remotePortMin = static_cast<uint16_t>(*lo);
  out.config.remotePortMax = static_cast<uint16_t>(*hi);
}

void checkToken(const AgentOptions& o, FrpcFormat format, Validated& out) {
  if (o.frpsTokenFile.empty()) {
    out.warnings.push_back("frps-token-file: not set; frpc will log in to frps without a token");
    return;
  }
  // Refused, not warned about, when others may read it (security::readSecretFile).
  auto text = security::readSecretFile(o.frpsTokenFile);
  if (!text) {
    out.problems.add("frps-token-file", text.error().message);
    return;
  }
  std::string token = *text;
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r')) {
    token.pop_back();
  }
  if (token.empty()) {
    out.problems.add("frps-token-file", o.frpsTokenFile + " is empty");
    return;
  }
  if (auto r = checkFrpcString(token, format); !r) {
    // The message never quotes the token itself.
    out.problems.add("frps-token-file", "the token " + r.error().message);
    return;
  }
  out.config.frpsToken = std::move(token);
}

/// trusted-keys, require-signed-requests, allow-unsigned, key-file.
void checkSigning(const AgentOptions& o, Validated& out) {
  auto& p = out.problems;
  for (const auto& entry : o.trustedKeys) {
    auto key = security::parsePublicKeyEntry(entry);
    if (!key) {
      p.add("trusted-keys", key.error().message);
      continue;
    }
    out.config.trustedKeys.add(*key);
  }
  if (o.requireSignedRequests && out.config.trustedKeys.empty() && o.trustedKeys.empty()) {
    p.add("trusted-keys",
          "required when require-signed-requests = true (the cloud's public "
          "key(s), from `cloud-dispatcher keys`)");
  }
  for (const auto& type : o.allowUnsigned) {
    if (!isReadOnlyRequestType(type)) {
      p.add("allow-unsigned", "'" + type + "' is not a read-only request type (ping, " +
                                  "frp_status, system_info): a request that acts must be signed");
    }
  }
  out.config.keyFilePath = keyFilePath(o);
  struct stat st {};
  if (::stat(out.config.keyFilePath.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    p.add("key-file", out.config.keyFilePath + " (this board's private key) may be read or " +
                          "written by group or others (mode " + mode + "): chmod 600 it");
  }
}

void checkTls(const AgentOptions& o, Validated& out) {
  config::Problems& p = out.problems;
  if (o.frpsTls == "on" || o.frpsTls == "off") {
    out.config.frpsTls = o.frpsTls == "on";
  } else if (o.frpsTls != "default") {
    p.add("frps-tls", "expected on, off or default, got '" + o.frpsTls + "'");
  }
  const bool off = o.frpsTls == "off";
  if (off && !o.frpsCaFile.empty()) {
    p.add("frps-ca-file", "names a CA but frps-tls is off: turn TLS on or drop the CA");
  }
  if (off && !o.frpsServerName.empty()) {
    p.add("frps-server-name", "is for TLS but frps-tls is off");
  }
  if (!o.frpsServerName.empty() && !isHostName(o.frpsServerName)) {
    p.add("frps-server-name", "expected a host name, got '" + o.frpsServerName + "'");
  }
  if (!o.frpsCaFile.empty()) {
    auto text = readFile(o.frpsCaFile);
    if (!text) {
      p.add("frps-ca-file", text.error().describe());
    } else if (text->find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
      p.add("frps-ca-file", o.frpsCaFile + " holds no PEM certificate");
    } else if (auto r = checkFrpcString(o.frpsCaFile, FrpcFormat::kIni); !r) {
      p.add("frps-ca-file", "the path " + r.error().message);
    }
  } else if (o.frpsTls != "off") {
    out.warnings.push_back(
        "frps-ca-file: not set; frpc encrypts to frps but does not verify its certificate");
  }
}

void checkKafka(const AgentOptions& o, Validated& out) {
  if (o.kafkaBrokers.empty()) {
    out.problems.add("kafka-brokers", "required (host:port[,host:port...])");
  }
  AgentConfig& c = out.config;
  c.consumerConfig = consumerDefaults(o.edgeId);
  c.producerConfig = producerDefaults(o.edgeId);
  for (kafka::Config* kc : {&c.consumerConfig, &c.producerConfig}) {
    kc->set("bootstrap.servers", o.kafkaBrokers);
  }
  bool syntaxOk = true;
  for (const auto& kv : o.kafkaProperties) {
    if (!splitKeyValue(kv)) {
      out.problems.add("kafka-property",
                       "expected key=value (a librdkafka property), got '" + kv + "'");
      syntaxOk = false;
    }
  }
  if (!syntaxOk) {
    return;
  }
  (void)c.consumerConfig.apply(o.kafkaProperties, "kafka-property");
  (void)c.producerConfig.apply(o.kafkaProperties, "kafka-property");
  for (const auto& problem : c.consumerConfig.check()) {
    out.problems.add("kafka-property", problem);
  }
  int64_t maxBytes = std::atoll(c.producerConfig.get("message.max.bytes", "1000000").c_str());
  if (o.maxMessageBytes > maxBytes) {
    out.problems.add("max-message-bytes", "is " + std::to_string(o.maxMessageBytes) +
                                              ", larger than librdkafka's message.max.bytes " +
                                              std::to_string(maxBytes));
  }
}

}  // namespace

bool isValidEdgeId(const std::string& id) {
  return !id.empty() && id.size() <= 200 && std::all_of(id.begin(), id.end(), isTopicChar);
}

bool isValidServiceName(const std::string& name) {
  if (name.empty() || name.size() > 32 || !(name[0] >= 'a' && name[0] <= 'z')) {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

bool isReadOnlyRequestType(std::string_view type) {
  namespace rt = envelope::request_type;
  return type == rt::kPing || type == rt::kFrpStatus || type == rt::kSystemInfo;
}

std::string keyFilePath(const AgentOptions& options) {
  return options.keyFile.empty() ? options.stateDir + "/agent.key" : options.keyFile;
}

const ServiceSpec* AgentConfig::findService(const std::string& name) const {
  for (const auto& s : services) {
    if (s.name == name) {
      return &s;
    }
  }
  return nullptr;
}

void addOptions(CLI::App& app, AgentOptions& o) {
  auto durationOption = [&app](const char* name, int64_t& value, const char* help) {
    config::durationDefault(app.add_option(name, value, help)->transform(config::durationSeconds()),
                            value);
  };
  app.add_option("--edge-id", o.edgeId, "This edge's id ([A-Za-z0-9._-], at most 200)");
  app.add_option("--kafka-brokers", o.kafkaBrokers, "Kafka bootstrap servers (host:port,...)");
  app.add_option("--kafka-cluster", o.kafkaCluster,
                 "The Kafka cluster's name, for people (logs); set by the cloud when it moves "
                 "the board");
  app.add_option("--topic-prefix", o.topicPrefix, "Topic = prefix + edge id")
      ->capture_default_str();
  config::addListOption(app, "--kafka-property", o.kafkaProperties,
                        "Extra librdkafka property key=value (repeatable; TLS, SASL, tuning)");
  app.add_option("--state-dir", o.stateDir, "Directory of the state file and the frpc config")
      ->capture_default_str();
  app.add_option("--frpc-path", o.frpcPath, "The frpc binary (a path, or a name in PATH)")
      ->capture_default_str();
  app.add_option("--frpc-config", o.frpcConfig,
                 "Where the generated frpc config is written (default: <state-dir>/frpc.toml "
                 "or frpc.ini)");
  app.add_option("--frpc-format", o.frpcFormat, "frpc config format: toml (frp >= 0.52) or ini")
      ->capture_default_str();
  app.add_flag("--frpc-verify{true},!--no-frpc-verify", o.frpcVerify,
               "Run 'frpc verify -c' on the generated config before starting frpc");
  app.add_option("--frps-addr", o.frpsAddr, "frps server address (host name or IP)");
  app.add_option("--frps-port", o.frpsPort, "frps server port")->capture_default_str();
  app.add_option("--frps-token-file", o.frpsTokenFile,
                 "File holding frps's auth token (mode 0600; never logged)");
  app.add_option("--frps-tls", o.frpsTls,
                 "TLS to frps: on, off (an frps without TLS), or default (frpc's own: on "
                 "since frp 0.50)")
      ->capture_default_str();
  app.add_option("--frps-ca-file", o.frpsCaFile,
                 "PEM CA certificate frps's certificate must chain to (frpc verifies frps); "
                 "empty: frps's certificate is not checked");
  app.add_option("--frps-server-name", o.frpsServerName,
                 "Name frps's certificate must carry (default: frps-addr)");
  config::addListOption(app, "--service", o.services,
                        "A local service requests may expose, NAME=HOST:PORT (repeatable), e.g. "
                        "ssh=127.0.0.1:22");
  app.add_option("--remote-ports", o.remotePorts,
                 "Remote ports requests may ask for on frps, LOW-HIGH")
      ->capture_default_str();
  durationOption("--max-request-age", o.maxRequestAge,
                 "Requests older than this are answered 408 and not acted on");
  durationOption("--max-clock-skew", o.maxClockSkew,
                 "Requests dated further ahead of the edge's clock are refused (400)");
  durationOption("--auto-stop-default", o.autoStopDefault,
                 "frp auto-stop when a start request names none");
  durationOption("--auto-stop-max", o.autoStopMax, "Longest auto-stop a request may ask for");
  durationOption("--heartbeat-interval", o.heartbeatInterval, "Heartbeat event interval");
  durationOption("--config-refresh", o.configRefresh,
                 "How often the board asks the cloud for its remote config (0: only at start and "
                 "on config_changed)");
  durationOption("--config-request-timeout", o.configRequestTimeout,
                 "How long a get_config waits for the cloud's answer before asking again");
  durationOption("--cluster-move-timeout", o.clusterMoveTimeout,
                 "How long a move to another Kafka cluster may take to read the board's topic "
                 "there before the board stays where it is");
  app.add_option("--sender", o.sender, "Sender name on the agent's messages")
      ->capture_default_str();
  app.add_option("--frpc-admin-port", o.frpcAdminPort,
                 "Port of frpc's admin API on 127.0.0.1 (webServer / admin_port)")
      ->capture_default_str();
  durationOption("--frpc-start-timeout", o.frpcStartTimeout,
                 "How long a start waits for every proxy to be running");
  durationOption("--frpc-stop-grace", o.frpcStopGrace, "SIGTERM to SIGKILL grace when stopping");
  app.add_option("--max-message-bytes", o.maxMessageBytes,
                 "Larger messages are refused (413) unread")
      ->capture_default_str();
  config::addListOption(
      app, "--trusted-keys", o.trustedKeys,
      "The cloud's Ed25519 public keys requests are signed with (repeatable, for a "
      "rotation): base64 inline, or a file holding a PEM or base64 key");
  app.add_flag("--require-signed-requests{true},!--no-require-signed-requests",
               o.requireSignedRequests,
               "Refuse (401/403) requests that act unless signed by a trusted key")
      ->default_str("true");
  config::addListOption(
      app, "--allow-unsigned", o.allowUnsigned,
      "Read-only request types answered unsigned (ping, frp_status, system_info)");
  app.add_option("--key-file", o.keyFile,
                 "This board's private Ed25519 key, made at first start (default: "
                 "<state-dir>/agent.key, 0600)");
  app.add_option("--log-level", o.logLevel, "trace, debug, info, warn, error, critical, off")
      ->capture_default_str();
  app.add_option("--log-format", o.logFormat,
                 "text, or json: one object per line (time, level, logger, edge, id, ...)")
      ->capture_default_str();
}

Validated validate(const AgentOptions& o) {
  Validated out;
  AgentConfig& c = out.config;
  c.options = o;
  auto& p = out.problems;

  if (o.edgeId.empty()) {
    p.add("edge-id", "required");
  } else if (!isValidEdgeId(o.edgeId)) {
    p.add("edge-id", "expected 1-200 characters from A-Z a-z 0-9 . _ -, got '" + o.edgeId + "'");
  }
  if (!std::all_of(o.topicPrefix.begin(), o.topicPrefix.end(), isTopicChar)) {
    p.add("topic-prefix",
          "expected characters from A-Z a-z 0-9 . _ -, got '" + o.topicPrefix + "'");
  }
  c.topic = o.topicPrefix + o.edgeId;
  if (c.topic.size() > 249) {
    p.add("topic-prefix", "topic '" + c.topic + "' is longer than Kafka's 249 characters");
  }
  checkKafka(o, out);

  if (o.stateDir.empty()) {
    p.add("state-dir", "required");
  }
  if (o.frpcFormat == "toml") {
    c.format = FrpcFormat::kToml;
  } else if (o.frpcFormat == "ini") {
    c.format = FrpcFormat::kIni;
  } else {
    p.add("frpc-format", "expected toml or ini, got '" + o.frpcFormat + "'");
  }
  c.frpcConfigPath =
      o.frpcConfig.empty() ? o.stateDir + "/frpc." + formatName(c.format) : o.frpcConfig;
  if (o.frpcPath.empty()) {
    p.add("frpc-path", "required");
  } else if (!executableExists(o.frpcPath)) {
    p.add("frpc-path", "'" + o.frpcPath + "' is not an executable file" +
                           (o.frpcPath.find('/') == std::string::npos ? " in PATH" : ""));
  }
  if (o.frpsAddr.empty()) {
    p.add("frps-addr", "required (frps host name or IP)");
  } else if (!isHostName(o.frpsAddr)) {
    p.add("frps-addr", "expected a host name or IP address, got '" + o.frpsAddr + "'");
  }
  checkRange(p, "frps-port", o.frpsPort, 1, 65535);
  checkToken(o, c.format, out);
  checkTls(o, out);
  checkServices(o, out);
  checkRemotePorts(o, out);
  checkRange(p, "max-request-age", o.maxRequestAge, 1, 31536000);
  checkRange(p, "max-clock-skew", o.maxClockSkew, 0, 86400);
  checkRange(p, "auto-stop-max", o.autoStopMax, 1, 31536000);
  checkRange(p, "auto-stop-default", o.autoStopDefault, 1, 31536000);
  if (o.autoStopDefault > o.autoStopMax) {
    p.add("auto-stop-default", "is " + std::to_string(o.autoStopDefault) +
                                   " s, more than auto-stop-max " + std::to_string(o.autoStopMax) +
                                   " s");
  }
  checkRange(p, "heartbeat-interval", o.heartbeatInterval, 1, 86400);
  checkRange(p, "config-refresh", o.configRefresh, 0, 31536000);
  checkRange(p, "config-request-timeout", o.configRequestTimeout, 1, 3600);
  checkRange(p, "cluster-move-timeout", o.clusterMoveTimeout, 5, 3600);
  if (o.kafkaCluster.size() > 64 ||
      o.kafkaCluster.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                       "0123456789._-") != std::string::npos) {
    p.add("kafka-cluster",
          "expected at most 64 characters of [A-Za-z0-9._-] (the dispatcher's "
          "kafka-cluster names)");
  }
  if (o.sender.empty() || o.sender.size() > 200) {
    p.add("sender", "expected 1-200 characters");
  }
  checkSigning(o, out);
  checkRange(p, "frpc-admin-port", o.frpcAdminPort, 1, 65535);
  checkRange(p, "frpc-start-timeout", o.frpcStartTimeout, 1, 600);
  checkRange(p, "frpc-stop-grace", o.frpcStopGrace, 0, 600);
  checkRange(p, "max-message-bytes", o.maxMessageBytes, 1024, 16 * 1024 * 1024);
  if (auto l = log::parseLevel(o.logLevel); !l) {
    p.add("log-level", l.error().message);
  }
  if (auto f = log::parseFormat(o.logFormat); !f) {
    p.add("log-format", f.error().message);
  }
  return out;
}

namespace {

using Settings = std::initializer_list<std::pair<const char*, const char*>>;

kafka::Config withSettings(kafka::Config c, Settings settings) {
  for (const auto& [key, value] : settings) {
    c.set(key, value);
  }
  return c;
}

/// Settings both clients share: small messages and buffers, no statistics.
kafka::Config clientDefaults(const std::string& edgeId) {
  kafka::Config c;
  c.set("client.id", "edge-agent." + edgeId);
  return withSettings(c, {{"message.max.bytes", "131072"},
                          {"receive.message.max.bytes", "393216"},
                          {"statistics.interval.ms", "0"},
                          {"socket.keepalive.enable", "true"},
                          {"log.connection.close", "false"}});
}

}  // namespace

kafka::Config consumerDefaults(const std::string& edgeId) {
  kafka::Config c = clientDefaults(edgeId);
  // librdkafka wants a group.id even for assign(); the group is never joined.
  c.set("group.id", "edge-agent." + edgeId);
  // The position is the agent's own; a small prefetch (librdkafka's defaults, 64 MB and 100k
  // messages, are for servers).
  return withSettings(c, {{"enable.auto.commit", "false"},
                          {"enable.auto.offset.store", "false"},
                          {"auto.offset.reset", "earliest"},
                          {"enable.partition.eof", "false"},
                          {"queued.max.messages.kbytes", "256"},
                          {"queued.min.messages", "16"},
                          {"fetch.max.bytes", "262144"},
                          {"max.partition.fetch.bytes", "131072"},
                          // Brokers send a record batch whole even when it is larger than the
                          // fetch limits; a response above this limit stalls the partition, so
                          // it is far above Kafka's default maximum batch (1 MiB). The memory is
                          // taken only when such a batch comes (and is then dropped, 413).
                          {"receive.message.max.bytes", "67108864"}});
}

kafka::Config producerDefaults(const std::string& edgeId) {
  // Answers are single messages: no batching to wait for (linger 0). Responses and events wait
  // in the queue through any outage (message.timeout.ms 0: never); they are also in the state
  // file's outbox, so an agent restart re-sends them. Idempotence: a produce retried after the
  // broker stored it but died before acknowledging (kill -9) is not stored twice.
  return withSettings(clientDefaults(edgeId), {{"enable.idempotence", "true"},
                                               {"queue.buffering.max.kbytes", "1024"},
                                               {"queue.buffering.max.messages", "1000"},
                                               {"linger.ms", "0"},
                                               {"message.timeout.ms", "0"},
                                               {"acks", "all"},
                                               {"partitioner", "murmur2_random"}});
}

}  // namespace edgelink::agent
