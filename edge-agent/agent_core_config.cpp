// AgentCore and the remote configuration (docs/AGENT.md "Remote configuration"): get_config asked
// at start, every config-refresh and on config_changed (decisions/config_fetch.h); its answer
// checked over the board's own options (decisions/remote_config.h) and applied without dropping
// a running session, or refused with the old config kept.
#include <algorithm>

#include "agent_core.h"
#include "agent_log.h"
#include "jsonschema/json_util.h"

namespace edgelink::agent {

namespace {

constexpr const char* kGetConfig = "get_config";
constexpr const char* kConfigChanged = "config_changed";
constexpr const char* kConfigApplied = "config_applied";
constexpr const char* kConfigRefused = "config_refused";

/// "'name' (brokers)" or "(brokers)", for log lines and reasons.
std::string describeCluster(const AgentOptions& o) {
  return (o.kafkaCluster.empty() ? "" : "'" + o.kafkaCluster + "' ") + "(" + o.kafkaBrokers + ")";
}

}  // namespace

void AgentCore::setRemoteConfig(AgentOptions own, std::optional<RemoteConfig> applied) {
  ownOptions_ = std::move(own);
  applied_ = std::move(applied);
}

void AgentCore::askConfig(const ConfigFetch::Ask& ask) {
  auto request = envelope::Envelope::request(envelope::Id::text(ask.id), policy_.sender, wallNow(),
                                             kGetConfig);
  request.recipient = envelope::kRecipientCloud;
  request.set("applied_version", configVersion());
  queue("request \"" + ask.id + "\" (get_config)", envelope::encode(request));
  agentLogger()->info("request id={} type=get_config edge={} applied_version={} try={}", ask.id,
                      config_.options.edgeId, configVersion(), ask.attempt);
}

void AgentCore::onOther(const envelope::Envelope& message) {
  if (message.kind == envelope::Kind::kEvent && message.type == kConfigChanged) {
    agentLogger()->info("event config_changed id={} from={}: asking for the config at once",
                        message.id.str(), message.sender);
    askConfig(fetch_.askNow(monoNow(), wallNow()));
    return;
  }
  if (message.kind != envelope::Kind::kResponse || !fetch_.answered(message.id.str(), monoNow())) {
    return;  // not an answer awaited: another's, a late one, a duplicate
  }
  onConfigAnswer(message);
}

void AgentCore::onConfigAnswer(const envelope::Envelope& response) {
  if (move_) {
    agentLogger()->info(
        "get_config id={}: a move to Kafka cluster {} is under way; the config "
        "is asked again once it is done",
        response.id.str(), describeCluster(move_->config.options));
    return;
  }
  if (!response.isSuccess()) {
    const char* error = json::getString(response.body(), "error");
    agentLogger()->warn("request id={} type=get_config outcome={}: {}; keeping the config",
                        response.id.str(), response.statusCode, error ? error : "no config");
    return;
  }
  auto remote = parseRemoteConfigBody(json::stringify(response.body()), wallNow());
  if (!remote) {
    refuseConfig(-1, remote.error().message);
    return;
  }
  if (remote->version == configVersion() && (applied_ || remote->values.empty())) {
    agentLogger()->debug("get_config id={}: version {} is the one applied", response.id.str(),
                         remote->version);
    return;
  }
  auto checked = checkRemoteConfig(ownOptions_, *remote);
  if (!checked) {
    refuseConfig(remote->version, checked.error().message);
    return;
  }
  if (checked->options.kafkaBrokers != config_.options.kafkaBrokers) {
    beginMove(std::move(*remote), std::move(*checked));
    return;
  }
  applyConfig(std::move(*remote), std::move(*checked));
}

void AgentCore::beginMove(RemoteConfig remote, AgentConfig config) {
  agentLogger()->info(
      "remote config version {} moves this board from Kafka cluster {} to {}: connecting; "
      "the switch happens once topic {} is read there (within {} s), else the board stays",
      remote.version, describeCluster(config_.options), describeCluster(config.options),
      config_.topic, ownOptions_.clusterMoveTimeout);
  out_.emplace_back(action::MoveCluster{config, ownOptions_.clusterMoveTimeout * 1000});
  move_ = PendingMove{std::move(remote), std::move(config)};
}

Actions AgentCore::onClusterMove(const VoidResult& moved) {
  if (!move_) {
    return take();
  }
  PendingMove move = std::move(*move_);
  move_.reset();
  const std::string from = describeCluster(config_.options);
  if (!moved) {
    refuseConfig(move.remote.version,
                 "kafka-brokers: " + moved.error().message + "; staying on Kafka cluster " + from);
    return take();
  }
  // The old cluster's positions mean nothing on the new one: it is read from the first request
  // younger than max-request-age (the shell's new plan), and ids already handled stay handled.
  positions_ = PositionTracker{};
  state_.positions.clear();
  heartbeatInFlight_.clear();
  out_.emplace_back(action::PersistState{});  // before remote-config.json names the new cluster
  sender_.clusterReplaced(out_);              // what the old producer did not deliver goes out here
  agentLogger()->info("moved from Kafka cluster {} to {}", from,
                      describeCluster(move.config.options));
  applyConfig(std::move(move.remote), std::move(move.config));
  nextHeartbeatMono_ = monoNow();  // the cloud hears of the board on the new cluster at once
  askConfig(fetch_.askNow(monoNow(), wallNow()));  // and it answers there
  return take();
}

void AgentCore::applyConfig(RemoteConfig remote, AgentConfig config) {
  const int64_t oldInterval = config_.options.heartbeatInterval;
  config_ = std::move(config);
  // Staleness bounds for the next requests; auto-stop bounds for the next starts (planStart
  // reads config_); a running session's deadline is its own.
  policy_.maxAgeMs = config_.options.maxRequestAge * 1000;
  policy_.maxSkewMs = config_.options.maxClockSkew * 1000;
  state_.processed.setLimits(256, 2 * policy_.maxAgeMs + policy_.maxSkewMs);
  if (config_.options.heartbeatInterval != oldInterval) {
    nextHeartbeatMono_ =
        std::min(nextHeartbeatMono_, monoNow() + config_.options.heartbeatInterval * 1000);
  }
  const int64_t version = remote.version;
  applied_ = remote;
  refusedVersion_.reset();
  out_.emplace_back(action::ApplyConfig{std::move(remote), config_});
  agentLogger()->info(
      "remote config version {} applied: heartbeat-interval={} max-request-age={} "
      "max-clock-skew={} auto-stop-default={} auto-stop-max={} log-level={} frps={}:{}",
      version, config_.options.heartbeatInterval, config_.options.maxRequestAge,
      config_.options.maxClockSkew, config_.options.autoStopDefault, config_.options.autoStopMax,
      config_.options.logLevel, config_.options.frpsAddr, config_.options.frpsPort);
  auto event = newEvent(kConfigApplied);
  event.set("version", version);
  emitEvent(std::move(event));
}

void AgentCore::refuseConfig(int64_t version, const std::string& reason) {
  agentLogger()->warn("remote config version {} refused: {}; keeping version {}", version, reason,
                      configVersion());
  if (refusedVersion_ && *refusedVersion_ == version) {
    return;  // said already; the refresh brought the same
  }
  refusedVersion_ = version;
  auto event = newEvent(kConfigRefused);
  if (version >= 0) {
    event.set("version", version);
  }
  event.set("reason", reason);
  emitEvent(std::move(event));
}

}  // namespace edgelink::agent
