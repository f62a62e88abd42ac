#include "ingest/ingest.h"

#include <unistd.h>

#include <chrono>

#include "config/cli_config.h"
#include "core/logging.h"
#include "db/migrations.h"
#include "domain/audit.h"
#include "domain/sessions.h"
#include "ingest/store.h"
#include "observe/db_gauges.h"

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

RawMessage rawOf(const kafka::Message& m) {
  RawMessage r;
  r.topic = m.topic();
  r.partition = m.partition();
  r.offset = m.offset();
  r.key = m.key();
  r.payload = m.payload();
  r.kafkaTimestampMs = m.timestampMs();
  for (auto& [name, value] : m.headers()) {
    if (name == security::kKeyIdHeader) {
      r.signature.keyIds.push_back(std::move(value));
    } else if (name == security::kSignatureHeader) {
      r.signature.signatures.push_back(std::move(value));
    }
  }
  return r;
}

}  // namespace

// ---- one consumer ---------------------------------------------------------------------------

ConsumerLoop::ConsumerLoop(const Options& options, const Clock& clock, const SdNotifier& notifier,
                           int index, int lanes, Metrics* metrics, const std::atomic<bool>* stop)
    : options_(options),
      clock_(clock),
      index_(index),
      measureLag_(metrics != nullptr),
      decoder_(envelope::Limits{options.maxMessageBytes, 32}),
      keys_(std::make_unique<EdgeKeyCache>(options, clock, stop)),
      writers_(
          std::make_unique<WriterPool>(options, clock, notifier, lanes, metrics, keys_.get())) {}

ConsumerLoop::~ConsumerLoop() {
  join();
  shutdown();
}

VoidResult ConsumerLoop::start() {
  kafka::Config config = options_.consumerConfig();
  if (options_.consumers > 1) {
    config.set("client.id", config.get("client.id") + "-" + std::to_string(index_));
  }
  auto consumer = kafka::Consumer::create(config);
  if (!consumer) {
    return consumer.error();
  }
  consumer_ = std::move(*consumer);
  alive_ = clock_.monoMs();
  return consumer_->subscribe({options_.effectiveTopicRegex()});
}

size_t ConsumerLoop::commitFinished() {
  size_t committed = 0;
  for (auto& job : writers_->takeFinished()) {
    if (!job->stored || failedJob_) {
      // Abandoned (quitting while PostgreSQL was down): neither it nor anything after it is
      // committed; whoever reads these partitions next stores them.
      failedJob_ = true;
      continue;
    }
    std::vector<kafka::TopicPartitionOffset> offsets;
    for (const auto& [tp, next] : job->batch.nextOffsets()) {
      offsets.push_back({tp.first, tp.second, next});
    }
    if (auto r = consumer_->commit(offsets); !r) {
      // Stored already; whoever reads these partitions next stores them again, changing nothing.
      logger()->warn("committing offsets after storing: {}", r.error().describe());
    }
    committed += job->batch.messages();
    logger()->debug(
        "stored {} messages ({} requests, {} responses, {} events, {} heartbeats, {} "
        "rejected, {} edge requests answered, {} own answers skipped)",
        job->batch.messages(), job->batch.requests().size(), job->batch.responses().size(),
        job->batch.events().size(), job->batch.heartbeats(), job->batch.rejected().size(),
        job->answersSent, job->batch.ownAnswers());
  }
  stored_ += committed;
  return committed;
}

size_t ConsumerLoop::step(const std::atomic<bool>* stop) {
  alive_ = clock_.monoMs();
  size_t committed = commitFinished();
  auto messages = std::make_shared<std::vector<kafka::Message>>(
      consumer_->pollBatch(static_cast<size_t>(options_.batchSize), options_.batchLingerMs));
  const int64_t now = clock_.wallMs();
  if (!messages->empty()) {
    keys_->refreshIfChanged();
  }
  bool any = false;
  for (const auto& m : *messages) {
    if (m.isError()) {
      if (!m.isPartitionEof()) {
        logger()->warn("consumer: {} ({}[{}])", m.errorText(), m.topic(), m.partition());
      }
      continue;
    }
    any = true;
    if (writers_->add(rawOf(m), decoder_, now, messages) == Classified::kRejected) {
      const auto& r = writers_->lastBatch().rejected().back();
      logger()->warn("{}[{}]@{}: rejected ({} bytes): {}{}", r.topic, r.partition, r.offset,
                     r.payloadBytes, r.field.empty() ? "" : r.field + ": ", r.reason);
    }
  }
  if (any) {
    const bool submitted = writers_->flush([this, &committed, stop] {
      alive_ = clock_.monoMs();  // waiting for PostgreSQL is not hanging
      committed += commitFinished();
      return stop == nullptr || !*stop;
    });
    if (!submitted) {
      failedJob_ = true;  // stopping while a writer is stuck: nothing after this commits
    }
  }
  committed += commitFinished();
  const int64_t mono = clock_.monoMs();
  if (mono - lastAssignmentCheckMs_ >= 500) {
    lastAssignmentCheckMs_ = mono;
    if (auto a = consumer_->assignment()) {
      assigned_ = a->size();
    }
    rebalances_ = consumer_->rebalances();
  }
  if (measureLag_ && mono - lastLagCheckMs_ >= 2000) {
    lastLagCheckMs_ = mono;
    lag_ = consumer_->lag();
  }
  return committed;
}

