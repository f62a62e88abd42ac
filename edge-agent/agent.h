#pragma once

// The edge agent daemon: one thread running a poll() loop over a signalfd, a wake pipe fed by
// librdkafka's queue io-events, and frpc's output pipe; its timeout is the next timer
// (heartbeat, auto-stop deadline, watchdog, a pending start's next check, state flush, retries).
// Requests are handled one at a time, in topic order; a start that waits for frpc's proxies is a
// pending operation checked from timers, during which no further request is taken.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "agent_config.h"
#include "core/clock.h"
#include "core/sd_notify.h"
#include "decisions/position_tracker.h"
#include "decisions/triage.h"
#include "envelope/envelope.h"
#include "kafka/client.h"
#include "request_policy.h"
#include "session.h"
#include "shell/frpc_supervisor.h"
#include "shell/kafka_sink.h"
#include "shell/outbox_sender.h"
#include "state.h"
#include "system_info.h"

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
  /// Where a request came from, so its answer can move the position past it.
  struct Origin {
    int32_t partition = -1;
    int64_t offset = -1;
    int64_t receivedMono = 0;
  };
  /// A start waiting for frpc's proxies (for a request, or resuming after a restart).
  struct PendingStart {
    std::optional<envelope::Envelope> request;
    Origin origin;
    Session session;  ///< the session it will be once running
    bool resumed = false;
    int64_t deadlineMono = 0;
    int64_t nextCheckMono = 0;
    ProxyStatuses statuses;  ///< last seen
  };
  /// A system_info request waiting for its second CPU sample.
  struct PendingInfo {
    envelope::Envelope request;
    Origin origin;
    std::optional<CpuSample> first;
    int64_t dueMono = 0;
  };
  struct Assignment {
    std::vector<kafka::TopicPartitionOffset> partitions;
    std::map<int32_t, int64_t> silentBefore;  ///< partitions read without a stored position
  };

  VoidResult init();
  void loop();
  void shutdown();
  int nextTimeoutMs();
  void handleSignals();
  void runTimers();

  // Kafka
  void bootstrapKafka(std::map<int32_t, int64_t> stored);
  void takeAssignment();
  void consumeMessages();
  void handleMessage(const kafka::Message& m);
  /// A record batch too large for receive.message.max.bytes blocks the partition: move past it.
  void handleOversizeFetch(const kafka::OversizeFetch& fetch);
  VoidResult createConsumer();
  void dispatch(const envelope::Envelope& request, const Origin& origin);
  void onDelivery(const kafka::DeliveryReport& report);
  void sendHeartbeat();

  // Answers, events, state
  void answer(const envelope::Id& id, const std::string& type, const std::string& sender,
              envelope::Envelope response, const Origin& origin, const std::string& note = {});
  void emitEvent(envelope::Envelope event);
  envelope::Envelope newEvent(const char* type);
  void hold(const Origin& origin);
  /// Recomputes the stored position; `persist` schedules a state write (answers do; moving past
  /// our own messages does not: re-reading them after a crash is harmless).
  void positionsChanged(bool persist);
  void markDirty();
  void saveNow();

  // frp
  bool running() const;
  void startFrpc(Session candidate, std::optional<envelope::Envelope> request, const Origin& origin,
                 bool resumed);
  void checkPendingStart();
  void succeedStart();
  void failStart(Error error, const std::string& exitStatus);
  std::optional<Session> stopFrpc(const char* reason);
  /// The one way a session ends (frpc already gone): clears the session and frpc record,
  /// records why, reports `frp_stopped` for `ended`.
  void endSession(std::optional<Session> ended, const StopInfo& info);
  void onFrpcExit();
  envelope::Envelope frpStateResponse(const envelope::Envelope& request, const Session* session,
                                      bool isRunning, const StopInfo* stop,
                                      const std::map<std::string, ProxyStatus>* statuses,
                                      bool extended);
  void emitFrpStopped(const Session* ended, const StopInfo& info);
  void handleStart(const envelope::Envelope& request, const FrpPlan& plan, const Origin& origin);
  void handleStop(const envelope::Envelope& request, const Origin& origin);
  void handleStatus(const envelope::Envelope& request, const Origin& origin);
  void finishSystemInfo();

  int64_t wallNow() const { return clock_.wallMs(); }
  int64_t monoNow() const { return clock_.monoMs(); }

  AgentConfig config_;
  const Clock& clock_;
  Policy policy_;
  envelope::Decoder decoder_;
  std::unique_ptr<FrpcControl> frpc_;
  SdNotifier notifier_;
  AgentState state_;

  int sigFd_ = -1;
  int wakeRead_ = -1;
  int wakeWrite_ = -1;
  std::unique_ptr<kafka::Producer> producer_;
  std::unique_ptr<kafka::Consumer> consumer_;

  std::unique_ptr<ProducerSink> sink_;
  std::unique_ptr<OutboxSender> sender_;
  PositionTracker positions_;
  std::map<int32_t, int64_t> silentBefore_;
  std::vector<kafka::TopicPartitionOffset> assignedParts_;  ///< as assigned (start offsets)
  bool assigned_ = false;
  bool consumerBacklog_ = false;
  uint64_t silentlySkipped_ = 0;
  std::string lastConsumerError_;

  std::thread bootstrap_;
  std::mutex bootstrapMutex_;
  std::condition_variable bootstrapCv_;
  bool stopBootstrap_ = false;
  std::optional<Assignment> assignment_;  // guarded by bootstrapMutex_

  std::optional<PendingStart> pendingStart_;
  std::optional<PendingInfo> pendingInfo_;

  int64_t startMono_ = 0;
  int64_t nextHeartbeatMono_ = 0;
  int64_t nextWatchdogMono_ = 0;
  std::optional<int64_t> flushDueMono_;
  bool shutdownRequested_ = false;
  std::string shutdownReason_;
};

/// What `edge-agent render-frpc` prints for a request: the frpc config the agent would write,
/// or the error response it would send (ok false). Timestamps are not judged (the request file
/// is usually an example); everything else is, exactly as the daemon does. The frps token and
/// the admin password are masked (kMaskedSecret, with a comment saying so) unless `showSecrets`.
struct RenderOutcome {
  bool ok = false;
  std::string text;
};
inline constexpr const char* kMaskedSecret = "*****";
RenderOutcome renderForRequest(const AgentConfig& config, const std::string& requestBytes,
                               const Clock& clock, bool showSecrets = false);

}  // namespace edgelink::agent
