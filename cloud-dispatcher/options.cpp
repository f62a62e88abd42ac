#include "options.h"

#include <algorithm>
#include <cctype>
#include <cstring>

#include "core/logging.h"
#include "core/strings.h"
#include "core/time_format.h"
#include "envelope/types.h"

namespace edgelink::dispatcher {
namespace {

std::string regexEscape(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (std::string_view(".^$|()[]{}*+?\\").find(c) != std::string_view::npos) {
      out += '\\';
    }
    out += c;
  }
  return out;
}

}  // namespace

bool isValidEdgeId(const std::string& id) {
  if (id.empty() || id.size() > 200) {
    return false;
  }
  return std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
  });
}

Result<PortRange> parsePortRange(const std::string& text) {
  auto parts = split(text, '-');
  if (parts.empty() || parts.size() > 2) {
    return Error(Status::kBadRequest,
                 "expected FIRST-LAST such as 31000-31999, got '" + text + "'");
  }
  auto first = parseInt64(trim(parts[0]));
  auto last = parts.size() == 2 ? parseInt64(trim(parts[1])) : first;
  if (!first || !last) {
    return Error(Status::kBadRequest,
                 "expected FIRST-LAST such as 31000-31999, got '" + text + "'");
  }
  if (*first < 1 || *first > 65535 || *last < 1 || *last > 65535) {
    return Error(Status::kBadRequest, "ports must be 1-65535, got '" + text + "'");
  }
  if (*first > *last) {
    return Error(Status::kBadRequest, "the first port is above the last in '" + text + "'");
  }
  return PortRange{static_cast<uint16_t>(*first), static_cast<uint16_t>(*last)};
}

std::string Options::principalFor(const std::string& edgeId) const {
  std::string out = edgePrincipal;
  for (auto at = out.find("{edge}"); at != std::string::npos; at = out.find("{edge}", at)) {
    out.replace(at, 6, edgeId);
    at += edgeId.size();
  }
  return out;
}

