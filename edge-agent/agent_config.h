#pragma once

// The agent's configuration: a plain struct of options filled by CLI11 (every option is a flag
// and a key of the --config file), then validated into an AgentConfig with every problem
// reported at once. No Kafka and no processes are touched here.

#include <CLI/CLI.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/cli_config.h"
#include "frpc_format.h"
#include "kafka/config.h"
#include "security/signature.h"

namespace edgelink::agent {

/// The options exactly as given (flags and config file keys share these names).
struct AgentOptions {
  std::string edgeId;
  std::string kafkaBrokers;
  std::string kafkaCluster;  ///< the cluster's name, for people (logs); empty: unnamed
  std::string topicPrefix = "edge.";
  std::vector<std::string> kafkaProperties;  ///< librdkafka "key=value", applied last
  std::string stateDir = "/var/lib/edge-agent";
  std::string frpcPath = "frpc";
  std::string frpcConfig;  ///< empty: <state-dir>/frpc.toml or frpc.ini
  std::string frpcFormat = "toml";
  bool frpcVerify = false;
  std::string frpsAddr;
  int64_t frpsPort = 7000;
  std::string frpsTokenFile;
  std::string frpsTls = "on";
  std::string frpsCaFile;      ///< CA that frps's certificate must chain to (empty: unchecked)
  std::string frpsServerName;  ///< name frps's certificate must carry (empty: frps-addr)
  std::vector<std::string> services;  ///< "name=host:port"
  std::string remotePorts = "1024-65535";
  int64_t maxRequestAge = 600;
  int64_t maxClockSkew = 60;
  int64_t autoStopDefault = 7200;
  int64_t autoStopMax = 86400;
  int64_t heartbeatInterval = 60;
  int64_t configRefresh = 3600;       ///< seconds between get_config requests (0: start only)
  int64_t configRequestTimeout = 10;  ///< seconds a get_config waits for its answer
  int64_t clusterMoveTimeout = 120;   ///< seconds a move to another Kafka cluster may take
  std::string sender = "edge_board";
  int64_t frpcAdminPort = 7400;
  int64_t frpcStartTimeout = 15;
  int64_t frpcStopGrace = 5;
  int64_t maxMessageBytes = 65536;
  std::string logLevel = "info";
  std::string logFormat = "text";  ///< text or json (one object per line)
  /// The cloud's public keys requests are signed with: each inline base64 (44 characters) or a
  /// file holding a PEM or base64 key. Several during a rotation.
  std::vector<std::string> trustedKeys;
  bool requireSignedRequests = true;
  std::vector<std::string> allowUnsigned;  ///< read-only request types accepted unsigned
  std::string keyFile;                     ///< empty: <state-dir>/agent.key
};

/// A local service a request may expose, by name.
struct ServiceSpec {
  std::string name;
  std::string localIp;
  uint16_t localPort = 0;
};

/// The validated configuration the agent runs with.
struct AgentConfig {
  AgentOptions options;
  std::string topic;  ///< topic-prefix + edge-id
  FrpcFormat format = FrpcFormat::kToml;
  std::string frpcConfigPath;
  std::string frpsToken;        ///< secret: never logged
  std::optional<bool> frpsTls;  ///< transport.tls.enable / tls_enable; nullopt: frpc's default
  std::vector<ServiceSpec> services;
  uint16_t remotePortMin = 1024;
  uint16_t remotePortMax = 65535;
  kafka::Config consumerConfig;
  kafka::Config producerConfig;
  security::KeyRing trustedKeys;  ///< trusted-keys, loaded
  std::string keyFilePath;        ///< the board's private key (key-file or its default)

  const ServiceSpec* findService(const std::string& name) const;
  std::string statePath() const { return options.stateDir + "/state.json"; }
};

/// The outcome of validation: the config (meaningful only without problems), every problem
/// (each naming its key) and warnings that do not stop the agent.
struct Validated {
  AgentConfig config;
  config::Problems problems;
  std::vector<std::string> warnings;
};

/// Registers every option on `app` (as flags, and as keys of the --config file).
void addOptions(CLI::App& app, AgentOptions& options);

/// Checks everything that can be checked without Kafka or processes: formats, ranges, the
/// token file (read here; a warning when group/world readable), that the frpc binary exists.
Validated validate(const AgentOptions& options);

/// librdkafka settings for a small board, under the user's properties. Exposed for the
/// benchmark's baseline (same consumer settings).
kafka::Config consumerDefaults(const std::string& edgeId);
kafka::Config producerDefaults(const std::string& edgeId);

/// The board's key file for `options` (key-file, or <state-dir>/agent.key).
std::string keyFilePath(const AgentOptions& options);

/// True for the request types that only read (ping, frp_status, system_info): the only ones
/// `allow-unsigned` may name. Every other type, unknown future ones included, acts.
bool isReadOnlyRequestType(std::string_view type);

/// True when `id` matches [A-Za-z0-9._-]{1,200}.
bool isValidEdgeId(const std::string& id);
/// True when `name` matches ^[a-z][a-z0-9_]*$ and is at most 32 characters.
bool isValidServiceName(const std::string& name);

}  // namespace edgelink::agent
