#pragma once

// The dispatcher's configuration: one plain struct filled by CLI11 from flags and the --config
// file (keys are the flags' long names), then checked by validate(), which reports every problem.

#include <CLI/CLI.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "clusters.h"
#include "config/cli_config.h"
#include "core/listen_address.h"
#include "core/result.h"
#include "kafka/config.h"

namespace edgelink::dispatcher {

/// An inclusive range of TCP ports handed out to frp sessions.
struct PortRange {
  uint16_t first = 0;
  uint16_t last = 0;
  int size() const { return last >= first ? last - first + 1 : 0; }
  bool contains(int port) const { return port >= first && port <= last; }
};

/// Parses "31000-31999" (or a single port). Error names what is wrong.
Result<PortRange> parsePortRange(const std::string& text);

struct Options {
  // Kafka
  std::string kafkaBrokers = "127.0.0.1:9092";
  /// The name of the Kafka cluster kafka-brokers points at ("": unnamed, one cluster). Stored
  /// with what this dispatcher ingests (events, rejected messages, edges.kafka_cluster).
  std::string kafkaCluster;
  std::vector<std::string> kafkaProperties;  ///< librdkafka key=value, applied last
  std::string topicPrefix = "edge.";
  std::string topicRegex;  ///< empty: "^" + escaped prefix + ".+"
  std::string consumerGroup = "cloud-dispatcher";
  int64_t kafkaTimeoutSeconds = 10;  ///< CLI: produce/admin/metadata waits
  /// The deployment's other clusters, NAME=BOOTSTRAP (the same client settings for all).
  std::vector<std::string> kafkaClusters;
  // Provisioning (edges add)
  int topicPartitions = 1;
  int topicReplication = 3;
  int64_t topicRetentionSeconds = 7 * 24 * 3600;
  std::vector<std::string> topicConfigs;      ///< extra topic configs key=value
  std::string kafkaAcls = "auto";             ///< edges add/remove ACLs: auto, on or off
  std::string edgePrincipal = "User:{edge}";  ///< the board's Kafka principal; {edge}: its id
  // PostgreSQL
  std::string pgConninfo;  ///< libpq conninfo or URI; empty: PGHOST/PGPORT/... (libpq defaults)
  // Requests
  int64_t requestDeadlineSeconds = 30;
  int64_t answerGraceSeconds = 15;         ///< after a request's expires_at, before 'timeout'
  std::vector<std::string> typeDeadlines;  ///< "type=duration"
  std::string sender = "cloud_dispatcher";
  size_t maxMessageBytes = 64 * 1024;
  // Sessions
  std::string portPool = "31000-31999";
  std::string frpsHost = "frps.example.com";
  int64_t frpsPort = 7000;                ///< frps's bind port, in stcp visitor configs
  std::vector<std::string> connectHints;  ///< "service=template" with {host} {port}
  std::vector<std::string> defaultServices = {"ssh", "fcc_web", "camera_admin"};
  int64_t autoStopSeconds = 7200;
  int64_t edgeMaxAgeSeconds = 600;
  int64_t sweepIntervalSeconds = 10;
  int64_t sweepGraceSeconds = 60;
  // Edges
  int64_t offlineAfterSeconds = 180;
  // Audit trail (session_audit): rows older than this are deleted by the daemon's sweep.
  int64_t auditRetentionSeconds = 400 * 86400;
  // Ingest
  int batchSize = 5000;
  int batchLingerMs = 100;
  int writers = 2;
  int consumers = 1;
  // Metrics and health endpoints
  std::string metricsListen;            ///< empty: off
  int64_t metricsIntervalSeconds = 15;  ///< how often the database gauges are refreshed
  // Signing (docs/SECURITY.md)
  std::string signingKeyDir = "/etc/cloud-dispatcher/keys";  ///< `keys`: <keyid>.key + active
  bool signRequests = true;           ///< sign every request with the active key
  bool requireSignedAnswers = false;  ///< edges without a registered key are refused too
  /// Web backends' public keys (base64 inline or a file): their signed requests are audited
  /// with their key id, as the keys of signing-key-dir are.
  std::vector<std::string> requestSigningKeys;
  // frps's server plugin (Login, NewProxy)
  std::string frpsPluginListen;                 ///< empty: off
  std::string frpsPluginPath = "/frps-plugin";  ///< may carry a shared secret
  // The web console (docs/WEB.md)
  std::string httpListen;          ///< empty: off
  int64_t httpThreads = 64;        ///< civetweb workers: each request, stream, terminal
  std::string httpTlsCertificate;  ///< PEM (certificate and key); empty: plain HTTP
  int64_t webSessionTtlSeconds = 12 * 3600;
  // Web ssh (the console's terminal, through a session's tunnel)
  std::string webSshKeyFile;  ///< private key (0600) used when the operator gives no password
  std::string webSshKnownHostsFile = "/var/lib/cloud-dispatcher/web-ssh-known-hosts";
  std::string webSshHostKeys = "accept-new";  ///< accept-new or strict
  int64_t webTerminals = 16;                  ///< live terminals at once
  int64_t webTerminalIdleSeconds = 900;
  std::string webFrpcPath = "frpc";  ///< stcp sessions: the dispatcher's own frpc visitor
  std::string webVisitorTokenFile;   ///< stcp: frps's token for that visitor (a file)
  std::string webVisitorCaFile;      ///< stcp: CA to verify frps against (empty: not verified)
  // Misc
  std::string logLevel = "info";
  std::string logFormat = "text";  ///< text or json (one object per line)

