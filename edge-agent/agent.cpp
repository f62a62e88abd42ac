#include "agent.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/atomic_file.h"
#include "core/logging.h"
#include "core/version.h"
#include "decisions/read_position.h"

namespace edgelink::agent {

namespace {

constexpr int kMaxMessagesPerTurn = 16;
constexpr int64_t kShutdownFlushMs = 5000;

const auto& logger() {
  static const auto l = log::get("agent");
  return l;
}

}  // namespace

Agent::Agent(AgentConfig config, const Clock& clock)
    : config_(std::move(config)), clock_(clock), frpc_(config_) {}

Agent::~Agent() {
  {
    std::lock_guard<std::mutex> lock(bootstrapMutex_);
    stopBootstrap_ = true;
  }
  bootstrapCv_.notify_all();
  if (bootstrap_.joinable()) {
    bootstrap_.join();
  }
  consumer_.reset();
  core_.reset();
  producer_.reset();
}

int Agent::run() {
  if (auto r = init(); !r) {
    logger()->critical("cannot start: {}", r.error().describe());
    return 1;
  }
  notifier_.ready();
  notifier_.status("running; consuming " + config_.topic);
  loop();
  shutdown();
  return 0;
}

// ---------------------------------------------------------------------------------------------
// Startup

VoidResult Agent::openSignals() {
  // Signals are blocked before any thread exists (librdkafka's inherit the mask), so only the
  // signalfd sees them.
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGTERM, SIGINT, SIGHUP, SIGCHLD}) {
    sigaddset(&set, s);
  }
  ::pthread_sigmask(SIG_BLOCK, &set, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  sigFd_.reset(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
  int pipeFds[2];
  if (!sigFd_.valid() || ::pipe2(pipeFds, O_CLOEXEC | O_NONBLOCK) != 0) {
    return Error(Status::kInternal, std::string("signalfd/pipe: ") + std::strerror(errno));
  }
  wakeRead_.reset(pipeFds[0]);
  wakeWrite_.reset(pipeFds[1]);
  return {};
}

Result<AgentState> Agent::loadOwnState() {
  if (auto r = makeDirs(config_.options.stateDir, 0700); !r) {
    return Error(Status::kInternal, "state-dir: " + r.error().describe());
  }
  auto loaded = loadState(config_.statePath(), clock_.wallMs());
  if (!loaded.warning.empty()) {
    logger()->error("{}", loaded.warning);
  }
  AgentState state = std::move(loaded.state);
  if (!loaded.fresh && state.edgeId != config_.options.edgeId) {
    logger()->warn("state file belongs to edge '{}', not '{}': keeping only its frpc record",
                   state.edgeId, config_.options.edgeId);
    auto frpc = state.frpc;
    state = AgentState{};
    state.frpc = frpc;
  }
  if (state.frpc) {
    logger()->info(
        "{}", endLeftover(*state.frpc, static_cast<int>(config_.options.frpcStopGrace * 1000)));
    state.frpc.reset();
  }
  return state;
}

VoidResult Agent::init() {
  if (auto r = openSignals(); !r) {
    return r;
  }
  auto state = loadOwnState();
  if (!state) {
    return state.error();
  }
  auto producer = kafka::Producer::create(
      config_.producerConfig,
      [this](const kafka::DeliveryReport& r) { core_->onDelivery(toDelivery(r)); });
  if (!producer) {
    return producer.error();
  }
  producer_ = std::move(*producer);
  producer_->enableIoEvent(wakeWrite_.get());
  sink_ = std::make_unique<ProducerSink>(*producer_, config_.topic, config_.options.edgeId);
  CoreHooks hooks;
  hooks.persist = [this](const AgentState& s) {
    if (auto r = saveState(config_.statePath(), s); !r) {
      logger()->error("cannot write the state file: {}", r.error().describe());
    }
  };
  hooks.status = [this](const std::string& text) { notifier_.status(text); };
  core_ = std::make_unique<AgentCore>(config_, clock_, *sink_, frpc_, probe_, std::move(hooks));
  if (auto r = createConsumer(); !r) {
    return r;
  }
  logger()->info("edge-agent {} for edge {} on topic {} (kafka: {}; state: {})", kVersion,
                 config_.options.edgeId, config_.topic, config_.options.kafkaBrokers,
                 config_.statePath());
  logger()->debug("consumer properties: {}", config_.consumerConfig.describe());
  logger()->debug("producer properties: {}", config_.producerConfig.describe());

  StartupFacts facts;
  char host[256] = {0};
  if (::gethostname(host, sizeof host - 1) == 0) {
    facts.hostname = host;
  }
  facts.pid = static_cast<int64_t>(::getpid());
  core_->begin(std::move(*state), facts);

  if (notifier_.watchdogIntervalMs() > 0) {
    nextWatchdogMono_ = clock_.monoMs();
  }
  bootstrap_ = std::thread([this, stored = core_->state().positions]() { bootstrapKafka(stored); });
  return {};
}

VoidResult Agent::createConsumer() {
  auto consumer = kafka::Consumer::create(config_.consumerConfig);
  if (!consumer) {
    return consumer.error();
  }
  consumer_ = std::move(*consumer);
  consumer_->enableIoEvent(wakeWrite_.get());
  return {};
}

// ---------------------------------------------------------------------------------------------
// Main loop

void Agent::loop() {
  while (!shutdownRequested_) {
    pollfd fds[3];
    nfds_t n = 0;
    fds[n++] = {sigFd_.get(), POLLIN, 0};
    fds[n++] = {wakeRead_.get(), POLLIN, 0};
    int frpcFd = frpc_.outputFd();
    if (frpcFd >= 0) {
      fds[n++] = {frpcFd, POLLIN, 0};
    }
    int r = ::poll(fds, n, nextTimeoutMs());
    if (r < 0 && errno != EINTR) {
      logger()->error("poll: {}", std::strerror(errno));
    }
    if (fds[1].revents != 0) {
      char buf[256];
      while (::read(wakeRead_.get(), buf, sizeof buf) > 0) {
      }
    }
    producer_->poll(0);
    frpc_.serveOutput();
    if (fds[0].revents != 0) {
      handleSignals();
    }
    takeAssignment();
    runTimers();
    consumeMessages();
    if (assigned_) {
      if (auto f = consumer_->takeOversizeFetch()) {
        handleOversizeFetch(*f);
      }
    }
  }
}

int Agent::nextTimeoutMs() {
  const int64_t now = clock_.monoMs();
  if (consumerBacklog_ && assigned_ && !core_->busy()) {
    return 0;
  }
  int64_t due = core_->nextDueMono();
  if (nextWatchdogMono_ > 0) {
    due = std::min(due, nextWatchdogMono_);
  }
  return static_cast<int>(std::max<int64_t>(0, due - now));
}

void Agent::handleSignals() {
  signalfd_siginfo info;
  while (::read(sigFd_.get(), &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
    switch (info.ssi_signo) {
      case SIGTERM:
      case SIGINT:
        shutdownRequested_ = true;
        shutdownReason_ = info.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT";
        logger()->info("{}: shutting down", shutdownReason_);
        break;
      case SIGHUP:
        logger()->info("SIGHUP: nothing to reload (restart the agent to apply a new config)");
        break;
      case SIGCHLD:
        core_->onFrpcSignal();
        break;
      default:
        break;
    }
  }
}

void Agent::runTimers() {
  const int64_t now = clock_.monoMs();
  if (nextWatchdogMono_ > 0 && now >= nextWatchdogMono_) {
    notifier_.watchdog();
    nextWatchdogMono_ = now + std::max<int64_t>(notifier_.watchdogIntervalMs() / 2, 100);
  }
  core_->onTimers();
}

// ---------------------------------------------------------------------------------------------
// Kafka

void Agent::bootstrapKafka(std::map<int32_t, int64_t> stored) {
  bool warned = false;
  auto waitOrStop = [&](int ms) {
    std::unique_lock<std::mutex> lock(bootstrapMutex_);
    return bootstrapCv_.wait_for(lock, std::chrono::milliseconds(ms),
                                 [&] { return stopBootstrap_; });
  };
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(bootstrapMutex_);
      if (stopBootstrap_) {
        return;
      }
    }
    auto parts = consumer_->partitionCount(config_.topic, 2000);
    if (!parts) {
      if (!warned) {
        logger()->warn("waiting for topic {}: {}", config_.topic, parts.error().describe());
        warned = true;
      }
      if (waitOrStop(1000)) {
        return;
      }
      continue;
    }
    const int64_t now = clock_.wallMs();
    const int64_t maxAgeMs = config_.options.maxRequestAge * 1000;
    std::map<int32_t, TimeLookup> lookups;
    for (int32_t p : partitionsWithoutPosition(*parts, stored)) {
      auto offset = consumer_->offsetForTime(config_.topic, p, readFromTimeMs(now, maxAgeMs), 2000);
      const bool failed = !offset;
      lookups.emplace(p, std::move(offset));
      if (failed) {
        break;  // the plan waits for this one
      }
    }
    StartPlan plan = planStartPositions(*parts, stored, lookups, now, maxAgeMs);
    if (!plan.complete()) {
      if (!warned) {
        logger()->warn("waiting for {}[{}] offsets: {}", config_.topic, plan.failure->partition,
                       plan.failure->error.describe());
        warned = true;
      }
      if (waitOrStop(1000)) {
        return;
      }
      continue;
    }
    Assignment a;
    a.plan = std::move(plan);
    for (const auto& start : a.plan.partitions) {
      a.partitions.push_back(
          {config_.topic, start.partition,
           start.from == StartFrom::kBeginning ? kafka::kOffsetBeginning : start.offset});
    }
    {
      std::lock_guard<std::mutex> lock(bootstrapMutex_);
      assignment_ = std::move(a);
    }
    char b = 'b';
    ssize_t ignored = ::write(wakeWrite_.get(), &b, 1);
    (void)ignored;
    return;
  }
}

