#include "ingest.h"

#include <unistd.h>

#include <chrono>
#include <thread>

#include "core/logging.h"
#include "core/time_format.h"
#include "migrations.h"
#include "sessions.h"

namespace edgelink::dispatcher {
namespace {

std::shared_ptr<spdlog::logger> logger() {
  static auto l = log::get("dispatcher");
  return l;
}

std::string hostName() {
  char buf[256] = {0};
  if (::gethostname(buf, sizeof buf - 1) != 0) {
    return "unknown";
  }
  return buf;
}

}  // namespace

Ingestor::Ingestor(const Options& options, const Clock& clock)
    : options_(options),
      clock_(clock),
      decoder_(envelope::Limits{options.maxMessageBytes, 32}),
      store_(options),
      batch_(options),
      member_(hostName() + ":" + std::to_string(::getpid())) {}

Ingestor::~Ingestor() {
  shutdown();
}

bool Ingestor::connectDb() {
  auto db = pg::Connection::open(options_.pgConninfo, "cloud-dispatcher");
  if (!db) {
    if (!dbDownLogged_) {
      logger()->error("{} (retrying; offsets are not committed meanwhile)", db.error().describe());
      dbDownLogged_ = true;
    }
    return false;
  }
  if (auto r = store_.prepare(**db); !r) {
    logger()->error("preparing the staging tables: {}", r.error().describe());
    return false;
  }
  if (dbDownLogged_) {
    logger()->info("PostgreSQL is reachable again");
    dbDownLogged_ = false;
  }
  db_ = std::move(*db);
  return true;
}

VoidResult Ingestor::start() {
  auto db = pg::Connection::open(options_.pgConninfo, "cloud-dispatcher");
  if (!db) {
    return db.error();
  }
  if (auto r = checkSchema(**db); !r) {
    return r;
  }
  if (auto r = store_.prepare(**db); !r) {
    return r;
  }
  db_ = std::move(*db);
  if (auto r = db_->exec("INSERT INTO dispatcher_settings (key, value, updated_at) VALUES"
                         " ('offline_after_seconds', $1, now()) ON CONFLICT (key) DO UPDATE"
                         " SET value = EXCLUDED.value, updated_at = now()",
                         {std::to_string(options_.offlineAfterSeconds)});
      !r) {
    return r.error();
  }
  if (auto r = db_->exec(
          "INSERT INTO dispatchers (member, consumer_group, started_at, updated_at, state)"
          " VALUES ($1, $2, now(), now(), 'running') ON CONFLICT (member) DO UPDATE SET"
          " consumer_group = EXCLUDED.consumer_group, started_at = now(), updated_at = now(),"
          " assigned_partitions = 0, messages_stored = 0, state = 'running'",
          {member_, options_.consumerGroup});
      !r) {
    return r.error();
  }
  auto consumer = kafka::Consumer::create(options_.consumerConfig());
  if (!consumer) {
    return consumer.error();
  }
  consumer_ = std::move(*consumer);
  if (auto r = consumer_->subscribe({options_.effectiveTopicRegex()}); !r) {
    return r;
  }
  logger()->info("consuming {} as group {} (Kafka {}), storing into PostgreSQL; member {}",
                 options_.effectiveTopicRegex(), options_.consumerGroup, options_.kafkaBrokers,
                 member_);
  lastSweepMs_ = lastReportMs_ = clock_.monoMs();
  notifier_.ready();
  notifier_.status("consuming " + options_.effectiveTopicRegex());
  return {};
}

RawMessage Ingestor::raw(const kafka::Message& m) const {
  RawMessage r;
  r.topic = m.topic();
  r.partition = m.partition();
  r.offset = m.offset();
  r.key = m.key();
  r.payload = m.payload();
  r.kafkaTimestampMs = m.timestampMs();
  return r;
}

void Ingestor::pingWatchdog() {
  const int64_t now = clock_.monoMs();
  const int64_t interval = notifier_.watchdogIntervalMs();
  if (interval > 0 && now - lastWatchdogMs_ >= interval / 3) {
    notifier_.watchdog();
    lastWatchdogMs_ = now;
  }
}

void Ingestor::waitBackoff(int ms, const std::atomic<bool>& stop) {
  const int64_t until = clock_.monoMs() + ms;
  while (!stop && clock_.monoMs() < until) {
    pingWatchdog();
    std::this_thread::sleep_for(std::chrono::milliseconds(
        std::min<int64_t>(50, std::max<int64_t>(1, until - clock_.monoMs()))));
  }
}

Ingestor::WriteOutcome Ingestor::writeRetrying(const Batch& batch, const std::atomic<bool>& stop) {
  int backoffMs = 100;
  bool announced = false;
  for (;;) {
    if (stop) {
      return WriteOutcome::kStopped;
    }
    pingWatchdog();
    if ((!db_ || !db_->healthy()) && !connectDb()) {
      if (!announced) {
        notifier_.status("waiting for PostgreSQL");
        announced = true;
      }
      waitBackoff(backoffMs, stop);
      backoffMs = std::min(backoffMs * 2, 5000);
      continue;
    }
    auto r = store_.write(*db_, batch);
    if (r) {
      if (announced) {
        notifier_.status("consuming " + options_.effectiveTopicRegex());
      }
      return WriteOutcome::kStored;
    }
    const Error& e = r.error();
    if (e.status == Status::kBadRequest) {
      return WriteOutcome::kRefused;
    }
    if (e.status == Status::kUnavailable || !db_->healthy()) {
      if (!dbDownLogged_) {
        logger()->error("storing a batch of {} messages: {} (keeping it and retrying)",
                        batch.messages(), e.describe());
        dbDownLogged_ = true;
      }
      db_.reset();
    } else {
      logger()->error("storing a batch of {} messages: {} (retrying)", batch.messages(),
                      e.describe());
    }
    if (!announced) {
      notifier_.status("waiting for PostgreSQL");
      announced = true;
    }
    waitBackoff(backoffMs, stop);
    backoffMs = std::min(backoffMs * 2, 5000);
  }
}

bool Ingestor::storeMessages(const std::vector<kafka::Message>& messages,
                             const std::atomic<bool>& stop) {
  auto outcome = writeRetrying(batch_, stop);
  if (outcome == WriteOutcome::kStopped) {
    return false;
  }
  if (outcome == WriteOutcome::kRefused) {
    // Isolate what the database refuses: one message per transaction.
    logger()->warn("the database refused a batch of {}: storing it message by message",
                   batch_.messages());
    for (const auto& m : messages) {
      if (m.isError()) {
        continue;
      }
      RawMessage r = raw(m);
      Batch one(options_);
      one.add(r, decoder_, clock_.wallMs());
      auto single = writeRetrying(one, stop);
      if (single == WriteOutcome::kStopped) {
        return false;
      }
      if (single == WriteOutcome::kStored) {
        continue;
      }
      std::string reason = "the database refused it";
      Batch rejected(options_);
      rejected.addRejected(r, clock_.wallMs(), 500, reason);
      auto again = writeRetrying(rejected, stop);
      if (again == WriteOutcome::kStopped) {
        return false;
      }
      if (again == WriteOutcome::kRefused) {
        logger()->error(
            "{}[{}]@{}: the database refused the message and its rejection record;"
            " skipped",
            r.topic, r.partition, r.offset);
      } else {
        logger()->warn(
            "{}[{}]@{}: the database refused the message; recorded in "
            "rejected_messages",
            r.topic, r.partition, r.offset);
      }
    }
  }
  return true;
}

size_t Ingestor::step(const std::atomic<bool>& stop) {
  pingWatchdog();
  auto messages =
      consumer_->pollBatch(static_cast<size_t>(options_.batchSize), options_.batchLingerMs);
  batch_.clear();
  const int64_t now = clock_.wallMs();
  for (const auto& m : messages) {
    if (m.isError()) {
      if (!m.isPartitionEof()) {
        logger()->warn("consumer: {} ({}[{}])", m.errorText(), m.topic(), m.partition());
      }
      continue;
    }
    auto kind = batch_.add(raw(m), decoder_, now);
    if (kind == Classified::kRejected) {
      const auto& r = batch_.rejected().back();
      logger()->warn("{}[{}]@{}: rejected ({} bytes): {}{}", r.topic, r.partition, r.offset,
                     r.payloadBytes, r.field.empty() ? "" : r.field + ": ", r.reason);
    }
  }
  if (batch_.empty()) {
    housekeeping(false);
    return 0;
  }
  const int64_t t0 = clock_.monoMs();
  if (!storeMessages(messages, stop)) {
    return 0;  // stopping: nothing committed, the next owner reads it again
  }
  std::vector<kafka::TopicPartitionOffset> offsets;
  for (const auto& [tp, next] : batch_.nextOffsets()) {
    offsets.push_back({tp.first, tp.second, next});
  }
  if (auto r = consumer_->commit(offsets); !r) {
    // Stored already; whoever reads these partitions next stores them again, changing nothing.
    logger()->warn("committing offsets after storing: {}", r.error().describe());
  }
  const size_t n = batch_.messages();
  stored_ += n;
  lastBatchMs_ = clock_.wallMs();
  logger()->debug(
      "stored {} messages ({} requests, {} responses, {} events, {} heartbeats, {} "
      "rejected) in {} ms",
      n, batch_.requests().size(), batch_.responses().size(), batch_.events().size(),
      batch_.heartbeats(), batch_.rejected().size(), clock_.monoMs() - t0);
  housekeeping(false);
  return n;
}

void Ingestor::housekeeping(bool force) {
  const int64_t now = clock_.monoMs();
  bool assignmentChanged = false;
  if (consumer_ && (force || now - lastAssignmentCheckMs_ >= 500)) {
    lastAssignmentCheckMs_ = now;
    if (auto a = consumer_->assignment()) {
      if (a->size() != assigned_) {
        logger()->info("assigned {} partitions (was {})", a->size(), assigned_);
        assigned_ = a->size();
        assignmentChanged = true;
      }
    }
  }
  const bool sweepDue = now - lastSweepMs_ >= options_.sweepIntervalSeconds * 1000;
  if (!db_ || !db_->healthy()) {
    return;  // the next batch reconnects
  }
  if (sweepDue || force) {
    lastSweepMs_ = now;
    Sessions sessions(*db_, options_);
    if (auto ended = sessions.sweep(); !ended) {
      logger()->warn("session sweeper: {}", ended.error().describe());
    } else if (*ended > 0) {
      logger()->info("session sweeper ended {} sessions (expired or unanswered)", *ended);
    }
  }
  if (sweepDue || assignmentChanged || force) {
    updateMemberRow("running");
  }
  if (now - lastReportMs_ >= 60000) {
    logger()->info("stored {} messages in the last {} s ({} partitions assigned)",
                   stored_ - storedAtLastReport_, (now - lastReportMs_) / 1000, assigned_);
    lastReportMs_ = now;
    storedAtLastReport_ = stored_;
  }
}

void Ingestor::updateMemberRow(const std::string& state) {
  if (!db_ || !db_->healthy()) {
    return;
  }
  auto r = db_->exec(
      "UPDATE dispatchers SET updated_at = now(), assigned_partitions = $2,"
      " messages_stored = $3, last_batch_at = to_timestamp(NULLIF($4, '0')::bigint / 1000.0),"
      " state = $5 WHERE member = $1",
      {member_, std::to_string(assigned_), std::to_string(stored_), std::to_string(lastBatchMs_),
       state});
  if (!r) {
    logger()->warn("updating the dispatchers row: {}", r.error().describe());
  }
}

void Ingestor::run(const std::atomic<bool>& stop) {
  while (!stop) {
    step(stop);
  }
  shutdown();
}

void Ingestor::shutdown() {
  if (consumer_) {
    notifier_.stopping();
    logger()->info("leaving the consumer group ({} messages stored)", stored_);
    consumer_->close();
    consumer_.reset();
    updateMemberRow("stopped");
  }
}

}  // namespace edgelink::dispatcher
