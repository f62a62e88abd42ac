#pragma once

// The agent's state machine: everything it does in answer to what happens (a message of its
// topic, a timer, frpc exiting, a delivery report, what an action saw), returned as actions
// (decisions/actions.h: send, persist, status line, start/check/query/stop frpc, sample the
// system) for the shell to perform: no I/O of its own. Decisions come from decisions/ (pure);
// this class keeps the state between them, the outbox's bookkeeping included. The daemon
// (agent.h) is the poll() loop around it and performs its actions with an ActionRunner
// (shell/action_runner.h), which feeds what they saw back through onOutcome; unit tests call it
// directly with a ManualClock, or through the runner with fakes.

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "agent_config.h"
#include "core/clock.h"
#include "decisions/actions.h"
#include "decisions/agent_metrics.h"
#include "decisions/broker_clock.h"
#include "decisions/config_fetch.h"
#include "decisions/outbox_tracker.h"
#include "decisions/position_tracker.h"
#include "decisions/remote_config.h"
#include "decisions/request_policy.h"
#include "decisions/session.h"
#include "decisions/start_check.h"
#include "decisions/triage.h"
#include "envelope/envelope.h"
#include "state.h"

namespace edgelink::agent {

/// Facts about this process for agent_started.
struct StartupFacts {
  std::string hostname;
  int64_t pid = 0;
};

class AgentCore {
 public:
  AgentCore(const AgentConfig& config, const Clock& clock);
  AgentCore(const AgentCore&) = delete;
  AgentCore& operator=(const AgentCore&) = delete;

  /// Before begin(): the board's own options (its file and flags: what a remote config is
  /// overlaid on) and the remote config the core's config already runs with (loaded from
  /// remote-config.json), if any. Without a call, the config given is the board's own.
  void setRemoteConfig(AgentOptions own, std::optional<RemoteConfig> applied);
  /// The version of the remote config applied (0: none).
  int64_t configVersion() const { return applied_ ? applied_->version : 0; }
  /// The configuration the core runs with now (the board's own, or with remote values).
  const AgentConfig& config() const { return config_; }

  /// Takes the loaded state (leftover frpc already ended): re-sends its outbox, resumes or
  /// ends its session, announces agent_started, persists.
  Actions begin(AgentState state, const StartupFacts& facts);
  /// One message of the topic.
  Actions onMessage(const Inbound& message);
  /// Partitions read without a stored position: older requests before these times are skipped.
  void setSilentBefore(std::map<int32_t, int64_t> silentBefore);
  Actions onDelivery(const Delivery& delivery);
  /// SIGCHLD: frpc may have exited.
  Actions onFrpcSignal();
  /// Runs every timer that is due (heartbeat, retries, a pending start's check, a CPU sample,
  /// the auto-stop deadline, the lazy state flush).
  Actions onTimers();
  /// When onTimers next has something to do (monotonic ms).
  int64_t nextDueMono() const;
  /// A pending start or system_info, or the first heartbeat's delivery report (broker time)
  /// awaited at startup: no further message is taken meanwhile.
  bool busy() const;

  /// What an action saw (the runner's feed): one of the inputs below.
  Actions onOutcome(Outcome seen);
  Actions onSendRefused(uint64_t opaque, const std::string& error);
  Actions onFrpcConfigWritten(const VoidResult& written);
  Actions onFrpcStarted(Result<FrpcRecord> started);
  Actions onFrpcChecked(StartProbe probe);
  Actions onProxyStatus(Result<ProxyStatuses> statuses);
  Actions onFrpcExitSeen(const std::optional<std::string>& exited);
  Actions onFrpcStopped(const FrpcEnd& end);
  Actions onCpuSample(std::optional<CpuSample> sample);
  Actions onSystemFacts(const SystemFacts& facts);
  /// The result of a confirmed state write: a start goes on, or is refused (500, nothing left
  /// running); a stop's answer says whether it is on disk.
  Actions onStatePersisted(const VoidResult& written);
  /// The move asked for by MoveCluster is done (the shell now produces to and reads from the
  /// new cluster) or failed (it stays on the cluster it was on; the error says why).
  Actions onClusterMove(const VoidResult& moved);
  /// A move to another Kafka cluster is under way.
  bool moving() const { return move_.has_value(); }

