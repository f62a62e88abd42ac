#pragma once

// Stores batches on its own thread with its own PostgreSQL connection, so that decoding the next
// batch overlaps with storing this one (on two cores the database and the dispatcher work at
// once). Jobs finish in the order they were submitted. While PostgreSQL is unreachable the job
// in hand is kept and retried (with backoff) until it is stored or the writer is told to quit;
// a batch the database refuses (a data error) is stored message by message, and a message it
// still refuses is recorded in rejected_messages, so no single row blocks a partition.
// A batch's answers to edge requests (recipient "cloud") are produced to the edges' topics once
// its transaction has committed and before the job finishes: a job is only committed (its
// offsets) once they are delivered; while Kafka refuses them they are retried like PostgreSQL.

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/sd_notify.h"
#include "db/pg.h"
#include "domain/model.h"
#include "envelope/envelope.h"
#include "ingest/store.h"
#include "kafka/client.h"
#include "observe/metrics.h"
#include "options.h"

namespace edgelink::dispatcher {

class BatchWriter {
 public:
  struct Job {
    explicit Job(const Options& options, const SignatureCheck* check = nullptr)
        : batch(options, check) {}
    Batch batch;
    std::shared_ptr<const void> payloads;  ///< keeps alive what `raws` point into (may be null)
    std::vector<RawMessage> raws;          ///< what the batch was built from (for isolation)
    bool stored = false;                   ///< false: abandoned (quitting): do not commit it
    size_t answersSent = 0;                ///< answers to edge requests delivered
  };

  /// An answer to an edge request, encoded, waiting for delivery.
  struct Outgoing {
    std::string topic;
    std::string key;
    std::string bytes;
    std::string what;     ///< for the log: "id=... type=... edge=... outcome=..."
    uint64_t opaque = 0;  ///< the delivery report's tag (unique per produce)
    bool delivered = false;
  };

  /// `metrics` (may be null: off) and `check` (may be null: answers not checked) must outlive
  /// the writer.
  BatchWriter(const Options& options, const Clock& clock, const SdNotifier& notifier,
              Metrics* metrics = nullptr, const SignatureCheck* check = nullptr);
  ~BatchWriter();
  BatchWriter(const BatchWriter&) = delete;
  BatchWriter& operator=(const BatchWriter&) = delete;

  /// Hands a job over; while one is already waiting, calls `whileWaiting` every ~50 ms, which
  /// may give up (return false): the job is then dropped, uncommitted.
  bool submit(std::unique_ptr<Job> job, const std::function<bool()>& whileWaiting);
  /// Jobs finished since the last call, in submission order.
  std::vector<std::unique_ptr<Job>> takeFinished();
  /// Waits until every submitted job finished, calling `whileWaiting` every ~50 ms (which may
  /// give up waiting by returning false).
  void drain(const std::function<bool()>& whileWaiting);
  /// Gives up retrying (jobs not yet stored finish as abandoned); the thread ends.
  void quit();

 private:
  enum class Outcome { kStored, kRefused, kQuit };
  void loop();
  /// Stores the job, then delivers its answers to edge requests: false, not to be committed.
  bool store(Job& job);
  /// Stores the job's rows (isolating what the database refuses), collecting the answers.
  bool storeRows(Job& job, std::vector<Outgoing>* answers);
  /// Stores the batch; once stored, appends its answers to edge requests to `answers`.
  Outcome writeRetrying(const Batch& batch, std::vector<Outgoing>* answers);
  /// Produces the answers and waits for their delivery, retrying what failed until delivered
  /// (true) or quitting (false).
  bool deliverRetrying(std::vector<Outgoing>& answers);
  bool deliverOnce(std::vector<Outgoing>& answers);
  bool connect();
  void backoff(int& ms);

  const Options& options_;
  const Clock& clock_;
  const SdNotifier& notifier_;
  Metrics* const metrics_;
  const SignatureCheck* const check_;
  envelope::Decoder decoder_;  // the writer thread's own (isolation re-decodes)
  Store store_;
  std::unique_ptr<pg::Connection> db_;
  bool downLogged_ = false;
  std::unique_ptr<kafka::Producer> producer_;    // created at the first answer to send
  std::vector<Outgoing>* delivering_ = nullptr;  // what the delivery reports mark
  uint64_t nextOpaque_ = 1;

  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<Job>> queue_;
  std::deque<std::unique_ptr<Job>> finished_;
  size_t inFlight_ = 0;  // submitted, not finished
  std::atomic<bool> quit_{false};
  std::thread thread_;
};

/// Several BatchWriters (each its own connection), one per lane: a partition always goes to the
/// same lane, so its messages are stored in order and two lanes never write the same edge; the
/// lanes' transactions run at once (PostgreSQL spends most of an ingest maintaining the keys'
/// indexes, on one core per connection). A lane's jobs finish, and are committed, in order.
class WriterPool {
 public:
  WriterPool(const Options& options, const Clock& clock, const SdNotifier& notifier, int lanes,
             Metrics* metrics = nullptr, const SignatureCheck* check = nullptr);

  /// Adds a message to the open job of its partition's lane. `payloads` keeps alive what the
  /// message's views point into until the job is done.
  Classified add(const RawMessage& m, envelope::Decoder& decoder, int64_t nowMs,
                 const std::shared_ptr<const void>& payloads);
  /// The batch the last add() went to.
  const Batch& lastBatch() const { return open_[last_]->batch; }
  /// Hands the open jobs to their lanes' writers (see BatchWriter::submit); false: given up.
  bool flush(const std::function<bool()>& whileWaiting);
  /// Finished jobs of every lane (each lane's in order).
  std::vector<std::unique_ptr<BatchWriter::Job>> takeFinished();
  void drain(const std::function<bool()>& whileWaiting);
  void quit();
  size_t lanes() const { return writers_.size(); }

 private:
  const Options& options_;
  const SignatureCheck* const check_;
  std::vector<std::unique_ptr<BatchWriter>> writers_;
  std::vector<std::unique_ptr<BatchWriter::Job>> open_;
  size_t last_ = 0;
};

}  // namespace edgelink::dispatcher
