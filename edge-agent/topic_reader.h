#pragma once

// How the agent reads its topic, over the MessageSource seam: one attempt at a start plan (the
// partition count and the lookups by time, for the bootstrap thread), the assignment, turns of
// at most kMaxMessagesPerTurn messages into the core while it is not busy, and moving past a
// record batch too large to read. Part of the daemon beside agent.* (it drives AgentCore, whose
// actions its ActionRunner performs, so it sits above the core, not in shell/); the loop
// (agent.cpp) calls it, unit tests drive it with a fake source.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "agent_core.h"
#include "decisions/read_position.h"
#include "shell/action_runner.h"
#include "shell/message_source.h"

namespace edgelink::agent {

class TopicReader {
 public:
  static constexpr int kMaxMessagesPerTurn = 16;

  TopicReader(MessageSource& source, AgentCore& core, ActionRunner& runner, std::string topic,
              int64_t maxRequestAgeSeconds)
      : source_(&source),
        core_(&core),
        runner_(&runner),
        topic_(std::move(topic)),
        maxRequestAgeSeconds_(maxRequestAgeSeconds) {}

  /// One attempt at where to start (any thread; touches only the source): nullopt while the
  /// topic or a lookup is not answered, logged once per `warned`; `why` (when given) then says
  /// what was not answered.
  std::optional<StartPlan> plan(const std::map<int32_t, int64_t>& stored, int64_t nowWallMs,
                                bool& warned, std::string* why = nullptr);
  /// Assigns the plan's partitions and tells the core which are read without a position.
  VoidResult assign(const StartPlan& plan);
  bool assigned() const { return assigned_; }
  /// Messages may be waiting (the loop then does not sleep).
  bool backlog() const { return backlog_; }

  /// A turn: up to kMaxMessagesPerTurn messages into the core, stopping when it becomes busy or
  /// `stopping` says so.
  void consume(bool stopping);
  /// Moves past a record batch too large to read, if librdkafka reported one. An error when the
  /// consumer could not be re-created (the daemon stops).
  VoidResult recoverOversize();

 private:
  void handle(const Polled& p);

  MessageSource* source_;
  AgentCore* core_;
  ActionRunner* runner_;
  std::string topic_;
  int64_t maxRequestAgeSeconds_;
  std::vector<AssignedPartition> assignedParts_;  ///< as assigned (start offsets)
  bool assigned_ = false;
  bool backlog_ = false;
  std::string lastError_;
};

}  // namespace edgelink::agent
