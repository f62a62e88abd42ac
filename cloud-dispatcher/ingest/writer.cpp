#include "ingest/writer.h"

#include <chrono>

#include "core/logging.h"

namespace edgelink::dispatcher {
namespace {

std::shared_ptr<spdlog::logger> logger() {
  static auto l = log::get("db");
  return l;
}

/// The dispatcher's line per request handled: each answer stored (info) and each request
/// (debug), with the request's id as id=, so one grep follows a request from publish (the CLI's
/// "published request id=...") through the edge's log to its stored answer. No ms: a batch is
/// stored as one transaction (edgelink_pg_transaction_seconds times it; the round trip is
/// edgelink_request_round_trip_seconds).
void logStored(const Batch& batch) {
  auto l = logger();
  if (l->should_log(spdlog::level::debug)) {
    for (const RequestRow& q : batch.requests()) {
      l->debug("request id={} type={} from={} edge={} stored", q.id, q.type, q.sender, q.edgeId);
    }
  }
  if (l->should_log(spdlog::level::info)) {
    for (const ResponseRow& a : batch.responses()) {
      l->info("answer id={} type={} from={} edge={} outcome={} stored", a.id,
              a.type.empty() ? "-" : a.type, a.sender, a.edgeId, a.statusCode);
    }
  }
}

}  // namespace

BatchWriter::BatchWriter(const Options& options, const Clock& clock, const SdNotifier& notifier,
                         Metrics* metrics, const SignatureCheck* check)
    : options_(options),
      clock_(clock),
      notifier_(notifier),
      metrics_(metrics),
      check_(check),
      decoder_(envelope::Limits{options.maxMessageBytes, 32}),
      store_(options, metrics != nullptr) {
  thread_ = std::thread([this] { loop(); });
}

BatchWriter::~BatchWriter() {
  quit();
  if (thread_.joinable()) {
    thread_.join();
  }
}

void BatchWriter::quit() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    quit_ = true;
  }
  cv_.notify_all();
}

bool BatchWriter::submit(std::unique_ptr<Job> job, const std::function<bool()>& whileWaiting) {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!queue_.empty()) {
    cv_.wait_for(lock, std::chrono::milliseconds(50));
    if (!queue_.empty()) {
      lock.unlock();
      const bool keepWaiting = whileWaiting();
      lock.lock();
      if (!keepWaiting) {
        return false;
      }
    }
  }
  queue_.push_back(std::move(job));
  ++inFlight_;
  cv_.notify_all();
  return true;
}

std::vector<std::unique_ptr<BatchWriter::Job>> BatchWriter::takeFinished() {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::unique_ptr<Job>> out;
  while (!finished_.empty()) {
    out.push_back(std::move(finished_.front()));
    finished_.pop_front();
  }
  return out;
}

void BatchWriter::drain(const std::function<bool()>& whileWaiting) {
  std::unique_lock<std::mutex> lock(mutex_);
  while (inFlight_ > 0) {
    cv_.wait_for(lock, std::chrono::milliseconds(50));
    lock.unlock();
    const bool keepWaiting = whileWaiting();
    lock.lock();
    if (!keepWaiting) {
      return;
    }
  }
}

void BatchWriter::loop() {
  for (;;) {
    std::unique_ptr<Job> job;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      cv_.wait(lock, [this] { return !queue_.empty() || quit_; });
      if (queue_.empty()) {
        return;  // quitting with nothing to do
      }
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    cv_.notify_all();  // room for the next submit while this one is stored
    job->stored = store(*job);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      finished_.push_back(std::move(job));
      --inFlight_;
    }
    cv_.notify_all();
  }
}

bool BatchWriter::connect() {
  auto db = pg::Connection::open(options_.pgConninfo, "cloud-dispatcher");
  if (!db) {
    if (!downLogged_) {
      logger()->error("{} (retrying; offsets are not committed meanwhile)", db.error().describe());
      downLogged_ = true;
    }
    return false;
  }
  if (auto r = store_.prepare(**db); !r) {
    logger()->error("preparing the staging tables: {}", r.error().describe());
    return false;
  }
  if (downLogged_) {
    logger()->info("PostgreSQL is reachable again");
    downLogged_ = false;
  }
  db_ = std::move(*db);
  return true;
}

