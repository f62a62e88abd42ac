#pragma once

// A move to another Kafka cluster (docs/REMOTE-CONFIG.md "Moving a board"), the shell's side:
// the new cluster's producer and consumer made beside the old ones, and a thread that looks for
// the board's topic there (its partitions and where to start reading them: TopicReader::plan)
// until it is found or the deadline passes. The agent keeps serving on the old cluster
// meanwhile; once the plan is found, it takes the new clients and switches (Agent::finishMove).

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "agent_config.h"
#include "core/clock.h"
#include "kafka/client.h"
#include "shell/kafka_source.h"
#include "topic_reader.h"

namespace edgelink::agent {

class ClusterMove {
 public:
  /// The new cluster's clients, and where its topic is read from.
  struct Clients {
    std::unique_ptr<kafka::Producer> producer;
    std::unique_ptr<KafkaSource> source;
    std::unique_ptr<TopicReader> reader;
    StartPlan plan;
  };
  enum class State { kWaiting, kReady, kFailed };

  /// Makes `target`'s clients (the producer reporting to `onDelivery`; both waking `wakeFd`)
  /// and starts looking for the topic. The reader drives `core` and `runner` once switched to.
  /// Never fails here: a client that cannot be made is a failed move (poll() says so).
  ClusterMove(const AgentConfig& target, int64_t deadlineMono, const Clock& clock, int wakeFd,
              kafka::LinkWatch* link, kafka::DeliveryCallback onDelivery, AgentCore& core,
              ActionRunner& runner);
  /// Stops the lookup (bounded by one lookup's timeout) and drops the new clients, unless taken.
  ~ClusterMove();
  ClusterMove(const ClusterMove&) = delete;
  ClusterMove& operator=(const ClusterMove&) = delete;

  /// kReady: the topic is found (take()); kFailed: the deadline passed, or a client could not be
  /// made (failure() says why); else kWaiting.
  State poll(int64_t nowMono);
  int64_t deadlineMono() const { return deadlineMono_; }
  /// "cannot read topic T on the new cluster (B) within N s: <last error>".
  std::string failure() const;
  /// The clients and the plan (after kReady; once).
  Clients take();

 private:
  void lookUp();

  const AgentConfig target_;
  const int64_t deadlineMono_;
  const int64_t timeoutMs_;
  const Clock& clock_;
  const int wakeFd_;
  Clients clients_;
  std::string setupError_;  ///< a client could not be made

  std::thread thread_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  bool stop_ = false;               ///< guarded by mutex_
  std::optional<StartPlan> found_;  ///< guarded by mutex_
  std::string lastError_;           ///< guarded by mutex_
};

}  // namespace edgelink::agent