void Agent::takeAssignment() {
  std::optional<Assignment> a;
  {
    std::lock_guard<std::mutex> lock(bootstrapMutex_);
    a.swap(assignment_);
  }
  if (!a) {
    return;
  }
  if (auto r = consumer_->assign(a->partitions); !r) {
    logger()->error("cannot assign {}: {}", config_.topic, r.error().describe());
    return;
  }
  core_->setSilentBefore(a->plan.silentBefore);
  assignedParts_ = a->partitions;
  assigned_ = true;
  consumerBacklog_ = true;
  for (const auto& start : a->plan.partitions) {
    switch (start.from) {
      case StartFrom::kTimestamp:
        logger()->info(
            "consuming {}[{}] from offset {}: the first message younger than {} s, found by "
            "timestamp (no stored position)",
            config_.topic, start.partition, start.offset, config_.options.maxRequestAge);
        break;
      case StartFrom::kStored:
        logger()->info("consuming {}[{}] from stored offset {}", config_.topic, start.partition,
                       start.offset);
        break;
      case StartFrom::kBeginning:
        logger()->info(
            "consuming {}[{}] from the beginning (no stored position; requests older "
            "than {} s are skipped without an answer)",
            config_.topic, start.partition, config_.options.maxRequestAge);
        break;
    }
  }
}