void Options::addTo(CLI::App& app) {
  auto dur = config::durationSeconds();
  // Kafka.
  app.add_option("--kafka-brokers", kafkaBrokers, "Kafka bootstrap servers (host:port,...)")
      ->capture_default_str();
  app.add_option("--kafka-cluster", kafkaCluster,
                 "Name of the Kafka cluster kafka-brokers points at (one dispatcher per cluster;"
                 " default: unnamed)");
  config::addListOption(app, "--kafka-property", kafkaProperties,
                        "Extra librdkafka property key=value (repeatable; TLS, SASL, tuning)");
  config::addListOption(
      app, "--kafka-clusters", kafkaClusters,
      "The deployment's other Kafka clusters, NAME=BOOTSTRAP (repeatable; the same "
      "kafka-property settings for all): the CLI publishes to an edge on the cluster it "
      "was last heard on, and `edges move` moves edges between them");
  app.add_option("--topic-prefix", topicPrefix, "Edge topic prefix: topic = prefix + edge id")
      ->capture_default_str();
  app.add_option("--topic-regex", topicRegex,
                 "Subscription regex (default: ^ + the escaped prefix + .+, i.e. ^edge\\..+)");
  app.add_option("--consumer-group", consumerGroup,
                 "Kafka consumer group shared by every dispatcher")
      ->capture_default_str();
  config::durationDefault(
      app.add_option("--kafka-timeout", kafkaTimeoutSeconds,
                     "How long CLI commands wait for Kafka (produce, admin, metadata)")
          ->transform(dur),
      kafkaTimeoutSeconds);
  app.add_option("--topic-partitions", topicPartitions, "edges add: partitions per edge topic")
      ->capture_default_str();
  app.add_option("--topic-replication", topicReplication, "edges add: replication factor")
      ->capture_default_str();
  config::durationDefault(
      app.add_option(
             "--topic-retention", topicRetentionSeconds,
             "edges add: how long the broker keeps an edge topic's messages (a duration, sent to "
             "Kafka as the topic's retention.ms in milliseconds)")
          ->transform(dur),
      topicRetentionSeconds);
  config::addListOption(app, "--topic-config", topicConfigs,
                        "edges add: extra topic config key=value (repeatable)");
  app.add_option("--kafka-acls", kafkaAcls,
                 "edges add/remove: grant and revoke each board's ACLs on its topic (auto: when "
                 "the cluster has an authorizer; on: always, failing without one; off: never)")
      ->capture_default_str();
  app.add_option("--edge-principal", edgePrincipal,
                 "edges add: the board's Kafka principal, {edge} replaced by the edge id")
      ->capture_default_str();
  // PostgreSQL.
  app.add_option("--pg-conninfo", pgConninfo,
                 "PostgreSQL connection (libpq conninfo or URI); unset: PGHOST, PGPORT, ...");
  // Requests.
  config::durationDefault(
      app.add_option("--request-deadline", requestDeadlineSeconds,
                     "How long an edge has to act on a request this dispatcher publishes (its "
                     "expires_at; unanswered, it is 'timeout' --answer-grace later). Requests "
                     "without expires_at: 'timeout' this long after they were sent")
          ->transform(dur),
      requestDeadlineSeconds);
  config::durationDefault(
      app.add_option("--answer-grace", answerGraceSeconds,
                     "How long past a request's expires_at an edge that began acting in time may "
                     "still answer: the request is 'timeout' only after it")
          ->transform(dur),
      answerGraceSeconds);
  config::addListOption(app, "--type-deadline", typeDeadlines,
                        "Per-type deadline TYPE=DURATION (repeatable), e.g. frp_start=90s");
  app.add_option("--sender", sender, "Sender name on requests this dispatcher publishes")
      ->capture_default_str();
  app.add_option("--max-message-bytes", maxMessageBytes,
                 "Larger messages are rejected (recorded in rejected_messages)")
      ->capture_default_str();
  // Sessions.
  app.add_option("--port-pool", portPool, "Remote ports handed to sessions, FIRST-LAST")
      ->capture_default_str();
  app.add_option("--frps-host", frpsHost, "Public frps host, for connect hints")
      ->capture_default_str();
  app.add_option("--frps-port", frpsPort,
                 "frps's bind port (frpc logs in there), for stcp visitor configs")
      ->capture_default_str();
  config::addListOption(app, "--connect-hint", connectHints,
                        "SERVICE=TEMPLATE with {host} and {port} (repeatable), e.g. "
                        "\"ssh=ssh -p {port} admin@{host}\"");
  config::addListOption(app, "--default-services", defaultServices,
                        "Services a session exposes when --services is not given")
      ->delimiter(',');
  config::durationDefault(app.add_option("--auto-stop", autoStopSeconds,
                                         "Default session length (auto_stop_service_in)")
                              ->transform(dur),
                          autoStopSeconds);
  config::durationDefault(
      app.add_option(
             "--edge-max-age", edgeMaxAgeSeconds,
             "The agents' max request age: an unanswered session's ports are freed after it")
          ->transform(dur),
      edgeMaxAgeSeconds);
  config::durationDefault(
      app.add_option("--sweep-interval", sweepIntervalSeconds,
                     "How often the daemon marks timeouts and ends expired and unanswered sessions")
          ->transform(dur),
      sweepIntervalSeconds);
  config::durationDefault(
      app.add_option("--sweep-grace", sweepGraceSeconds,
                     "How long past expires_at a session may stay open waiting for its frp_stopped")
          ->transform(dur),
      sweepGraceSeconds);
  // Edges.
  config::durationDefault(app.add_option("--offline-after", offlineAfterSeconds,
                                         "An edge with no heartbeat for this long is offline")
                              ->transform(dur),
                          offlineAfterSeconds);
  config::durationDefault(
      app.add_option("--audit-retention", auditRetentionSeconds,
                     "How long the audit trail of sessions (who opened, extended and closed "
                     "them) is kept; the sweep deletes older rows (at least 1d)")
          ->transform(dur),
      auditRetentionSeconds);
  // Ingest.
  app.add_option("--batch-size", batchSize, "Most messages stored per transaction")
      ->capture_default_str();
  app.add_option(
         "--batch-linger-ms", batchLingerMs,
         "How long a poll waits when no message is queued (what is queued is stored at once)")
      ->capture_default_str();
  app.add_option("--consumers", consumers,
                 "Kafka consumers in this process (the group splits the partitions among them)")
      ->capture_default_str();
  app.add_option(
         "--writers", writers,
         "PostgreSQL connections storing batches at once (a partition always uses the same)")
      ->capture_default_str();
  // Metrics and health endpoints.
  app.add_option("--metrics-listen", metricsListen,
                 "ADDRESS:PORT serving /metrics, /healthz and /readyz over HTTP (unset: off)");
  config::durationDefault(
      app.add_option("--metrics-interval", metricsIntervalSeconds,
                     "How often the daemon refreshes the gauges read from the database")
          ->transform(dur),
      metricsIntervalSeconds);
  // Signing.
  app.add_option("--signing-key-dir", signingKeyDir,
                 "Directory of this dispatcher's Ed25519 signing keys (`keys`; 0700, keys 0600)")
      ->capture_default_str();
  app.add_option("--sign-requests", signRequests,
                 "Sign every request with the active key of --signing-key-dir (no key: the "
                 "request is refused)")
      ->default_str(signRequests ? "true" : "false");
  app.add_option("--require-signed-answers", requireSignedAnswers,
                 "Refuse unsigned responses and events from edges without a registered key too "
                 "(an edge with a key always needs a valid signature)")
      ->default_str(requireSignedAnswers ? "true" : "false");
  config::addListOption(
      app, "--request-signing-keys", requestSigningKeys,
      "Public keys web backends sign their requests with (base64 inline, or a file "
      "holding a PEM or base64 key; repeatable): trusted in the audit trail");
  app.add_option("--frps-plugin-listen", frpsPluginListen,
                 "ADDRESS:PORT answering frps's server plugin requests (Login, NewProxy; unset: "
                 "off)");
  app.add_option("--frps-plugin-path", frpsPluginPath,
                 "The plugin's HTTP path, frps's httpPlugins path (may hold a shared secret)")
      ->capture_default_str();
  // The web console.
  app.add_option("--http-listen", httpListen,
                 "ADDRESS:PORT serving the web console and its API /api/v1 (`web`, and `run` "
                 "when set; unset: off)");
  app.add_option("--http-threads", httpThreads,
                 "The console's worker threads: each request, live stream and terminal holds one")
      ->capture_default_str();
  app.add_option("--http-tls-certificate", httpTlsCertificate,
                 "PEM file with the console's TLS certificate and key (unset: plain HTTP, for "
                 "localhost or behind a TLS proxy: the session cookie is Secure)");
  config::durationDefault(
      app.add_option("--web-session-ttl", webSessionTtlSeconds, "How long a console login lasts")
          ->transform(dur),
      webSessionTtlSeconds);
  app.add_option("--web-ssh-key-file", webSshKeyFile,
                 "Web ssh: private key (0600) the dispatcher logs in to boards with when the "
                 "operator gives no password (unset: a password is needed)");
  app.add_option("--web-ssh-known-hosts-file", webSshKnownHostsFile,
                 "Web ssh: the boards' pinned host keys, one per edge (created 0600)")
      ->capture_default_str();
  app.add_option("--web-ssh-host-keys", webSshHostKeys,
                 "Web ssh: accept-new (pin an edge's key at first use, refuse a changed one) or "
                 "strict (only keys already in the file)")
      ->capture_default_str();
  app.add_option("--web-terminals", webTerminals, "Web ssh: live terminals at once (1-256)")
      ->capture_default_str();
  config::durationDefault(
      app.add_option("--web-terminal-idle", webTerminalIdleSeconds,
                     "Web ssh: a terminal with no keystroke and no output this long is closed")
          ->transform(dur),
      webTerminalIdleSeconds);
  app.add_option("--web-frpc-path", webFrpcPath,
                 "Web ssh to stcp sessions: the frpc the dispatcher runs as their visitor")
      ->capture_default_str();
  app.add_option("--web-visitor-token-file", webVisitorTokenFile,
                 "Web ssh to stcp sessions: file holding frps's token for that visitor");
  app.add_option("--web-visitor-ca-file", webVisitorCaFile,
                 "Web ssh to stcp sessions: CA that visitor verifies frps against (unset: not "
                 "verified)");
  app.add_option("--log-level", logLevel, "trace, debug, info, warn, error, critical, off")
      ->capture_default_str();
  app.add_option("--log-format", logFormat,
                 "text, or json: one object per line (time, level, logger, id, edge, ...)")
      ->capture_default_str();
}

