#pragma once

// The daemon's loop: consume every edge topic (regex subscription, one consumer group), decode
// each batch and hand it to the BatchWriter, which stores it in one PostgreSQL transaction on its
// own thread; a batch's offsets are committed only once the writer reports it stored. Between
// batches: the watchdog ping, the session sweeper, this dispatcher's row in `dispatchers`.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "core/sd_notify.h"
#include "envelope/envelope.h"
#include "kafka/client.h"
#include "options.h"
#include "pg.h"
#include "writer.h"

namespace edgelink::dispatcher {

class Ingestor {
 public:
  Ingestor(const Options& options, const Clock& clock);
  ~Ingestor();
  Ingestor(const Ingestor&) = delete;
  Ingestor& operator=(const Ingestor&) = delete;

  /// Connects to PostgreSQL (refusing an unmigrated database: kConflict; unreachable:
  /// kUnavailable), records this dispatcher, creates the consumer and subscribes.
  VoidResult start();
  /// Runs until `stop` becomes true, then stores what it holds and leaves the group cleanly.
  void run(const std::atomic<bool>& stop);
  /// One round: poll a batch, decode it, hand it to the writer, commit what the writer stored.
  /// Returns the number of messages whose offsets were committed in this round.
  size_t step();
  /// Stores what is in flight (one attempt), commits it, leaves the consumer group and marks
  /// this dispatcher stopped.
  void shutdown();

  uint64_t messagesStored() const { return stored_; }
  size_t assignedPartitions() const { return assigned_; }
  /// "host:pid", this dispatcher's row in `dispatchers`.
  const std::string& member() const { return member_; }

 private:
  size_t commitFinished();
  void housekeeping(bool force);
  void updateMemberRow(const std::string& state);
  bool housekeepingDb();
  void pingWatchdog();

  const Options& options_;
  const Clock& clock_;
  SdNotifier notifier_;
  envelope::Decoder decoder_;
  std::unique_ptr<kafka::Consumer> consumer_;
  std::unique_ptr<WriterPool> writers_;
  std::unique_ptr<pg::Connection> db_;  // housekeeping (the writer has its own)
  std::string member_;
  uint64_t stored_ = 0;
  size_t assigned_ = 0;
  bool failedJob_ = false;
  const std::atomic<bool>* stop_ = nullptr;  // set by run()
  int64_t lastWatchdogMs_ = 0;
  int64_t lastSweepMs_ = 0;
  int64_t lastAssignmentCheckMs_ = 0;
  int64_t lastReportMs_ = 0;
  int64_t lastDbAttemptMs_ = 0;
  uint64_t storedAtLastReport_ = 0;
  int64_t lastBatchMs_ = 0;
};

}  // namespace edgelink::dispatcher
