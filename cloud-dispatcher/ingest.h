#pragma once

// The daemon's loop: consume every edge topic (regex subscription, one consumer group), store
// each batch in one PostgreSQL transaction, and only then commit the batch's offsets. While
// PostgreSQL is unreachable the batch is kept and retried (nothing is committed, nothing skipped);
// a batch the database refuses is stored message by message so one bad row cannot block a
// partition. Between batches: the watchdog ping, the session sweeper, the dispatchers row.

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
#include "model.h"
#include "options.h"
#include "pg.h"
#include "store.h"

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
  /// Runs until `stop` becomes true, then leaves the consumer group cleanly.
  void run(const std::atomic<bool>& stop);
  /// One poll-store-commit round (benchmarks drive the loop themselves). Returns the number of
  /// messages stored.
  size_t step(const std::atomic<bool>& stop);
  /// Leaves the consumer group and marks this dispatcher stopped.
  void shutdown();

  uint64_t messagesStored() const { return stored_; }
  size_t assignedPartitions() const { return assigned_; }
  /// "host:pid", this dispatcher's row in `dispatchers`.
  const std::string& member() const { return member_; }

 private:
  enum class WriteOutcome { kStored, kRefused, kStopped };
  WriteOutcome writeRetrying(const Batch& batch, const std::atomic<bool>& stop);
  bool storeMessages(const std::vector<kafka::Message>& messages, const std::atomic<bool>& stop);
  bool connectDb();
  void housekeeping(bool force);
  void updateMemberRow(const std::string& state);
  void waitBackoff(int ms, const std::atomic<bool>& stop);
  void pingWatchdog();
  RawMessage raw(const kafka::Message& m) const;

  const Options& options_;
  const Clock& clock_;
  SdNotifier notifier_;
  envelope::Decoder decoder_;
  Store store_;
  Batch batch_;
  std::unique_ptr<pg::Connection> db_;
  std::unique_ptr<kafka::Consumer> consumer_;
  std::string member_;
  uint64_t stored_ = 0;
  size_t assigned_ = 0;
  int64_t lastWatchdogMs_ = 0;
  int64_t lastSweepMs_ = 0;
  int64_t lastAssignmentCheckMs_ = 0;
  int64_t lastReportMs_ = 0;
  uint64_t storedAtLastReport_ = 0;
  int64_t lastBatchMs_ = 0;
  bool dbDownLogged_ = false;
};

}  // namespace edgelink::dispatcher