std::string Options::effectiveTopicRegex() const {
  return topicRegex.empty() ? "^" + regexEscape(topicPrefix) + ".+" : topicRegex;
}

int64_t Options::deadlineFor(const std::string& type) const {
  auto it = deadlineByType.find(type);
  return it == deadlineByType.end() ? requestDeadlineSeconds : it->second;
}

std::optional<std::string> Options::edgeFromTopic(const std::string& topic) const {
  if (topic.size() <= topicPrefix.size() ||
      topic.compare(0, topicPrefix.size(), topicPrefix) != 0) {
    return std::nullopt;
  }
  std::string id = topic.substr(topicPrefix.size());
  if (!isValidEdgeId(id)) {
    return std::nullopt;
  }
  return id;
}

std::string Options::connectHint(const std::string& service, int port,
                                 const std::string& host) const {
  std::string tmpl;
  if (auto it = hintByService.find(service); it != hintByService.end()) {
    tmpl = it->second;
  } else if (service == "ssh") {
    tmpl = "ssh -p {port} root@{host}";
  } else {
    tmpl = "http://{host}:{port}/";
  }
  std::string out;
  for (size_t i = 0; i < tmpl.size();) {
    if (tmpl.compare(i, 6, "{host}") == 0) {
      out += host.empty() ? frpsHost : host;
      i += 6;
    } else if (tmpl.compare(i, 6, "{port}") == 0) {
      out += std::to_string(port);
      i += 6;
    } else {
      out += tmpl[i++];
    }
  }
  return out;
}

kafka::Config Options::baseKafkaConfig() const {
  kafka::Config c;
  c.set("bootstrap.servers", kafkaBrokers);
  c.set("client.id", "cloud-dispatcher");
  return c;
}

