#pragma once

// The agent's state machine: everything it does in answer to what happens (a message of its
// topic, a timer, frpc exiting, a delivery report), behind seams for everything outside: the
// Kafka producer (MessageSink), frpc (FrpcControl), the system's numbers (SystemProbe), the state
// file (persist) and systemd's status line. Decisions come from decisions/ (pure); this class keeps
// the state between them and performs their actions through the seams. The daemon (agent.h) is the
// poll() loop around it; unit tests drive it with a ManualClock and fakes.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "agent_config.h"
#include "core/clock.h"
#include "decisions/agent_metrics.h"
#include "decisions/position_tracker.h"
#include "decisions/request_policy.h"
#include "decisions/session.h"
#include "decisions/start_check.h"
#include "decisions/triage.h"
#include "envelope/envelope.h"
#include "shell/frpc_supervisor.h"
#include "shell/outbox_sender.h"
#include "shell/system_probe.h"
#include "state.h"

namespace edgelink::agent {

/// What the core reports to the world beyond Kafka and frpc.
struct CoreHooks {
  std::function<void(const AgentState&)> persist;  ///< write the state file (atomically)
  std::function<void(const std::string&)> status;  ///< systemd's status line
};

/// Facts about this process for agent_started.
struct StartupFacts {
  std::string hostname;
  int64_t pid = 0;
};

class AgentCore {
 public:
  AgentCore(const AgentConfig& config, const Clock& clock, MessageSink& sink, FrpcControl& frpc,
            SystemProbe& probe, CoreHooks hooks);
  AgentCore(const AgentCore&) = delete;
  AgentCore& operator=(const AgentCore&) = delete;

  /// Takes the loaded state (leftover frpc already ended): re-sends its outbox, resumes or
  /// ends its session, announces agent_started, persists.
  void begin(AgentState state, const StartupFacts& facts);
  /// One message of the topic.
  void onMessage(const Inbound& message);
  /// Partitions read without a stored position: older requests before these times are skipped.
  void setSilentBefore(std::map<int32_t, int64_t> silentBefore);
  void onDelivery(const Delivery& delivery);
  /// SIGCHLD: frpc may have exited.
  void onFrpcSignal();
  /// Runs every timer that is due (heartbeat, retries, a pending start's check, a CPU sample,
  /// the auto-stop deadline, the lazy state flush).
  void onTimers();
  /// When onTimers next has something to do (monotonic ms).
  int64_t nextDueMono() const;
  /// A pending start or system_info: no further message is taken meanwhile.
  bool busy() const { return pendingStart_.has_value() || pendingInfo_.has_value(); }

  /// The next offset after what was consumed on `partition` (-1 when nothing was), and moving
  /// past a record batch that cannot be read.
  int64_t nextOffset(int32_t partition) const { return positions_.next(partition); }
  void skipTo(int32_t partition, int64_t next);

  /// SIGTERM/SIGINT: abandons a pending start (unanswered), stops a running session, sends
  /// agent_stopping. The caller then flushes the outbox (retryIfDue) and calls saveNow.
  void shutdown(const std::string& reason);
  void retryIfDue() { sender_.retryIfDue(); }
  void saveNow();

  const AgentState& state() const { return state_; }
  bool running() const;
  /// The heartbeat's counters; the daemon sets what only it sees (Kafka reconnects).
  AgentCounters& counters() { return counters_; }

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

  void act(Triage triage, const Origin& origin, size_t bytes);
  void dispatch(const envelope::Envelope& request, const Origin& origin);
  void sendHeartbeat();

  void answer(const envelope::Id& id, const std::string& type, const std::string& sender,
              envelope::Envelope response, const Origin& origin, const std::string& note = {});
  void emitEvent(envelope::Envelope event);
  envelope::Envelope newEvent(const char* type);
  void hold(const Origin& origin);
  /// Recomputes the stored position; `persist` schedules a state write (answers do; moving past
  /// our own messages does not: re-reading them after a crash is harmless).
  void positionsChanged(bool persist);
  void markDirty();

  void handleStart(const envelope::Envelope& request, const FrpPlan& plan, const Origin& origin);
  void handleStop(const envelope::Envelope& request, const Origin& origin);
  void handleStatus(const envelope::Envelope& request, const Origin& origin);
  void finishSystemInfo();
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
                                      const ProxyStatuses* statuses, bool extended);
  void emitFrpStopped(const Session* ended, const StopInfo& info);

  int64_t wallNow() const { return clock_.wallMs(); }
  int64_t monoNow() const { return clock_.monoMs(); }

  const AgentConfig& config_;
  const Clock& clock_;
  Policy policy_;
  envelope::Decoder decoder_;
  FrpcControl* frpc_;
  SystemProbe* probe_;
  CoreHooks hooks_;
  AgentState state_;
  OutboxSender sender_;
  PositionTracker positions_;
  std::map<int32_t, int64_t> silentBefore_;
  uint64_t silentlySkipped_ = 0;
  AgentCounters counters_;

  std::optional<PendingStart> pendingStart_;
  std::optional<PendingInfo> pendingInfo_;
  int64_t startMono_ = 0;
  int64_t nextHeartbeatMono_ = 0;
  std::optional<int64_t> flushDueMono_;
};

}  // namespace edgelink::agent