void BatchWriter::backoff(int& ms) {
  const int64_t until = clock_.monoMs() + ms;
  while (!quit_ && clock_.monoMs() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ms = std::min(ms * 2, 5000);
}

BatchWriter::Outcome BatchWriter::writeRetrying(const Batch& batch,
                                                std::vector<Outgoing>* answers) {
  int backoffMs = 100;
  bool announced = false;
  // One attempt even when quitting (a clean stop stores what it holds); retries only while not.
  for (int attempt = 0;; ++attempt) {
    if (attempt > 0) {
      if (quit_) {
        return Outcome::kQuit;
      }
      if (!announced) {
        notifier_.status("waiting for PostgreSQL");
        announced = true;
      }
      backoff(backoffMs);
    }
    if ((!db_ || !db_->healthy()) && !connect()) {
      continue;
    }
    const auto began = std::chrono::steady_clock::now();
    auto r = store_.write(*db_, batch);
    if (metrics_ != nullptr) {
      if (r) {
        const std::chrono::duration<double> took = std::chrono::steady_clock::now() - began;
        metrics_->batchStored(batch, r->facts, took.count(), clock_.wallMs());
      } else {
        metrics_->batchFailed();
      }
    }
    if (r) {
      logStored(batch);
      for (const EdgeAnswered& a : r->edgeAnswers) {
        const EdgeRequestRow& q = batch.edgeRequests()[a.index];
        Outgoing out;
        out.topic = q.topic;
        out.key = q.edgeId;
        out.bytes = encodeEdgeAnswer(q, a.statusCode, a.bodyJson, options_.sender, clock_.wallMs());
        out.what = "id=" + q.id + " type=" + q.type + " from=" + q.sender + " edge=" + q.edgeId +
                   " outcome=" + std::to_string(a.statusCode) +
                   (a.redelivered ? " (redelivered: the stored answer)" : "");
        answers->push_back(std::move(out));
      }
      if (announced) {
        notifier_.status("consuming " + options_.effectiveTopicRegex());
      }
      if (r->redelivered) {
        logger()->info(
            "a batch of {} messages held rows stored before (redelivery): kept the "
            "stored ones",
            batch.messages());
      }
      return Outcome::kStored;
    }
    const Error& e = r.error();
    if (e.status == Status::kBadRequest) {
      logger()->warn("the database refused a batch of {} messages: {}", batch.messages(),
                     e.describe());
      return Outcome::kRefused;
    }
    if (e.status == Status::kUnavailable || !db_->healthy()) {
      if (!downLogged_) {
        logger()->error("storing a batch of {} messages: {} (keeping it and retrying)",
                        batch.messages(), e.describe());
        downLogged_ = true;
      }
      db_.reset();
    } else {
      logger()->error("storing a batch of {} messages: {} (retrying)", batch.messages(),
                      e.describe());
    }
  }
}

bool BatchWriter::deliverOnce(std::vector<Outgoing>& answers) {
  if (!producer_) {
    auto p =
        kafka::Producer::create(options_.producerConfig(), [this](const kafka::DeliveryReport& r) {
          if (delivering_ == nullptr || r.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            return;
          }
          for (auto& o : *delivering_) {
            if (o.opaque == r.opaque) {
              o.delivered = true;
            }
          }
        });
    if (!p) {
      logger()->error("creating the producer for the answers to edge requests: {}",
                      p.error().describe());
      return false;
    }
    producer_ = std::move(*p);
  }
  delivering_ = &answers;
  for (auto& o : answers) {
    if (o.delivered) {
      continue;
    }
    o.opaque = nextOpaque_++;  // a late report of an earlier attempt marks nothing
    if (auto r = producer_->produce(o.topic, o.key, o.bytes, o.opaque); !r) {
      logger()->warn("answer {}: producing to {}: {}", o.what, o.topic, r.error().describe());
    }
  }
  (void)producer_->flush(static_cast<int>(options_.kafkaTimeoutSeconds * 1000) + 1000);
  delivering_ = nullptr;
  bool all = true;
  for (const auto& o : answers) {
    all = all && o.delivered;
  }
  return all;
}

bool BatchWriter::deliverRetrying(std::vector<Outgoing>& answers) {
  int backoffMs = 100;
  for (int attempt = 0;; ++attempt) {
    if (attempt > 0) {
      if (quit_) {
        logger()->warn(
            "quitting with answers to edge requests undelivered: their offsets are not "
            "committed (the requests will be answered again)");
        return false;
      }
      backoff(backoffMs);
    }
    if (deliverOnce(answers)) {
      for (const auto& o : answers) {
        logger()->info("answer {} sent to {}", o.what, o.topic);
      }
      if (metrics_ != nullptr) {
        metrics_->edgeAnswersDelivered(answers.size());
      }
      return true;
    }
    if (metrics_ != nullptr) {
      metrics_->edgeAnswersRetried();
    }
    if (attempt == 0) {
      logger()->error(
          "delivering answers to edge requests to Kafka at {} failed (retrying; "
          "offsets are not committed meanwhile)",
          options_.kafkaBrokers);
    }
  }
}

bool BatchWriter::store(Job& job) {
  std::vector<Outgoing> answers;
  if (!storeRows(job, &answers)) {
    return false;
  }
  if (answers.empty()) {
    return true;
  }
  if (!deliverRetrying(answers)) {
    return false;
  }
  job.answersSent = answers.size();
  return true;
}

bool BatchWriter::storeRows(Job& job, std::vector<Outgoing>* answers) {
  auto outcome = writeRetrying(job.batch, answers);
  if (outcome != Outcome::kRefused) {
    return outcome == Outcome::kStored;
  }
  // Isolate what the database refuses: one message per transaction.
  for (const auto& r : job.raws) {
    Batch one(options_, check_);
    one.add(r, decoder_, clock_.wallMs());
    auto single = writeRetrying(one, answers);
    if (single == Outcome::kQuit) {
      return false;
    }
    if (single == Outcome::kStored) {
      continue;
    }
    Batch rejected(options_);
    rejected.addRejected(r, clock_.wallMs(), 500, "the database refused it");
    auto again = writeRetrying(rejected, answers);
    if (again == Outcome::kQuit) {
      return false;
    }
    if (again == Outcome::kRefused) {
      logger()->error(
          "{}[{}]@{}: the database refused the message and its rejection record;"
          " skipped",
          r.topic, r.partition, r.offset);
    } else {
      logger()->warn("{}[{}]@{}: the database refused the message; recorded in rejected_messages",
                     r.topic, r.partition, r.offset);
    }
  }
  return true;
}

}  // namespace edgelink::dispatcher

