#pragma once

// The edge agent daemon, the I/O shell around AgentCore: one thread running a poll() loop over
// a signalfd, a wake pipe fed by librdkafka's queue io-events, and frpc's output pipe; its
// timeout is the core's next timer or the watchdog. It owns the Kafka clients (a helper thread
// finds the topic's partitions and start offsets), the signals, systemd's notifications and
// the state file, and hands every delivery report, timer and frpc exit to the core, and the
// topic's messages through its TopicReader (over the consumer as a MessageSource); what the core
// returns, its ActionRunner performs (feeding what that saw back to the core).

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "agent_config.h"
#include "agent_core.h"
#include "cluster_move.h"
#include "core/clock.h"
#include "core/sd_notify.h"
#include "core/unique_fd.h"
#include "kafka/client.h"
#include "render_frpc.h"
#include "shell/action_runner.h"
#include "shell/frpc_supervisor.h"
#include "shell/kafka_sink.h"
#include "shell/kafka_source.h"
#include "shell/system_probe.h"
#include "state.h"
#include "topic_reader.h"

namespace edgelink::agent {

class Agent {
 public:
  Agent(AgentConfig config, const Clock& clock);
  ~Agent();
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  /// Runs until SIGTERM/SIGINT, then stops frpc, flushes and returns the exit code (0).
  /// Startup failures (state dir, Kafka client creation) return 1.
  int run();

 private:
  struct Assignment {
    StartPlan plan;                                       ///< where each partition starts, and why
    std::vector<kafka::TopicPartitionOffset> partitions;  ///< the plan, for librdkafka
  };

  VoidResult init();
  VoidResult openSignals();
  /// The state file, made this edge's, with a leftover frpc of an earlier run ended.
  Result<AgentState> loadOwnState();
  /// remote-config.json, checked over the board's own options: applied to config_ (and the
  /// log level) when it still fits, else ignored (logged).
  std::optional<RemoteConfig> loadAppliedRemoteConfig();
  /// The core accepted a remote config: persist it, run frpc's side and the log level by it.
  void applyRemoteConfig(const action::ApplyConfig& a);
  static void setLogLevel(const std::string& level);
  /// Writes the state file (the runner's PersistState); logs when writes start and stop failing.
  VoidResult persist();
  void loop();
  void shutdown();
  int nextTimeoutMs();
  void handleSignals();
  void runTimers();

  /// MoveCluster: the new cluster's clients, and the lookup of the topic there.
  void startMove(const action::MoveCluster& m);
  /// The move found the topic (switch to the new clients) or gave up (stay): tells the core.
  void checkMove();
  /// Switches producer, sink, consumer and reader to the move's clients; an error leaves the
  /// old ones in place.
  VoidResult switchCluster(ClusterMove::Clients next);
  void stopBootstrap();

  void bootstrapKafka(std::map<int32_t, int64_t> stored);
  void takeAssignment();
  /// A record batch too large for receive.message.max.bytes blocks the partition: move past it.
  void recoverOversize();

  AgentConfig config_;
  const Clock& clock_;
  SdNotifier notifier_;
  FrpcSupervisor frpc_;
  ProcSystemProbe probe_;

  kafka::LinkWatch kafkaLink_;  ///< before the clients: they report to it

  UniqueFd sigFd_;
  UniqueFd wakeRead_;
  UniqueFd wakeWrite_;
  std::unique_ptr<kafka::Producer> producer_;
  std::unique_ptr<KafkaSource> source_;
  std::optional<security::SigningKey> signingKey_;  ///< the board's: signs what it sends
  std::unique_ptr<ProducerSink> sink_;
  std::unique_ptr<AgentCore> core_;
  std::unique_ptr<ActionRunner> runner_;
  std::unique_ptr<TopicReader> reader_;

  std::thread bootstrap_;
  std::mutex bootstrapMutex_;
  std::condition_variable bootstrapCv_;
  bool stopBootstrap_ = false;
  std::optional<StartPlan> plan_;      // guarded by bootstrapMutex_
  std::unique_ptr<ClusterMove> move_;  ///< a move to another Kafka cluster under way

  std::string persistError_;  ///< the last state write's error, while they fail
  uint64_t persistFailures_ = 0;
  int64_t nextWatchdogMono_ = 0;
  bool shutdownRequested_ = false;
  std::string shutdownReason_;
};

}  // namespace edgelink::agent
