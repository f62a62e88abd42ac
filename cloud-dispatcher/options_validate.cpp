// Options::validate() and its parts: every problem collected, each naming its key.

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>

#include "core/logging.h"
#include "core/strings.h"
#include "core/time_format.h"
#include "envelope/types.h"
#include "options.h"
#include "security/ed25519.h"

namespace edgelink::dispatcher {
namespace {

bool isValidTopicPrefix(const std::string& prefix) {
  if (prefix.empty() || prefix.size() > 40) {
    return false;
  }
  return std::all_of(prefix.begin(), prefix.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
  });
}

}  // namespace

config::Problems Options::validate() {
  config::Problems p;
  validateKafka(p);
  validateClusters(p);
  validateRequests(p);
  validateSessions(p);
  validateIngest(p);
  validateMetrics(p);
  validateSigning(p);
  validateFrpsPlugin(p);
  validateAudit(p);
  validateWeb(p);
  return p;
}

void Options::validateSigning(config::Problems& p) {
  if (signingKeyDir.empty()) {
    p.add("signing-key-dir", "required (a directory path)");
  }
  for (const auto& entry : requestSigningKeys) {
    if (auto key = security::parsePublicKeyEntry(entry); !key) {
      p.add("request-signing-keys", key.error().message);
    }
  }
}

// The audit trail's retention: at least a day (an audit trail swept away within hours is none).
void Options::validateAudit(config::Problems& p) {
  if (auditRetentionSeconds < 86400 || auditRetentionSeconds > 100 * 365 * 86400LL) {
    p.add("audit-retention",
          "expected 1d to 36500d, got " + std::to_string(auditRetentionSeconds) + " s");
  }
}

// The metrics and health endpoints.
void Options::validateMetrics(config::Problems& p) {
  metricsAddress.reset();
  if (!metricsListen.empty()) {
    if (auto a = parseListenAddress(metricsListen)) {
      metricsAddress = *a;
    } else {
      p.addIf("metrics-listen", a.error());
    }
  }
  if (metricsIntervalSeconds < 1 || metricsIntervalSeconds > 3600) {
    p.add("metrics-interval", "expected 1s-1h");
  }
}

// The web console: where it listens, its threads (a live stream or a terminal holds one for as
// long as it is open), TLS, how long a login lasts.
void Options::validateWeb(config::Problems& p) {
  httpAddress.reset();
  if (!httpListen.empty()) {
    if (auto a = parseListenAddress(httpListen)) {
      httpAddress = *a;
    } else {
      p.addIf("http-listen", a.error());
    }
  }
  if (httpThreads < 8 || httpThreads > 1024) {
    p.add("http-threads", "expected 8-1024, got " + std::to_string(httpThreads));
  }
  if (!httpTlsCertificate.empty() && ::access(httpTlsCertificate.c_str(), R_OK) != 0) {
    p.add("http-tls-certificate", "cannot read " + httpTlsCertificate);
  }
  if (webSessionTtlSeconds < 300 || webSessionTtlSeconds > 30 * 86400) {
    p.add("web-session-ttl", "expected 5m-30d, got " + std::to_string(webSessionTtlSeconds) + " s");
  }
  if (webSshHostKeys != "accept-new" && webSshHostKeys != "strict") {
    p.add("web-ssh-host-keys", "expected accept-new or strict, got '" + webSshHostKeys + "'");
  }
  if (webSshKnownHostsFile.empty()) {
    p.add("web-ssh-known-hosts-file", "required (a file path)");
  }
  if (webTerminals < 1 || webTerminals > 256) {
    p.add("web-terminals", "expected 1-256, got " + std::to_string(webTerminals));
  }
  if (webTerminalIdleSeconds < 10 || webTerminalIdleSeconds > 86400) {
    p.add("web-terminal-idle",
          "expected 10s-1d, got " + std::to_string(webTerminalIdleSeconds) + " s");
  }
  if (!webSshKeyFile.empty()) {
    struct stat st {};
    if (::stat(webSshKeyFile.c_str(), &st) != 0) {
      p.add("web-ssh-key-file", "cannot read " + webSshKeyFile);
    } else if ((st.st_mode & 077) != 0) {
      p.add("web-ssh-key-file", webSshKeyFile + " may be read by others: chmod 600 it");
    }
  }
  if (webFrpcPath.empty()) {
    p.add("web-frpc-path", "required (frpc's path, or its name on PATH)");
  }
}