void Agent::consumeMessages() {
  if (!assigned_ || core_->busy() || shutdownRequested_) {
    return;
  }
  for (int i = 0; i < kMaxMessagesPerTurn; ++i) {
    auto m = consumer_->poll(0);
    if (!m) {
      consumerBacklog_ = false;
      return;
    }
    handleMessage(*m);
    if (core_->busy() || shutdownRequested_) {
      consumerBacklog_ = true;
      return;
    }
  }
  consumerBacklog_ = true;
}

void Agent::handleMessage(const kafka::Message& m) {
  if (m.isError()) {
    if (m.isPartitionEof()) {
      return;
    }
    std::string text = m.errorText();
    if (text != lastConsumerError_) {
      logger()->warn("kafka consumer: {}", text);
      lastConsumerError_ = text;
    }
    return;
  }
  lastConsumerError_.clear();
  core_->onMessage(Inbound{m.payload(), m.partition(), m.offset(), m.timestampMs()});
}

void Agent::handleOversizeFetch(const kafka::OversizeFetch& fetch) {
  // Where the batch is: decisions/read_position.h (with one partition, at the position).
  std::vector<AssignedPartition> assigned;
  std::map<int32_t, int64_t> consumedNext;
  for (const auto& tp : assignedParts_) {
    assigned.push_back({tp.partition, tp.offset});
    consumedNext[tp.partition] = core_->nextOffset(tp.partition);
  }
  OversizeBatch batch = locateOversizeBatch(assigned, consumedNext);
  if (batch.kind == OversizeBatch::Kind::kAskWatermarks) {
    auto w = consumer_->watermarks(config_.topic, batch.partition, 2000);
    if (!w) {
      logger()->warn(
          "a record batch at {}[{}] is too large to read and its offset is unknown "
          "yet ({}); trying again",
          config_.topic, batch.partition, w.error().describe());
      return;
    }
    batch = locateOversizeBatch(assigned, consumedNext, w->first);
  }
  if (batch.kind != OversizeBatch::Kind::kAt) {
    logger()->error(
        "Kafka's fetch response of {} bytes is larger than receive.message.max.bytes {}: a "
        "record batch on one of {}'s {} partitions is too large to read. With one partition "
        "(as `edges add` creates edge topics) the agent moves past it; with several it cannot "
        "tell which: lower the topic's max.message.bytes or raise receive.message.max.bytes "
        "(kafka-property)",
        fetch.size, fetch.limit, config_.topic, assignedParts_.size());
    return;
  }
  const int32_t p = batch.partition;
  const int64_t at = batch.offset;
  logger()->warn(
      "dropped the record batch at {}[{}] offset {}: Kafka's fetch response of {} bytes is "
      "larger than receive.message.max.bytes {} (the topic accepts larger messages than this "
      "agent reads); not read, not answered",
      config_.topic, p, at, fetch.size, fetch.limit);
  core_->skipTo(p, at + 1);
  // A new client: librdkafka reports an identical refusal on the same connection only every
  // 30 s, so the next oversize batch (if any) would otherwise stall the agent that long.
  (void)consumer_->close(2000);
  consumer_.reset();
  if (auto r = createConsumer(); !r) {
    logger()->critical("cannot re-create the Kafka consumer: {}", r.error().describe());
    shutdownRequested_ = true;
    shutdownReason_ = "Kafka consumer lost";
    return;
  }
  assignedParts_[0].offset = at + 1;
  if (auto r = consumer_->assign(assignedParts_); !r) {
    logger()->error("cannot assign {}: {}", config_.topic, r.error().describe());
  }
}

// ---------------------------------------------------------------------------------------------
// Shutdown

void Agent::shutdown() {
  notifier_.stopping();
  core_->shutdown(shutdownReason_);
  const int64_t deadline = clock_.monoMs() + kShutdownFlushMs;
  while (!core_->state().outbox.empty() && clock_.monoMs() < deadline) {
    producer_->poll(50);
    core_->retryIfDue();
  }
  if (!core_->state().outbox.empty()) {
    logger()->warn(
        "{} response(s)/event(s) not delivered at shutdown: kept in the state file "
        "for the next start",
        core_->state().outbox.size());
  }
  (void)producer_->flush(500);  // a pending heartbeat
  core_->saveNow();
  {
    std::lock_guard<std::mutex> lock(bootstrapMutex_);
    stopBootstrap_ = true;
  }
  bootstrapCv_.notify_all();
  if (bootstrap_.joinable()) {
    bootstrap_.join();
  }
  consumer_->close();  // bounded; says so itself when Kafka does not answer
  logger()->info("stopped");
}

}  // namespace edgelink::agent
