#pragma once

// Performs the core's actions (decisions/actions.h) through the seams: the producer
// (MessageSink), frpc (FrpcControl), the system's numbers (SystemProbe), the state file and
// systemd's status line (hooks). What an action saw comes back to the core as an Outcome through
// `feed`, and the actions that returns are performed at once, before the rest (so they run in the
// order the core would have performed them itself), until nothing is left.

#include <functional>
#include <optional>
#include <string>

#include "decisions/actions.h"
#include "shell/frpc_supervisor.h"
#include "shell/message_sink.h"
#include "shell/system_probe.h"

namespace edgelink::agent {

/// What the runner does for PersistState and SetStatus.
struct RunnerHooks {
  std::function<VoidResult()> persist;             ///< write the core's state file (atomically)
  std::function<void(const std::string&)> status;  ///< systemd's status line
  /// persist an accepted remote config and apply the shell's side of it
  std::function<void(const action::ApplyConfig&)> applyConfig;
  /// start connecting to another Kafka cluster (the outcome comes later: onClusterMove)
  std::function<void(const action::MoveCluster&)> moveCluster;
};

class ActionRunner {
 public:
  using Feed = std::function<Actions(Outcome)>;

  ActionRunner(MessageSink& sink, FrpcControl& frpc, SystemProbe& probe, RunnerHooks hooks)
      : sink_(sink), frpc_(frpc), probe_(probe), hooks_(std::move(hooks)) {}
  ActionRunner(const ActionRunner&) = delete;
  ActionRunner& operator=(const ActionRunner&) = delete;

  /// Where outcomes go (the core's onOutcome).
  void setFeed(Feed feed) { feed_ = std::move(feed); }
  /// Performs `actions` in order, each outcome's actions before the next one.
  void run(Actions actions);

  /// The one action performed, and what it saw (nothing for most).
  std::optional<Outcome> perform(const Action& action);

 private:
  std::optional<Outcome> performFrpc(const Action& action);

  MessageSink& sink_;
  FrpcControl& frpc_;
  SystemProbe& probe_;
  RunnerHooks hooks_;
  Feed feed_;
};

}  // namespace edgelink::agent