kafka::Config Options::consumerConfig() const {
  kafka::Config c = baseKafkaConfig();
  c.set("group.id", consumerGroup);
  // Offsets are committed by hand, only after PostgreSQL committed the batch.
  c.set("enable.auto.commit", "false");
  c.set("enable.auto.offset.store", "false");
  // A new group (or a new edge topic) is read from its start: nothing published is missed.
  c.set("auto.offset.reset", "earliest");
  // One partition per topic: the range assignor would give every topic to one member.
  c.set("partition.assignment.strategy", "roundrobin");
  // New edge topics are picked up by the regex at the next metadata refresh.
  c.set("topic.metadata.refresh.interval.ms", "60000");
  c.set("enable.partition.eof", "false");
  // A broker sends a record batch whole even when it is larger than the fetch limits, and a
  // response above receive.message.max.bytes makes librdkafka reconnect and ask for the same
  // batch forever, stalling every partition on that broker. librdkafka's maximum (a Kafka
  // response size is an int32) means any batch a broker holds is read, then rejected as too
  // large (rejected_messages, 413) if it is.
  c.set("receive.message.max.bytes", "2147483647");
  // What a dispatcher that falls behind (PostgreSQL slow, a backlog after an outage) holds in
  // memory: the consumer thread waits for the writers (one batch queued per lane), so the rest
  // is librdkafka's pre-fetch, bounded by these two. Draining 1,000,000 messages (bench_soak
  // --backlog) peaked at 244 MB RSS with librdkafka's defaults (64 MiB queued plus a 50 MiB
  // fetch), 148 MB with 16 MiB each, 81 MB with 4 MiB each (a 50,000 backlog: 61-66 MB), at the
  // same drain rate: 4 MiB queued still holds over ten thousand messages, more than a batch. A
  // fetch stays at 16 MiB, the largest max-message-bytes, so no message needs a broker's
  // one-batch-beyond-the-limit rule to be read.
  c.set("queued.max.messages.kbytes", std::to_string(kPrefetchKbytes));
  c.set("fetch.max.bytes", std::to_string(kFetchMaxBytes));
  (void)c.apply(kafkaProperties, "kafka-property");  // validated by validate()
  return c;
}

kafka::Config Options::producerConfig() const {
  kafka::Config c = baseKafkaConfig();
  c.set("partitioner", "murmur2_random");
  c.set("linger.ms", "0");
  c.set("message.timeout.ms", std::to_string(kafkaTimeoutSeconds * 1000));
  std::vector<std::string> producerProps;
  for (const auto& kv : kafkaProperties) {
    // Consumer-only properties would only make librdkafka warn on the producer.
    auto parsed = splitKeyValue(kv);
    static const char* kConsumerOnly[] = {"group.id",
                                          "fetch.wait.max.ms",
                                          "session.timeout.ms",
                                          "heartbeat.interval.ms",
                                          "max.poll.interval.ms",
                                          "auto.offset.reset",
                                          "enable.auto.commit",
                                          "enable.auto.offset.store",
                                          "partition.assignment.strategy",
                                          "fetch.min.bytes",
                                          "fetch.max.bytes",
                                          "queued.max.messages.kbytes",
                                          "queued.min.messages",
                                          "enable.partition.eof",
                                          "group.instance.id",
                                          "coordinator.query.interval.ms",
                                          "fetch.error.backoff.ms"};
    bool consumerOnly = parsed && std::any_of(std::begin(kConsumerOnly), std::end(kConsumerOnly),
                                              [&](const char* k) { return parsed->first == k; });
    if (!consumerOnly) {
      producerProps.push_back(kv);
    }
  }
  (void)c.apply(producerProps, "kafka-property");
  return c;
}

kafka::Config Options::producerConfigFor(const ClusterRoute& route) const {
  kafka::Config c = producerConfig();
  if (!route.own) {
    c.set("bootstrap.servers", route.bootstrap);
  }
  return c;
}

std::map<std::string, std::string> Options::topicConfigMap() const {
  std::map<std::string, std::string> out;
  out["retention.ms"] = std::to_string(topicRetentionSeconds * 1000);
  // The broker refuses larger messages at produce time (the agents never depend on it).
  out["max.message.bytes"] = std::to_string(topicMaxMessageBytes());
  // The broker stamps each record when it appends it: the agents judge requests' age against
  // broker time, not against a board clock that may be off after a boot without RTC
  // (docs/RELIABILITY.md). topic-config may still say CreateTime.
  out["message.timestamp.type"] = "LogAppendTime";
  for (const auto& kv : topicConfigs) {
    if (auto parsed = splitKeyValue(kv)) {
      out[parsed->first] = parsed->second;
    }
  }
  return out;
}

}  // namespace edgelink::dispatcher