  // Filled by validate().
  PortRange pool;
  std::optional<ListenAddress> metricsAddress;     ///< from metrics-listen; nullopt: off
  std::optional<ListenAddress> frpsPluginAddress;  ///< from frps-plugin-listen; nullopt: off
  std::optional<ListenAddress> httpAddress;        ///< from http-listen; nullopt: off
  std::map<std::string, int64_t> deadlineByType;
  std::map<std::string, std::string> hintByService;
  std::map<std::string, std::string> clusterBootstraps;  ///< kafka-clusters by name

  /// Registers every option on `app` (flags and config keys).
  void addTo(CLI::App& app);
  /// Checks everything and fills the derived fields; every problem is reported, each naming its
  /// key.
  config::Problems validate();

  /// The regex the daemon subscribes with.
  std::string effectiveTopicRegex() const;
  /// Deadline in seconds for a request type (per-type or the default).
  int64_t deadlineFor(const std::string& type) const;
  /// Edge id from a topic name (prefix stripped); nullopt when the topic is not an edge topic.
  std::optional<std::string> edgeFromTopic(const std::string& topic) const;
  std::string topicFor(const std::string& edgeId) const { return topicPrefix + edgeId; }
  /// The board's Kafka principal: edge-principal with {edge} replaced by its id.
  std::string principalFor(const std::string& edgeId) const;
  /// "ssh -p 31022 root@frps.example.com" or "http://frps.example.com:31023/" (`host` in place
  /// of frps-host when given: an stcp visitor's 127.0.0.1).
  std::string connectHint(const std::string& service, int port,
                          const std::string& host = std::string()) const;

  /// The consumer's pre-fetch bound (queued.max.messages.kbytes, fetch.max.bytes): with the
  /// writers' one batch per lane it bounds a backlog's memory (a kafka-property overrides it).
  static constexpr int kPrefetchKbytes = 4096;
  static constexpr int kFetchMaxBytes = 16 * 1024 * 1024;  ///< the largest max-message-bytes
  /// librdkafka settings: the dispatcher's defaults under the user's properties.
  kafka::Config consumerConfig() const;
  kafka::Config producerConfig() const;
  kafka::Config baseKafkaConfig() const;
  /// producerConfig() with bootstrap.servers = `bootstrap` (another cluster of kafka-clusters).
  kafka::Config producerConfigFor(const ClusterRoute& route) const;
  /// This dispatcher's clusters: its own and kafka-clusters (after validate()).
  ClusterMap clusters() const { return ClusterMap(kafkaCluster, kafkaBrokers, clusterBootstraps); }
  /// Topic configs for `edges add`: retention.ms, max.message.bytes, then topic-config entries.
  std::map<std::string, std::string> topicConfigMap() const;
  /// The edge topics' max.message.bytes: max-message-bytes plus room for the record batch
  /// header, key and headers (a signature), so what agents accept is what the broker accepts.
  int64_t topicMaxMessageBytes() const { return static_cast<int64_t>(maxMessageBytes) + 4096; }

 private:
  // validate()'s parts.
  void validateKafka(config::Problems& p);
  void validateClusters(config::Problems& p);
  void validateRequests(config::Problems& p);
  void validateSessions(config::Problems& p);
  void validateIngest(config::Problems& p);
  void validateMetrics(config::Problems& p);
  void validateSigning(config::Problems& p);
  void validateFrpsPlugin(config::Problems& p);
  void validateAudit(config::Problems& p);
  void validateWeb(config::Problems& p);
};

/// True for ids matching [A-Za-z0-9._-]{1,200}.
bool isValidEdgeId(const std::string& id);

}  // namespace edgelink::dispatcher
