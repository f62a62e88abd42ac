#include "topic_reader.h"

#include "agent_log.h"

namespace edgelink::agent {

namespace {

constexpr int kLookupTimeoutMs = 2000;

}  // namespace

std::optional<StartPlan> TopicReader::plan(const std::map<int32_t, int64_t>& stored,
                                           int64_t nowWallMs, bool& warned, std::string* why) {
  auto parts = source_->partitionCount(kLookupTimeoutMs);
  if (!parts) {
    if (why != nullptr) {
      *why = "topic " + topic_ + ": " + parts.error().describe();
    }
    if (!warned && parts.error().status == Status::kForbidden) {
      // An ACL or credentials problem: no retry fixes it until the operator does.
      agentLogger()->error(
          "not authorized to read topic {}: {}. The broker's ACLs do not let this agent's Kafka "
          "principal (its SASL user) use that topic: check edge-id, topic-prefix and the "
          "credentials in kafka-property, or grant the ACLs (`cloud-dispatcher edges add`); "
          "retrying every second, said once",
          topic_, parts.error().describe());
      warned = true;
    } else if (!warned) {
      agentLogger()->warn("waiting for topic {}: {}", topic_, parts.error().describe());
      warned = true;
    }
    return std::nullopt;
  }
  const int64_t maxAgeMs = maxRequestAgeSeconds_ * 1000;
  std::map<int32_t, TimeLookup> lookups;
  for (int32_t p : partitionsWithoutPosition(*parts, stored)) {
    auto offset = source_->offsetForTime(p, readFromTimeMs(nowWallMs, maxAgeMs), kLookupTimeoutMs);
    const bool failed = !offset;
    lookups.emplace(p, std::move(offset));
    if (failed) {
      break;  // the plan waits for this one
    }
  }
  StartPlan plan = planStartPositions(*parts, stored, lookups, nowWallMs, maxAgeMs);
  if (!plan.complete()) {
    if (why != nullptr) {
      *why = topic_ + "[" + std::to_string(plan.failure->partition) +
             "] offsets: " + plan.failure->error.describe();
    }
    if (!warned) {
      agentLogger()->warn("waiting for {}[{}] offsets: {}", topic_, plan.failure->partition,
                          plan.failure->error.describe());
      warned = true;
    }
    return std::nullopt;
  }
  return plan;
}

VoidResult TopicReader::assign(const StartPlan& plan) {
  std::vector<AssignedPartition> parts;
  for (const auto& start : plan.partitions) {
    parts.push_back({start.partition, start.offset});
  }
  if (auto r = source_->assign(parts); !r) {
    agentLogger()->error("cannot assign {}: {}", topic_, r.error().describe());
    return r;
  }
  core_->setSilentBefore(plan.silentBefore);
  assignedParts_ = std::move(parts);
  assigned_ = true;
  backlog_ = true;
  for (const auto& start : plan.partitions) {
    switch (start.from) {
      case StartFrom::kTimestamp:
        agentLogger()->info(
            "consuming {}[{}] from offset {}: the first message younger than {} s, found by "
            "timestamp (no stored position)",
            topic_, start.partition, start.offset, maxRequestAgeSeconds_);
        break;
      case StartFrom::kStored:
        agentLogger()->info("consuming {}[{}] from stored offset {}", topic_, start.partition,
                            start.offset);
        break;
      case StartFrom::kBeginning:
        agentLogger()->info(
            "consuming {}[{}] from the beginning (no stored position; requests older "
            "than {} s are skipped without an answer)",
            topic_, start.partition, maxRequestAgeSeconds_);
        break;
    }
  }
  return {};
}

void TopicReader::consume(bool stopping) {
  if (!assigned_ || core_->busy() || stopping) {
    return;
  }
  for (int i = 0; i < kMaxMessagesPerTurn; ++i) {
    auto p = source_->poll();
    if (!p) {
      backlog_ = false;
      return;
    }
    handle(*p);
    if (core_->busy() || stopping) {
      backlog_ = true;
      return;
    }
  }
  backlog_ = true;
}

void TopicReader::handle(const Polled& p) {
  switch (p.kind) {
    case Polled::Kind::kEndOfPartition:
      return;
    case Polled::Kind::kError:
      if (p.error != lastError_) {
        agentLogger()->warn("kafka consumer: {}", p.error);
        lastError_ = p.error;
      }
      return;
    case Polled::Kind::kMessage:
      lastError_.clear();
      runner_->run(core_->onMessage(p.message));
      return;
  }
}

VoidResult TopicReader::recoverOversize() {
  if (!assigned_) {
    return {};
  }
  auto fetch = source_->takeOversizeFetch();
  if (!fetch) {
    return {};
  }
  // Where the batch is: decisions/read_position.h (with one partition, at the position).
  std::map<int32_t, int64_t> consumedNext;
  for (const auto& a : assignedParts_) {
    consumedNext[a.partition] = core_->nextOffset(a.partition);
  }
  OversizeBatch batch = locateOversizeBatch(assignedParts_, consumedNext);
  if (batch.kind == OversizeBatch::Kind::kAskWatermarks) {
    auto w = source_->watermarks(batch.partition, kLookupTimeoutMs);
    if (!w) {
      agentLogger()->warn(
          "a record batch at {}[{}] is too large to read and its offset is unknown "
          "yet ({}); trying again",
          topic_, batch.partition, w.error().describe());
      return {};
    }
    batch = locateOversizeBatch(assignedParts_, consumedNext, w->first);
  }
  if (batch.kind != OversizeBatch::Kind::kAt) {
    agentLogger()->error(
        "Kafka's fetch response of {} bytes is larger than receive.message.max.bytes {}: a "
        "record batch on one of {}'s {} partitions is too large to read. With one partition "
        "(as `edges add` creates edge topics) the agent moves past it; with several it cannot "
        "tell which: lower the topic's max.message.bytes or raise receive.message.max.bytes "
        "(kafka-property)",
        fetch->size, fetch->limit, topic_, assignedParts_.size());
    return {};
  }
  agentLogger()->warn(
      "dropped the record batch at {}[{}] offset {}: Kafka's fetch response of {} bytes is "
      "larger than receive.message.max.bytes {} (the topic accepts larger messages than this "
      "agent reads); not read, not answered",
      topic_, batch.partition, batch.offset, fetch->size, fetch->limit);
  runner_->run(core_->skipTo(batch.partition, batch.offset + 1));
  // A new client: librdkafka reports an identical refusal on the same connection only every
  // 30 s, so the next oversize batch (if any) would otherwise stall the agent that long.
  if (auto r = source_->reopen(); !r) {
    agentLogger()->critical("cannot re-create the Kafka consumer: {}", r.error().describe());
    return r;
  }
  assignedParts_[0].offset = batch.offset + 1;
  if (auto r = source_->assign(assignedParts_); !r) {
    agentLogger()->error("cannot assign {}: {}", topic_, r.error().describe());
  }
  return {};
}

}  // namespace edgelink::agent
