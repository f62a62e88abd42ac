#pragma once

// The daemon's loop. Consumers (one or more, all in the dispatchers' consumer group, subscribed
// with the edge regex) run on their own threads: each polls a batch, decodes it and hands it to
// its WriterPool, which stores it in PostgreSQL transactions on writer threads; a batch's offsets
// are committed only once it is stored. Several consumers in one process split the partitions
// the way several dispatchers do: librdkafka's work per fetch grows with the square of the topics
// one client holds, so a fleet of 10,000 one-partition topics is far cheaper as 4 x 2,500.
// The main thread does the rest: the watchdog ping (only while every consumer loop is alive), the
// session sweeper, this dispatcher's row in `dispatchers`.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "core/sd_notify.h"
#include "db/pg.h"
#include "envelope/envelope.h"
#include "ingest/edge_keys.h"
#include "ingest/writer.h"
#include "kafka/client.h"
#include "observe/health.h"
#include "observe/metrics.h"
#include "options.h"

namespace edgelink::dispatcher {

/// One consumer with its writers.
class ConsumerLoop {
 public:
  /// `stop` (may be null) ends waits on the database for the edges' keys.
  ConsumerLoop(const Options& options, const Clock& clock, const SdNotifier& notifier, int index,
               int lanes, Metrics* metrics = nullptr, const std::atomic<bool>* stop = nullptr);
  ~ConsumerLoop();
  ConsumerLoop(const ConsumerLoop&) = delete;
  ConsumerLoop& operator=(const ConsumerLoop&) = delete;

  /// Creates the consumer and subscribes.
  VoidResult start();
  /// One round: poll a batch, decode it, hand it to the writers, commit what they stored.
  /// Returns how many messages were committed in this round.
  size_t step(const std::atomic<bool>* stop);
  /// Runs step() until `stop` on its own thread.
  void runThread(const std::atomic<bool>& stop);
  void join();
  /// Stores what is in flight (one attempt each), commits it and leaves the group.
  void shutdown();

  uint64_t stored() const { return stored_; }
  size_t assigned() const { return assigned_; }
  /// Monotonic ms of the loop's last sign of life.
  int64_t aliveMs() const { return alive_; }
  /// Messages behind on its partitions (measured every few seconds; metrics on only).
  int64_t lag() const { return lag_; }
  /// Assignments its consumer received.
  int64_t rebalances() const { return rebalances_; }

 private:
  size_t commitFinished();

  const Options& options_;
  const Clock& clock_;
  const int index_;
  const bool measureLag_;
  envelope::Decoder decoder_;
  std::unique_ptr<EdgeKeyCache> keys_;  // before the writers, which use it
  std::unique_ptr<kafka::Consumer> consumer_;
  std::unique_ptr<WriterPool> writers_;
  std::thread thread_;
  std::atomic<uint64_t> stored_{0};
  std::atomic<size_t> assigned_{0};
  std::atomic<int64_t> alive_{0};
  std::atomic<int64_t> lag_{0};
  std::atomic<int64_t> rebalances_{0};
  int64_t lastAssignmentCheckMs_ = 0;
  int64_t lastLagCheckMs_ = 0;
  bool failedJob_ = false;
};

/// What the daemon reports to when metrics-listen is set (both null: off).
struct Observer {
  Metrics* metrics = nullptr;
  Health* health = nullptr;
};

class Ingestor {
 public:
  Ingestor(const Options& options, const Clock& clock, Observer observer = {});
  ~Ingestor();
  Ingestor(const Ingestor&) = delete;
  Ingestor& operator=(const Ingestor&) = delete;

  /// Connects to PostgreSQL (refusing an unmigrated database: kConflict; unreachable:
  /// kUnavailable), records this dispatcher, creates the consumers and subscribes.
  VoidResult start();
  /// Runs until `stop` becomes true, then stores what it holds and leaves the group cleanly.
  void run(const std::atomic<bool>& stop);
  /// Stops the consumers' threads (if running) and shuts everything down.
  void shutdown();

  uint64_t messagesStored() const;
  size_t assignedPartitions() const;
  /// "host:pid", this dispatcher's row in `dispatchers`.
  const std::string& member() const { return member_; }

 private:
  void housekeeping(bool force);
  void updateMemberRow(const std::string& state);
  bool housekeepingDb();
  void pingWatchdog();
  /// Metrics and readiness: the database gauges every metrics-interval, the consumers' lag,
  /// rebalances and assignment.
  void observe();

  const Options& options_;
  const Clock& clock_;
  SdNotifier notifier_;
  Observer observer_;
  int64_t lastGaugesMs_ = 0;
  int64_t rebalancesSeen_ = 0;
  std::vector<std::unique_ptr<ConsumerLoop>> loops_;
  std::unique_ptr<pg::Connection> db_;  // housekeeping (the writers have their own)
  std::string member_;
  std::atomic<bool> stopLoops_{false};
  size_t assignedLogged_ = 0;
  int64_t lastWatchdogMs_ = 0;
  int64_t lastSweepMs_ = 0;
  int64_t lastReportMs_ = 0;
  int64_t lastDbAttemptMs_ = 0;
  uint64_t storedAtLastReport_ = 0;
  int64_t lastStoredChangeMs_ = 0;
  uint64_t lastStoredSeen_ = 0;
};

}  // namespace edgelink::dispatcher