  /// The next offset after what was consumed on `partition` (-1 when nothing was), and moving
  /// past a record batch that cannot be read.
  int64_t nextOffset(int32_t partition) const { return positions_.next(partition); }
  Actions skipTo(int32_t partition, int64_t next);

  /// SIGTERM/SIGINT: abandons a pending start (unanswered), stops a running session, sends
  /// agent_stopping. The caller then flushes the outbox (retryIfDue) and calls saveNow.
  Actions shutdown(const std::string& reason);
  Actions retryIfDue();
  Actions saveNow();

  const AgentState& state() const { return state_; }
  bool running() const;
  /// The heartbeat's counters; the daemon sets what only it sees (Kafka reconnects).
  AgentCounters& counters() { return counters_; }

 private:
  /// " (request id=…)" for a log line about what a request set going ("" without one), so the
  /// request's id is on every line that concerns it (one grep follows it).
  static std::string requestTag(const std::optional<envelope::Envelope>& request);
  static std::string requestTag(const envelope::Envelope& request);
  /// Where a request came from, so its answer can move the position past it.
  struct Origin {
    int32_t partition = -1;
    int64_t offset = -1;
    int64_t receivedMono = 0;
    /// Its answer is remembered as its id's answer (Triage::trusted).
    bool trusted = true;
  };
  /// A start waiting for frpc's proxies (for a request, or resuming after a restart).
  struct PendingStart {
    std::optional<envelope::Envelope> request;
    Origin origin;
    Session session;  ///< the session it will be once running
    bool resumed = false;
    int64_t deadlineMono = 0;
    int64_t nextCheckMono = 0;
    bool pastDeadline = false;  ///< at the check asked for
    ProxyStatuses statuses;     ///< last seen
  };
  /// A system_info request waiting for its CPU samples and the system's facts.
  struct PendingInfo {
    envelope::Envelope request;
    Origin origin;
    std::optional<CpuSample> first;
    std::optional<double> cpu;
    int64_t dueMono = 0;
    bool sampled = false;  ///< the first sample is in
  };
  /// A request whose answer waits for an outcome (frp_status: the proxy statuses; frp_stop:
  /// frpc stopped).
  struct PendingAnswer {
    envelope::Envelope request;
    Origin origin;
  };
  /// What follows once frpc is stopped (a StopFrpc asked for): the session it ends and why,
  /// then an answer, a failed start's answer, the next start or agent_stopping.
  struct Stopping {
    StopInfo info;
    std::optional<Session> ended;
    bool endsSession = true;
    bool idle = true;         ///< the status line says idle afterwards
    bool withEnd = false;     ///< frpc exited on its own: its wait status and output go in info
    bool keepOutput = false;  ///< a failed start: its output goes in info
    std::optional<PendingStart> failed;       ///< a failed start, to answer
    Error error;                              ///< why it failed
    std::optional<PendingAnswer> answerStop;  ///< a frp_stop to answer
    std::optional<PendingStart> next;         ///< a start replacing the session
    std::optional<std::string> stopping;      ///< agent_stopping's reason (shutdown)
  };
  /// A frp_stop whose frpc is stopped, answered once the state write says how it went.
  struct StopAnswer {
    PendingAnswer request;
    std::optional<Session> ended;
  };

  Actions take();
  void act(Triage triage, const Origin& origin, size_t bytes);
  void dispatch(const envelope::Envelope& request, const Origin& origin);
  void sendHeartbeat();
  /// A response or event from another sender: an answer to our get_config, config_changed.
  void onOther(const envelope::Envelope& message);
  void askConfig(const ConfigFetch::Ask& ask);
  void onConfigAnswer(const envelope::Envelope& response);
  void applyConfig(RemoteConfig remote, AgentConfig config);
  void refuseConfig(int64_t version, const std::string& reason);
  void beginMove(RemoteConfig remote, AgentConfig config);

  void answer(const envelope::Id& id, const std::string& type, const std::string& sender,
              envelope::Envelope response, const Origin& origin, const std::string& note = {});
  void emitEvent(envelope::Envelope event);
  void queue(const std::string& what, const std::string& value, int32_t partition = -1,
             int64_t offset = -1);
  envelope::Envelope newEvent(const char* type);
  void hold(const Origin& origin);
  /// Recomputes the stored position; `persist` schedules a state write (answers do; moving past
  /// our own messages does not: re-reading them after a crash is harmless).
  void positionsChanged(bool persist);
  void markDirty();
  void persistNow();