// frps's server plugin: the path is a civetweb handler pattern, so only plain characters.
void Options::validateFrpsPlugin(config::Problems& p) {
  frpsPluginAddress.reset();
  if (!frpsPluginListen.empty()) {
    if (auto a = parseListenAddress(frpsPluginListen)) {
      frpsPluginAddress = *a;
    } else {
      p.addIf("frps-plugin-listen", a.error());
    }
  }
  const bool plain = std::all_of(frpsPluginPath.begin(), frpsPluginPath.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || std::strchr("/._~-", c) != nullptr;
  });
  if (frpsPluginPath.size() < 2 || frpsPluginPath.size() > 200 || frpsPluginPath[0] != '/' ||
      !plain) {
    p.add("frps-plugin-path", "expected /PATH of 1-199 characters from [A-Za-z0-9/._~-]");
  }
}

// Brokers, librdkafka properties, topics and their provisioning.
// The deployment's clusters: this one's name and the others' NAME=BOOTSTRAP.
void Options::validateClusters(config::Problems& p) {
  clusterBootstraps = parseKafkaClusters(kafkaClusters, kafkaCluster, "kafka-clusters", p);
}

void Options::validateKafka(config::Problems& p) {
  if (kafkaBrokers.empty()) {
    p.add("kafka-brokers", "required");
  }
  if (!kafkaCluster.empty() && !isClusterName(kafkaCluster)) {
    p.add("kafka-cluster",
          "expected 1-64 characters from A-Z a-z 0-9 . _ -, got '" + kafkaCluster + "'");
  }
  kafka::Config kc = baseKafkaConfig();
  if (auto r = kc.apply(kafkaProperties, "kafka-property"); !r) {
    p.addIf("kafka-property", r.error());
  } else {
    for (const auto& problem : kc.check()) {
      p.add("kafka-property", problem);
    }
  }
  if (!isValidTopicPrefix(topicPrefix)) {
    p.add("topic-prefix",
          "expected 1-40 characters from A-Z a-z 0-9 . _ -, got '" + topicPrefix + "'");
  }
  if (!topicRegex.empty() && topicRegex[0] != '^') {
    p.add("topic-regex", "must start with '^' (librdkafka treats only such topics as regexes)");
  }
  if (consumerGroup.empty()) {
    p.add("consumer-group", "required");
  }
  if (kafkaTimeoutSeconds < 1) {
    p.add("kafka-timeout", "must be at least 1s");
  }
  if (topicPartitions < 1 || topicPartitions > 1000) {
    p.add("topic-partitions", "expected 1-1000, got " + std::to_string(topicPartitions));
  }
  if (topicReplication < 1 || topicReplication > 100) {
    p.add("topic-replication", "expected 1-100, got " + std::to_string(topicReplication));
  }
  if (topicRetentionSeconds < 60) {
    p.add("topic-retention", "must be at least 60s");
  }
  for (const auto& kv : topicConfigs) {
    if (!splitKeyValue(kv)) {
      p.add("topic-config", "expected key=value, got '" + kv + "'");
    }
  }
  if (kafkaAcls != "auto" && kafkaAcls != "on" && kafkaAcls != "off") {
    p.add("kafka-acls", "expected auto, on or off, got '" + kafkaAcls + "'");
  }
  const auto colon = edgePrincipal.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == edgePrincipal.size()) {
    p.add("edge-principal", "expected TYPE:NAME (e.g. User:{edge}), got '" + edgePrincipal + "'");
  } else if (edgePrincipal.find("{edge}") == std::string::npos) {
    p.add("edge-principal", "must contain {edge}: every board needs a principal of its own, got '" +
                                edgePrincipal + "'");
  }
}

