#pragma once

// Simulated edges for the dispatcher's tests (the real agent is built elsewhere): consumes edge
// topics and answers requests with schema-valid responses, emitting frp events like the agent
// does. Every message it produces is checked against the schemas first.

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "envelope/envelope.h"
#include "kafka/client.h"
#include "security/ed25519.h"

namespace edgelink::testing {

class EdgeSimulator {
 public:
  /// How requests of one type are answered.
  struct Behaviour {
    bool answer = true;            ///< false: stay silent
    int code = 200;                ///< the answer's status code
    std::string error;             ///< body.error of a failure
    bool frpEvents = true;         ///< frp_started / frp_stopped after frp answers
    bool echoType = true;          ///< false: answer like the original design (no "type")
    int64_t expiresInSeconds = 0;  ///< frp start: 0 = the request's auto-stop
  };

  /// How the simulator's Kafka clients behave.
  struct Tuning {
    /// The consumer's fetch.wait.max.ms: 10 for the mock (it never wakes a waiting fetch); a
    /// real broker answers a waiting fetch as soon as data arrives, so 500 costs nothing there.
    int fetchWaitMs = 10;
    /// The consumer's fetch.min.bytes: above 1, a real broker holds a fetch up to fetchWaitMs
    /// to gather that much (fewer fetches of all the simulator's partitions under load).
    int fetchMinBytes = 1;
    /// Wait for each answer's delivery before the next (tests: answers in order, errors seen at
    /// once); off for load (benchmarks), where answers go out like many boards' would.
    bool flushEach = true;
    /// Consumers (each with its thread and a share of the edges): one consumer per board in
    /// reality; librdkafka's work per fetch grows with the square of one client's topics.
    int consumers = 1;
  };

  /// Edges' topics are `topicPrefix` + edge id.
  EdgeSimulator(std::string bootstrap, std::vector<std::string> edges,
                std::string topicPrefix = "edge.");
  EdgeSimulator(std::string bootstrap, std::vector<std::string> edges, std::string topicPrefix,
                Tuning tuning);
  ~EdgeSimulator();
  EdgeSimulator(const EdgeSimulator&) = delete;
  EdgeSimulator& operator=(const EdgeSimulator&) = delete;

  /// Behaviour for a request type ("*": every type without its own).
  void setBehaviour(const std::string& type, Behaviour b);
  /// Sends a heartbeat / an event from an edge (body: a JSON object).
  void heartbeat(const std::string& edge, const std::string& version = "1.2.3", int interval = 60);
  void event(const std::string& edge, const std::string& type, const std::string& bodyJson);

  /// The board key edge `edge` signs its responses and events with (each edge its own, made
  /// when the simulator starts): base64, what `edges add --key` takes.
  std::string publicKey(const std::string& edge) const;

  /// Requests answered so far.
  size_t answered() const { return answered_; }
  /// Problems (a message that failed the schema, a produce error); empty when all went well.
  std::string problems() const;

 private:
  struct Shard {
    std::unique_ptr<kafka::Consumer> consumer;
    envelope::Decoder decoder;
    std::set<std::string> seen;  ///< "edge/id" answered (the shard's edges only)
    std::thread thread;
  };
  void loop(Shard& shard);
  void handle(const std::string& edge, const envelope::Envelope& req);
  void send(const std::string& edge, const envelope::Envelope& env);
  Behaviour behaviourFor(const std::string& type) const;

  std::string bootstrap_;
  std::vector<std::string> edges_;
  std::string prefix_;
  Tuning tuning_;
  std::unique_ptr<kafka::Producer> producer_;
  std::map<std::string, security::SigningKey> keys_;  ///< edge -> its board key (fixed at start)
  std::vector<std::unique_ptr<Shard>> shards_;
  mutable std::mutex mutex_;
  std::map<std::string, Behaviour> behaviours_;
  std::map<std::string, std::string> running_;  ///< edge -> start request id of its frp session
  std::string problems_;
  std::atomic<size_t> answered_{0};
  std::atomic<bool> stop_{false};
};

}  // namespace edgelink::testing