namespace edgelink::dispatcher {

WriterPool::WriterPool(const Options& options, const Clock& clock, const SdNotifier& notifier,
                       int lanes, Metrics* metrics, const SignatureCheck* check)
    : options_(options), check_(check) {
  for (int i = 0; i < std::max(1, lanes); ++i) {
    writers_.push_back(std::make_unique<BatchWriter>(options, clock, notifier, metrics, check));
    open_.push_back(std::make_unique<BatchWriter::Job>(options, check));
  }
}

Classified WriterPool::add(const RawMessage& m, envelope::Decoder& decoder, int64_t nowMs,
                           const std::shared_ptr<const void>& payloads) {
  last_ = (std::hash<std::string>()(m.topic) + static_cast<size_t>(m.partition)) % open_.size();
  BatchWriter::Job& job = *open_[last_];
  if (payloads && job.payloads != payloads) {
    // A job only holds messages of one poll (flush() follows every poll).
    job.payloads = payloads;
  }
  job.raws.push_back(m);
  return job.batch.add(job.raws.back(), decoder, nowMs);
}

bool WriterPool::flush(const std::function<bool()>& whileWaiting) {
  for (size_t i = 0; i < open_.size(); ++i) {
    if (open_[i]->batch.empty()) {
      continue;
    }
    auto job = std::move(open_[i]);
    open_[i] = std::make_unique<BatchWriter::Job>(options_, check_);
    if (!writers_[i]->submit(std::move(job), whileWaiting)) {
      return false;
    }
  }
  return true;
}

std::vector<std::unique_ptr<BatchWriter::Job>> WriterPool::takeFinished() {
  std::vector<std::unique_ptr<BatchWriter::Job>> out;
  for (auto& w : writers_) {
    for (auto& job : w->takeFinished()) {
      out.push_back(std::move(job));
    }
  }
  return out;
}

void WriterPool::drain(const std::function<bool()>& whileWaiting) {
  for (auto& w : writers_) {
    w->drain(whileWaiting);
  }
}

void WriterPool::quit() {
  for (auto& w : writers_) {
    w->quit();
  }
}

}  // namespace edgelink::dispatcher