void ConsumerLoop::runThread(const std::atomic<bool>& stop) {
  thread_ = std::thread([this, &stop] {
    while (!stop) {
      step(&stop);
    }
  });
}

void ConsumerLoop::join() {
  if (thread_.joinable()) {
    thread_.join();
  }
}

void ConsumerLoop::shutdown() {
  if (!consumer_) {
    return;
  }
  if (writers_) {
    // One more attempt for what is in flight, no retries: then commit what got stored.
    writers_->quit();
    writers_->drain([] { return true; });
    commitFinished();
    writers_.reset();
  }
  consumer_->close();  // bounded; says so itself when Kafka does not answer
  consumer_.reset();
}

// ---- the dispatcher ---------------------------------------------------------------------------

Ingestor::Ingestor(const Options& options, const Clock& clock, Observer observer)
    : options_(options),
      clock_(clock),
      observer_(observer),
      member_(hostName() + ":" + std::to_string(::getpid())) {}

Ingestor::~Ingestor() {
  shutdown();
}

VoidResult Ingestor::start() {
  auto db = pg::Connection::open(options_.pgConninfo, "cloud-dispatcher");
  if (!db) {
    return db.error();
  }
  if (auto r = checkSchema(**db); !r) {
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
  const int lanes = std::max(1, options_.writers / options_.consumers);
  for (int i = 0; i < options_.consumers; ++i) {
    loops_.push_back(std::make_unique<ConsumerLoop>(options_, clock_, notifier_, i, lanes,
                                                    observer_.metrics, &stopLoops_));
    if (auto r = loops_.back()->start(); !r) {
      return r;
    }
  }
  logger()->info(
      "consuming {} as group {} ({} consumers, {} PostgreSQL writers each; Kafka {}, cluster "
      "'{}'); member {}",
      options_.effectiveTopicRegex(), options_.consumerGroup, options_.consumers, lanes,
      options_.kafkaBrokers, options_.kafkaCluster, member_);
  lastSweepMs_ = lastReportMs_ = lastStoredChangeMs_ = clock_.monoMs();
  if (observer_.health != nullptr) {
    observer_.health->databaseReachable = true;  // checkSchema() just read it
    observer_.health->schemaCurrent = true;
  }
  notifier_.ready();
  notifier_.status("consuming " + options_.effectiveTopicRegex());
  return {};
}

uint64_t Ingestor::messagesStored() const {
  uint64_t n = 0;
  for (const auto& l : loops_) {
    n += l->stored();
  }
  return n;
}

size_t Ingestor::assignedPartitions() const {
  size_t n = 0;
  for (const auto& l : loops_) {
    n += l->assigned();
  }
  return n;
}

void Ingestor::pingWatchdog() {
  const int64_t now = clock_.monoMs();
  const int64_t interval = notifier_.watchdogIntervalMs();
  if (interval <= 0 || now - lastWatchdogMs_ < interval / 3) {
    return;
  }
  for (const auto& l : loops_) {
    if (now - l->aliveMs() > interval / 2) {
      return;  // a consumer loop is stuck: let systemd restart us
    }
  }
  notifier_.watchdog();
  lastWatchdogMs_ = now;
}

bool Ingestor::housekeepingDb() {
  if (db_ && db_->healthy()) {
    return true;
  }
  const int64_t now = clock_.monoMs();
  if (now - lastDbAttemptMs_ < 5000) {
    return false;  // the writers report outages; do not hammer the server from here too
  }
  lastDbAttemptMs_ = now;
  auto db = pg::Connection::open(options_.pgConninfo, "cloud-dispatcher");
  if (!db) {
    db_.reset();
    return false;
  }
  db_ = std::move(*db);
  return true;
}

void Ingestor::housekeeping(bool force) {
  const int64_t now = clock_.monoMs();
  const size_t assigned = assignedPartitions();
  const bool assignmentChanged = assigned != assignedLogged_;
  if (assignmentChanged) {
    std::string split;
    for (const auto& l : loops_) {
      split += (split.empty() ? "" : "+") + std::to_string(l->assigned());
    }
    logger()->info("assigned {} partitions (was {}){}", assigned, assignedLogged_,
                   loops_.size() > 1 ? " across consumers " + split : std::string());
    assignedLogged_ = assigned;
  }
  const uint64_t stored = messagesStored();
  if (stored != lastStoredSeen_) {
    lastStoredSeen_ = stored;
    lastStoredChangeMs_ = clock_.wallMs();
  }
  const bool sweepDue = now - lastSweepMs_ >= options_.sweepIntervalSeconds * 1000;
  if ((sweepDue || assignmentChanged || force) && housekeepingDb()) {
    if (sweepDue || force) {
      lastSweepMs_ = now;
      if (auto t = sweepTimeouts(*db_); !t) {
        logger()->warn("timeout sweeper: {}", t.error().describe());
      } else if (t->timedOut > 0) {
        logger()->info("timeout sweeper: {} requests reached their deadline unanswered (timeout)",
                       t->timedOut);
        if (observer_.metrics != nullptr) {
          observer_.metrics->timedOut(t->timedOutByType);
        }
      }
      Sessions sessions(*db_, options_);
      SessionTally tally;
      sessions.countInto(&tally);
      if (auto ended = sessions.sweep(); !ended) {
        logger()->warn("session sweeper: {}", ended.error().describe());
      } else if (*ended > 0) {
        logger()->info("session sweeper ended {} sessions (expired or unanswered)", *ended);
        if (observer_.metrics != nullptr) {
          observer_.metrics->sessions(tally);
        }
      }
      // The audit trail's retention: at most one batch per sweep (a backlog drains over sweeps).
      if (auto pruned = pruneAudit(*db_, options_.auditRetentionSeconds, kAuditPruneBatch);
          !pruned) {
        logger()->warn("audit retention: {}", pruned.error().describe());
      } else if (*pruned > 0) {
        logger()->info("audit retention: deleted {} audit rows older than {}", *pruned,
                       config::durationText(options_.auditRetentionSeconds));
      }
    }
    updateMemberRow("running");
  }
  if (now - lastReportMs_ >= 60000) {
    logger()->info("stored {} messages in the last {} s ({} partitions assigned)",
                   stored - storedAtLastReport_, (now - lastReportMs_) / 1000, assigned);
    lastReportMs_ = now;
    storedAtLastReport_ = stored;
  }
}

void Ingestor::observe() {
  Health* health = observer_.health;
  Metrics* metrics = observer_.metrics;
  if (health == nullptr || metrics == nullptr) {
    return;
  }
  health->assignedPartitions = static_cast<int64_t>(assignedPartitions());
  int64_t lag = 0;
  int64_t rebalances = 0;
  for (const auto& l : loops_) {
    lag += l->lag();
    rebalances += l->rebalances();
  }
  metrics->consumerLag(lag);
  if (rebalances > rebalancesSeen_) {
    metrics->rebalances(rebalances - rebalancesSeen_);
    rebalancesSeen_ = rebalances;
  }
  const int64_t now = clock_.monoMs();
  if (lastGaugesMs_ == 0 || now - lastGaugesMs_ >= options_.metricsIntervalSeconds * 1000) {
    lastGaugesMs_ = now;
    auto snapshot = housekeepingDb() ? readDbGauges(*db_) : Result<DbSnapshot>(Error());
    health->databaseReachable = snapshot.ok();
    if (snapshot) {
      health->schemaCurrent = snapshot->schemaVersion == latestSchemaVersion();
      metrics->dbGauges(snapshot->gauges);
    }
  }
  metrics->ready(health->ready());
}

void Ingestor::updateMemberRow(const std::string& state) {
  if (!db_ || !db_->healthy()) {
    return;
  }
  const int64_t lastBatch = lastStoredSeen_ > 0 ? lastStoredChangeMs_ : 0;
  auto r = db_->exec(
      "UPDATE dispatchers SET updated_at = now(), assigned_partitions = $2,"
      " messages_stored = $3, last_batch_at = to_timestamp(NULLIF($4, '0')::bigint / 1000.0),"
      " state = $5 WHERE member = $1",
      {member_, std::to_string(assignedPartitions()), std::to_string(messagesStored()),
       std::to_string(lastBatch), state});
  if (!r) {
    logger()->warn("updating the dispatchers row: {}", r.error().describe());
  }
}

void Ingestor::run(const std::atomic<bool>& stop) {
  for (auto& l : loops_) {
    l->runThread(stopLoops_);
  }
  while (!stop) {
    pingWatchdog();
    housekeeping(false);
    observe();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  shutdown();
}

void Ingestor::shutdown() {
  if (loops_.empty()) {
    return;
  }
  notifier_.stopping();
  stopLoops_ = true;
  if (observer_.health != nullptr) {
    observer_.health->assignedPartitions = 0;  // leaving the group: not ready any more
  }
  if (observer_.metrics != nullptr) {
    observer_.metrics->ready(false);
  }
  for (auto& l : loops_) {
    l->join();
  }
  for (auto& l : loops_) {
    l->shutdown();
  }
  logger()->info("left the consumer group ({} messages stored)", messagesStored());
  if (housekeepingDb()) {
    updateMemberRow("stopped");
  }
  loops_.clear();
}

}  // namespace edgelink::dispatcher