// Deadlines (per type too), the sender, the message size limit.
void Options::validateRequests(config::Problems& p) {
  if (requestDeadlineSeconds < 1) {
    p.add("request-deadline", "must be at least 1s");
  }
  if (answerGraceSeconds < 0 || answerGraceSeconds > 3600) {
    p.add("answer-grace", "expected 0s to 1h");
  }
  deadlineByType.clear();
  for (const auto& kv : typeDeadlines) {
    auto parsed = splitKeyValue(kv);
    std::optional<int64_t> seconds;
    if (parsed) {
      seconds = parseDurationSeconds(parsed->second);
    }
    if (!parsed || !envelope::isTypeName(parsed->first)) {
      p.add("type-deadline", "expected TYPE=DURATION such as frp_start=90s, got '" + kv + "'");
    } else if (!seconds || *seconds < 1) {
      p.add("type-deadline", "bad duration in '" + kv + "': expected e.g. 30s, 2m");
    } else {
      deadlineByType[parsed->first] = *seconds;
    }
  }
  if (sender.empty() || sender.size() > 200) {
    p.add("sender", "expected 1-200 characters");
  }
  if (maxMessageBytes < 1024 || maxMessageBytes > 16 * 1024 * 1024) {
    p.add("max-message-bytes", "expected 1024 to 16777216, got " + std::to_string(maxMessageBytes));
  }
}

// The port pool, connect hints, services, auto-stop, staleness and sweeping.
void Options::validateSessions(config::Problems& p) {
  if (auto range = parsePortRange(portPool)) {
    pool = *range;
  } else {
    p.addIf("port-pool", range.error());
  }
  if (frpsHost.empty()) {
    p.add("frps-host", "required (it is printed in connect hints)");
  }
  if (frpsPort < 1 || frpsPort > 65535) {
    p.add("frps-port", "expected 1-65535, got " + std::to_string(frpsPort));
  }
  hintByService.clear();
  for (const auto& kv : connectHints) {
    auto parsed = splitKeyValue(kv);
    if (!parsed || parsed->second.find("{port}") == std::string::npos) {
      p.add("connect-hint", "expected SERVICE=TEMPLATE with {port} (and {host}), got '" + kv + "'");
    } else {
      hintByService[parsed->first] = parsed->second;
    }
  }
  if (defaultServices.empty()) {
    p.add("default-services", "name at least one service");
  }
  for (const auto& s : defaultServices) {
    if (!envelope::isTypeName(s)) {
      p.add("default-services", "bad service name '" + s + "'");
    }
  }
  if (autoStopSeconds < 1 || autoStopSeconds > 31536000) {
    p.add("auto-stop", "expected 1s to 365d");
  }
  if (edgeMaxAgeSeconds < 1) {
    p.add("edge-max-age", "must be at least 1s");
  }
  if (sweepIntervalSeconds < 1) {
    p.add("sweep-interval", "must be at least 1s");
  }
  if (sweepGraceSeconds < 0) {
    p.add("sweep-grace", "must not be negative");
  }
  if (offlineAfterSeconds < 1) {
    p.add("offline-after", "must be at least 1s");
  }
}

// Batches, consumers, writers, the log level.
void Options::validateIngest(config::Problems& p) {
  if (batchSize < 1 || batchSize > 100000) {
    p.add("batch-size", "expected 1-100000, got " + std::to_string(batchSize));
  }
  if (batchLingerMs < 0 || batchLingerMs > 60000) {
    p.add("batch-linger-ms", "expected 0-60000, got " + std::to_string(batchLingerMs));
  }
  if (consumers < 1 || consumers > 32) {
    p.add("consumers", "expected 1-32, got " + std::to_string(consumers));
  }
  if (writers < 1 || writers > 16) {
    p.add("writers", "expected 1-16, got " + std::to_string(writers));
  }
  if (auto r = log::parseLevel(logLevel); !r) {
    p.addIf("log-level", r.error());
  }
  if (auto r = log::parseFormat(logFormat); !r) {
    p.addIf("log-format", r.error());
  }
}

}  // namespace edgelink::dispatcher