  void handleStart(const envelope::Envelope& request, const FrpPlan& plan, const Origin& origin);
  void handleStop(const envelope::Envelope& request, const Origin& origin);
  void answerStop(const StopAnswer& a, const VoidResult& written);
  void handleStatus(const envelope::Envelope& request, const Origin& origin);
  void finishSystemInfo(const SystemFacts& facts);
  void startFrpc(Session candidate, std::optional<envelope::Envelope> request, const Origin& origin,
                 bool resumed);
  void checkPendingStart();
  void succeedStart();
  void failStart(Error error, const std::string& exitStatus);
  void answerFailedStart(PendingStart& p, const Error& error);
  /// Asks for frpc to be stopped; `then` says what follows once it is (onFrpcStopped).
  void stopFrpc(const char* reason, Stopping then);
  void stopFrpc(const char* reason);
  /// The one way a session ends (frpc already gone): clears the session and frpc record,
  /// records why, reports `frp_stopped` for `ended`.
  void endSession(std::optional<Session> ended, const StopInfo& info);
  void sayStopping(const std::string& reason);
  envelope::Envelope frpStateResponse(const envelope::Envelope& request, const Session* session,
                                      bool isRunning, const StopInfo* stop,
                                      const ProxyStatuses* statuses, bool extended);
  void emitFrpStopped(const Session* ended, const StopInfo& info);

  int64_t wallNow() const { return clock_.wallMs(); }
  int64_t monoNow() const { return clock_.monoMs(); }
  /// The running session's auto-stop deadline moved to `expiresAtMs` (wall clock, persisted):
  /// from now on it is counted on the monotonic clock, so a wall-clock jump neither ends nor
  /// extends it.
  void armSessionDeadline(int64_t expiresAtMs);
  /// One of our heartbeats was appended at `appendedAtMs` by the broker (LogAppendTime), as
  /// its delivery report or its copy read back on the topic says: a broker clock sample.
  void brokerTimeSeen(const std::string& id, int64_t appendedAtMs, const char* how);
  /// The first heartbeat's delivery report is awaited: no request is judged before it (bounded).
  bool awaitingBrokerTime() const { return probeUntilMono_ && monoNow() < *probeUntilMono_; }

  AgentConfig config_;  ///< the board's own config, with the applied remote config over it
  AgentOptions ownOptions_;
  std::optional<RemoteConfig> applied_;
  std::optional<int64_t> refusedVersion_;  ///< the last version refused (said once)
  /// A remote config naming another Kafka cluster, applied once the shell has moved there.
  struct PendingMove {
    RemoteConfig remote;
    AgentConfig config;
  };
  std::optional<PendingMove> move_;
  const Clock& clock_;
  Policy policy_;
  envelope::Decoder decoder_;
  AgentState state_;
  OutboxTracker sender_;
  PositionTracker positions_;
  std::map<int32_t, int64_t> silentBefore_;
  uint64_t silentlySkipped_ = 0;
  Actions out_;  ///< what the entry point running now asks for
  AgentCounters counters_;

  std::optional<FrpcRecord> frpc_;  ///< the frpc started (running, or exited and not reaped)
  std::optional<PendingStart> pendingStart_;
  std::optional<PendingInfo> pendingInfo_;
  std::optional<PendingAnswer> pendingStatus_;
  std::optional<Stopping> stopping_;
  std::optional<StopAnswer> stopAnswer_;
  int64_t startMono_ = 0;
  int64_t nextHeartbeatMono_ = 0;
  int64_t sessionDeadlineMono_ = 0;  ///< the running session's auto-stop (armSessionDeadline)
  BrokerClock brokerClock_;
  std::string heartbeatInFlight_;          ///< the id of the heartbeat not yet delivered
  std::optional<int64_t> probeUntilMono_;  ///< awaitingBrokerTime() until then
  bool probed_ = false;  ///< the first heartbeat's delivery was awaited, or need not be
  std::optional<int64_t> flushDueMono_;
  ConfigFetch fetch_;
  uint64_t configGivenUp_ = 0;  ///< fetch_.givenUp() already logged
};

}  // namespace edgelink::agent
