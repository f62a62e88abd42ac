#pragma once

// What the agent's core asks the shell to do (Action), and what the shell saw doing it (Outcome,
// fed back to the core). Plain data: the core (agent_core.h) returns Actions from every entry
// point and takes Outcomes as inputs; shell/action_runner.h performs them through the seams.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/result.h"
#include "decisions/remote_config.h"
#include "decisions/session.h"
#include "decisions/start_check.h"
#include "decisions/system_info.h"
#include "frpc_record.h"

namespace edgelink::agent {

/// A delivery report as the agent needs it (the Kafka layer classifies the error).
struct Delivery {
  enum class Outcome { kDelivered, kRetriable, kPermanent };
  uint64_t opaque = 0;
  Outcome outcome = Outcome::kDelivered;
  std::string error;  ///< what the broker/client said, when not delivered
  std::string where;  ///< "topic[partition] offset N", when delivered
  /// Delivered to a LogAppendTime topic: the broker's append time (broker_clock.h).
  std::optional<int64_t> appendedAtMs = std::nullopt;
};

/// What is left of an frpc once it is stopped or has exited.
struct FrpcEnd {
  int pid = 0;
  std::string waitStatus;  ///< described: "exited with status 1", "killed by signal 15"
  std::string output;      ///< its last output lines
};

namespace action {

/// Produce `value` to the agent's topic; its delivery report comes back with `opaque` (an
/// outbox sequence number, or 0 for a perishable heartbeat). Refused: Outcome SendRefused.
struct Send {
  std::string value;
  uint64_t opaque = 0;
};
/// Write the state file (the core's state as it is when performed). `confirm`: the core waits
/// for the result (Outcome StatePersisted): a start goes on only once its state is on disk.
/// Other writes' failures are the shell's to log (the answer is sent anyway: Kafka needs no
/// disk).
struct PersistState {
  bool confirm = false;
};
/// systemd's status line.
struct SetStatus {
  std::string text;
};
/// Write frpc's config for `session` (rendered by the shell: it holds the admin password, new
/// for each start): Outcome FrpcConfigWritten.
struct WriteFrpcConfig {
  Session session;
};
/// Start frpc on the config written last (after `frpc verify` when configured): Outcome
/// FrpcStarted.
struct StartFrpc {};
/// Look at a starting frpc (its exit, the admin API's proxy statuses, its last 3 lines):
/// Outcome FrpcChecked.
struct CheckFrpc {};
/// The running frpc's proxy statuses from its admin API: Outcome ProxyStatusRead.
struct QueryProxyStatus {};
/// Whether frpc has exited (after SIGCHLD): Outcome FrpcExitSeen.
struct WatchFrpcExit {};
/// Stop frpc (SIGTERM, SIGKILL after the grace period), or forget one that has exited
/// (`exited`); keep its last `lines` lines: Outcome FrpcStopped.
struct StopFrpc {
  std::string reason;  ///< envelope::stop_reason::*, for the log
  size_t lines = 0;
  bool exited = false;
};
/// The CPU counters now: Outcome CpuSampled.
struct SampleCpu {};
/// The system's facts with the space of `diskPaths`: Outcome SystemFactsRead.
struct ReadSystemFacts {
  std::vector<std::string> diskPaths;
};

/// A remote config is accepted: write remote-config.json (0600, atomically), set the log
/// level, and run the frpc side with `config` from the next start (frps-addr, frps-port).
struct ApplyConfig {
  RemoteConfig remote;
  AgentConfig config;
};

/// A remote config names another Kafka cluster (`config`'s kafka-brokers): connect to it, and
/// once the board's topic is read there (its partitions and start offsets answered), switch the
/// producer and the consumer to it. Within `timeoutMs`, else stay. The shell reports either
/// way through AgentCore::onClusterMove, after switching when it did.
struct MoveCluster {
  AgentConfig config;
  int64_t timeoutMs = 0;
};

}  // namespace action

using Action =
    std::variant<action::Send, action::PersistState, action::SetStatus, action::WriteFrpcConfig,
                 action::StartFrpc, action::CheckFrpc, action::QueryProxyStatus,
                 action::WatchFrpcExit, action::StopFrpc, action::SampleCpu,
                 action::ReadSystemFacts, action::ApplyConfig, action::MoveCluster>;
using Actions = std::vector<Action>;

namespace outcome {

/// The state file is written, or could not be ("state: cannot write PATH: CAUSE (STEP)").
struct StatePersisted {
  VoidResult written;
};
struct SendRefused {
  uint64_t opaque = 0;
  std::string error;
};
/// frpc's config is written, or could not be.
struct FrpcConfigWritten {
  VoidResult written;
};
/// frpc runs (its record), or could not be started (nothing left running).
struct FrpcStarted {
  Result<FrpcRecord> started;
};
/// One look at a starting frpc (StartProbe without the deadline, which is the core's).
struct FrpcChecked {
  StartProbe probe;
};
struct ProxyStatusRead {
  Result<ProxyStatuses> statuses;
};
struct FrpcExitSeen {
  std::optional<std::string> exited;  ///< its wait status, described, when it has exited
};
struct FrpcStopped {
  FrpcEnd end;
};
struct CpuSampled {
  std::optional<CpuSample> sample;
};
struct SystemFactsRead {
  SystemFacts facts;
};

}  // namespace outcome

using Outcome = std::variant<outcome::SendRefused, outcome::FrpcConfigWritten, outcome::FrpcStarted,
                             outcome::FrpcChecked, outcome::ProxyStatusRead, outcome::FrpcExitSeen,
                             outcome::FrpcStopped, outcome::CpuSampled, outcome::SystemFactsRead,
                             outcome::StatePersisted>;

}  // namespace edgelink::agent
