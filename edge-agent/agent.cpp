#include "agent.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "admin_api.h"
#include "core/atomic_file.h"
#include "core/logging.h"
#include "core/strings.h"
#include "core/subprocess.h"
#include "core/time_format.h"
#include "core/version.h"
#include "envelope/frp_command.h"
#include "envelope/json_util.h"
#include "envelope/salvage.h"
#include "envelope/types.h"

namespace edgelink::agent {

namespace rt = envelope::request_type;
namespace et = envelope::event_type;
namespace sr = envelope::stop_reason;

namespace {

constexpr int kMaxMessagesPerTurn = 16;
constexpr int64_t kFlushDelayMs = 1000;
constexpr int64_t kCpuWindowMs = 250;
constexpr int64_t kStartCheckMs = 50;
constexpr int64_t kShutdownFlushMs = 5000;
constexpr int64_t kMaxPollMs = 60'000;

const auto& logger() {
  static const auto l = log::get("agent");
  return l;
}

std::string idText(const envelope::Id& id) {
  return id.isNumber() ? id.str() : "\"" + id.str() + "\"";
}

}  // namespace

Agent::Agent(AgentConfig config, const Clock& clock)
    : config_(std::move(config)),
      clock_(clock),
      decoder_(envelope::Limits{static_cast<size_t>(config_.options.maxMessageBytes), 32}),
      frpc_(std::make_unique<FrpcSupervisor>(config_)) {
  policy_.maxAgeMs = config_.options.maxRequestAge * 1000;
  policy_.maxSkewMs = config_.options.maxClockSkew * 1000;
  policy_.sender = config_.options.sender;
}

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
  producer_.reset();
  for (int fd : {sigFd_, wakeRead_, wakeWrite_}) {
    if (fd >= 0) {
      ::close(fd);
    }
  }
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

VoidResult Agent::init() {
  startMono_ = monoNow();
  // Signals are blocked before any thread exists (librdkafka's inherit the mask), so only the
  // signalfd sees them.
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGTERM, SIGINT, SIGHUP, SIGCHLD}) {
    sigaddset(&set, s);
  }
  ::pthread_sigmask(SIG_BLOCK, &set, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  sigFd_ = ::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  int pipeFds[2];
  if (sigFd_ < 0 || ::pipe2(pipeFds, O_CLOEXEC | O_NONBLOCK) != 0) {
    return Error(Status::kInternal, std::string("signalfd/pipe: ") + std::strerror(errno));
  }
  wakeRead_ = pipeFds[0];
  wakeWrite_ = pipeFds[1];

  if (auto r = makeDirs(config_.options.stateDir, 0700); !r) {
    return Error(Status::kInternal, "state-dir: " + r.error().describe());
  }
  auto loaded = loadState(config_.statePath(), wallNow());
  if (!loaded.warning.empty()) {
    logger()->error("{}", loaded.warning);
  }
  state_ = std::move(loaded.state);
  if (!loaded.fresh && state_.edgeId != config_.options.edgeId) {
    logger()->warn("state file belongs to edge '{}', not '{}': keeping only its frpc record",
                   state_.edgeId, config_.options.edgeId);
    auto frpc = state_.frpc;
    state_ = AgentState{};
    state_.frpc = frpc;
  }
  state_.edgeId = config_.options.edgeId;
  state_.processed.setLimits(256, 2 * policy_.maxAgeMs + policy_.maxSkewMs);
  state_.processed.expire(wallNow());
  if (state_.frpc) {
    logger()->info(
        "{}", endLeftover(*state_.frpc, static_cast<int>(config_.options.frpcStopGrace * 1000)));
    state_.frpc.reset();
  }

  auto producer = kafka::Producer::create(
      config_.producerConfig, [this](const kafka::DeliveryReport& r) { onDelivery(r); });
  if (!producer) {
    return producer.error();
  }
  producer_ = std::move(*producer);
  producer_->enableIoEvent(wakeWrite_);
  sink_ = std::make_unique<ProducerSink>(*producer_, config_.topic, config_.options.edgeId);
  sender_ = std::make_unique<OutboxSender>(
      state_.outbox, *sink_, clock_, [this] { saveNow(); }, [this] { markDirty(); });
  if (auto r = createConsumer(); !r) {
    return r;
  }
  logger()->info("edge-agent {} for edge {} on topic {} (kafka: {}; state: {})", kVersion,
                 config_.options.edgeId, config_.topic, config_.options.kafkaBrokers,
                 config_.statePath());
  logger()->debug("consumer properties: {}", config_.consumerConfig.describe());
  logger()->debug("producer properties: {}", config_.producerConfig.describe());

  // The position, and answers not yet delivered before the last stop.
  positions_.restore(state_.positions);
  for (const auto& [seq, e] : state_.outbox.entries()) {
    positions_.hold(e.partition, e.offset);
  }
  if (!state_.outbox.empty()) {
    logger()->info("re-sending {} undelivered response(s)/event(s) from before the restart",
                   state_.outbox.size());
  }
  sender_->resendAll();

  // A session from before the restart resumes with its deadline, or is reported expired.
  bool resumed = false;
  switch (decideResume(state_.session, wallNow())) {
    case ResumeDecision::kResume: {
      logger()->info("resuming the frp session from before the restart (expires {})",
                     formatRfc3339Ms(state_.session->expiresAtMs));
      resumed = true;
      startFrpc(*state_.session, std::nullopt, Origin{}, true);
      break;
    }
    case ResumeDecision::kExpired: {
      logger()->info("the frp session from before the restart expired at {}: ended",
                     formatRfc3339Ms(state_.session->expiresAtMs));
      endSession(state_.session, StopInfo{sr::kExpiredWhileDown, wallNow(), {}, {}});
      break;
    }
    case ResumeDecision::kNothing:
      break;
  }
  auto started = newEvent(et::kAgentStarted);
  started.set("agent_version", kVersion);
  char host[256] = {0};
  if (::gethostname(host, sizeof host - 1) == 0) {
    started.set("hostname", host);
  }
  started.set("pid", static_cast<int64_t>(::getpid()));
  started.set("session_resumed", resumed);
  emitEvent(std::move(started));
  saveNow();

  nextHeartbeatMono_ = monoNow();
  if (notifier_.watchdogIntervalMs() > 0) {
    nextWatchdogMono_ = monoNow();
  }
  bootstrap_ = std::thread([this, stored = state_.positions]() { bootstrapKafka(stored); });
  return {};
}

VoidResult Agent::createConsumer() {
  auto consumer = kafka::Consumer::create(config_.consumerConfig);
  if (!consumer) {
    return consumer.error();
  }
  consumer_ = std::move(*consumer);
  consumer_->enableIoEvent(wakeWrite_);
  return {};
}

// ---------------------------------------------------------------------------------------------
// Main loop

void Agent::loop() {
  while (!shutdownRequested_) {
    pollfd fds[3];
    nfds_t n = 0;
    fds[n++] = {sigFd_, POLLIN, 0};
    fds[n++] = {wakeRead_, POLLIN, 0};
    int frpcFd = frpc_->outputFd();
    if (frpcFd >= 0) {
      fds[n++] = {frpcFd, POLLIN, 0};
    }
    int r = ::poll(fds, n, nextTimeoutMs());
    if (r < 0 && errno != EINTR) {
      logger()->error("poll: {}", std::strerror(errno));
    }
    if (fds[1].revents != 0) {
      char buf[256];
      while (::read(wakeRead_, buf, sizeof buf) > 0) {
      }
    }
    producer_->poll(0);
    frpc_->serveOutput();
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
  const int64_t now = monoNow();
  if (consumerBacklog_ && assigned_ && !pendingStart_ && !pendingInfo_) {
    return 0;
  }
  int64_t due = now + kMaxPollMs;
  auto earliest = [&](int64_t t) { due = std::min(due, t); };
  earliest(nextHeartbeatMono_);
  if (nextWatchdogMono_ > 0) {
    earliest(nextWatchdogMono_);
  }
  if (flushDueMono_) {
    earliest(*flushDueMono_);
  }
  if (auto retry = sender_->retryDueMono()) {
    earliest(*retry);
  }
  if (pendingStart_) {
    earliest(std::min(pendingStart_->nextCheckMono, pendingStart_->deadlineMono));
  }
  if (pendingInfo_) {
    earliest(pendingInfo_->dueMono);
  }
  if (running()) {
    // The deadline is wall-clock time (it survives restarts); re-checked at least every minute
    // in case the wall clock jumps.
    earliest(now + std::max<int64_t>(0, state_.session->expiresAtMs - wallNow()));
  }
  return static_cast<int>(std::max<int64_t>(0, due - now));
}

void Agent::handleSignals() {
  signalfd_siginfo info;
  while (::read(sigFd_, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
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
        if (frpc_->exited()) {
          if (pendingStart_) {
            pendingStart_->nextCheckMono = monoNow();  // the check reports the exit
          } else {
            onFrpcExit();
          }
        }
        break;
      default:
        break;
    }
  }
}

void Agent::runTimers() {
  const int64_t now = monoNow();
  if (nextWatchdogMono_ > 0 && now >= nextWatchdogMono_) {
    notifier_.watchdog();
    nextWatchdogMono_ = now + std::max<int64_t>(notifier_.watchdogIntervalMs() / 2, 100);
  }
  if (now >= nextHeartbeatMono_) {
    sendHeartbeat();
    nextHeartbeatMono_ = now + config_.options.heartbeatInterval * 1000;
  }
  sender_->retryIfDue();
  if (pendingStart_ && now >= std::min(pendingStart_->nextCheckMono, pendingStart_->deadlineMono)) {
    checkPendingStart();
  }
  if (pendingInfo_ && now >= pendingInfo_->dueMono) {
    finishSystemInfo();
  }
  if (running() && wallNow() >= state_.session->expiresAtMs) {
    logger()->info("frp session reached its auto-stop deadline {}",
                   formatRfc3339Ms(state_.session->expiresAtMs));
    stopFrpc(sr::kAutoStop);
  }
  if (flushDueMono_ && now >= *flushDueMono_) {
    saveNow();
  }
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
    Assignment a;
    bool ok = true;
    for (int32_t p = 0; p < *parts; ++p) {
      auto it = stored.find(p);
      if (it != stored.end()) {
        a.partitions.push_back({config_.topic, p, it->second});
        continue;
      }
      // No position: requests younger than max age are still worth serving.
      int64_t threshold = SystemClock::instance().wallMs() - policy_.maxAgeMs;
      auto offset = consumer_->offsetForTime(config_.topic, p, threshold, 2000);
      if (!offset) {
        if (!warned) {
          logger()->warn("waiting for {}[{}] offsets: {}", config_.topic, p,
                         offset.error().describe());
          warned = true;
        }
        ok = false;
        break;
      }
      a.silentBefore[p] = threshold;
      a.partitions.push_back(
          {config_.topic, p, offset->value_or(static_cast<int64_t>(RD_KAFKA_OFFSET_BEGINNING))});
    }
    if (!ok) {
      if (waitOrStop(1000)) {
        return;
      }
      continue;
    }
    {
      std::lock_guard<std::mutex> lock(bootstrapMutex_);
      assignment_ = std::move(a);
    }
    char b = 'b';
    ssize_t ignored = ::write(wakeWrite_, &b, 1);
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
  silentBefore_ = a->silentBefore;
  assignedParts_ = a->partitions;
  assigned_ = true;
  consumerBacklog_ = true;
  for (const auto& tp : a->partitions) {
    const bool byTime = silentBefore_.count(tp.partition) != 0;
    if (tp.offset >= 0 && byTime) {
      logger()->info(
          "consuming {}[{}] from offset {}: the first message younger than {} s, found by "
          "timestamp (no stored position)",
          tp.topic, tp.partition, tp.offset, policy_.maxAgeMs / 1000);
    } else if (tp.offset >= 0) {
      logger()->info("consuming {}[{}] from stored offset {}", tp.topic, tp.partition, tp.offset);
    } else if (tp.offset == RD_KAFKA_OFFSET_BEGINNING) {
      logger()->info(
          "consuming {}[{}] from the beginning (no stored position; requests older "
          "than {} s are skipped without an answer)",
          tp.topic, tp.partition, policy_.maxAgeMs / 1000);
    }
  }
}

void Agent::consumeMessages() {
  if (!assigned_ || pendingStart_ || pendingInfo_ || shutdownRequested_) {
    return;
  }
  for (int i = 0; i < kMaxMessagesPerTurn; ++i) {
    auto m = consumer_->poll(0);
    if (!m) {
      consumerBacklog_ = false;
      return;
    }
    handleMessage(*m);
    if (pendingStart_ || pendingInfo_ || shutdownRequested_) {
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
  const Origin origin{m.partition(), m.offset(), monoNow()};
  positions_.consumed(origin.partition, origin.offset);
  TriageContext context(policy_, decoder_);
  context.processed = &state_.processed;
  context.held = positions_.held(origin.partition, origin.offset);
  if (auto s = silentBefore_.find(origin.partition); s != silentBefore_.end()) {
    context.silentBeforeMs = s->second;
  }
  context.nowMs = wallNow();
  Triage t =
      triage(Inbound{m.payload(), origin.partition, origin.offset, m.timestampMs()}, context);
  switch (t.verdict) {
    case Verdict::kIgnore:
      positionsChanged(false);
      return;
    case Verdict::kDrop:
      logger()->warn("dropped a message of {} bytes at {}[{}] offset {}: {}", m.payload().size(),
                     config_.topic, origin.partition, origin.offset, t.reason);
      positionsChanged(true);
      return;
    case Verdict::kSkipSilently:
      ++silentlySkipped_;
      logger()->debug("skipped request id={}: {}", idText(t.id), t.reason);
      positionsChanged(true);
      return;
    case Verdict::kResend:
      hold(origin);
      sender_->queue("response " + idText(t.id) + " (" +
                         (t.decoded ? t.type + ", stored)" : std::string("stored)")),
                     t.stored, origin.partition, origin.offset);
      if (t.decoded) {
        logger()->info(
            "request id={} type={} from={} edge={}: redelivered, answered from the stored "
            "response (not acted on again)",
            idText(t.id), t.type, t.sender, config_.options.edgeId);
      }
      return;
    case Verdict::kAnswer:
      hold(origin);
      answer(t.id, t.type.empty() ? "?" : t.type, t.sender, std::move(*t.response), origin);
      return;
    case Verdict::kAct:
      hold(origin);
      dispatch(*t.request, origin);
      return;
  }
}

void Agent::handleOversizeFetch(const kafka::OversizeFetch& fetch) {
  // Everything consumed before librdkafka reported the refusal has been handled (errors and
  // messages come through one queue in order), so with one partition the batch that does not
  // fit starts at the position.
  if (assignedParts_.size() != 1) {
    logger()->error(
        "Kafka's fetch response of {} bytes is larger than receive.message.max.bytes {}: a "
        "record batch on one of {}'s {} partitions is too large to read. With one partition "
        "(as `edges add` creates edge topics) the agent moves past it; with several it cannot "
        "tell which: lower the topic's max.message.bytes or raise receive.message.max.bytes "
        "(kafka-property)",
        fetch.size, fetch.limit, config_.topic, assignedParts_.size());
    return;
  }
  const int32_t p = assignedParts_[0].partition;
  int64_t at = assignedParts_[0].offset;
  if (positions_.next(p) >= 0) {
    at = positions_.next(p);
  } else if (at < 0) {
    auto w = consumer_->watermarks(config_.topic, p, 2000);
    if (!w) {
      logger()->warn(
          "a record batch at {}[{}] is too large to read and its offset is unknown "
          "yet ({}); trying again",
          config_.topic, p, w.error().describe());
      return;
    }
    at = w->first;
  }
  logger()->warn(
      "dropped the record batch at {}[{}] offset {}: Kafka's fetch response of {} bytes is "
      "larger than receive.message.max.bytes {} (the topic accepts larger messages than this "
      "agent reads); not read, not answered",
      config_.topic, p, at, fetch.size, fetch.limit);
  positions_.skipTo(p, at + 1);
  positionsChanged(true);
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

void Agent::dispatch(const envelope::Envelope& request, const Origin& origin) {
  RequestAction action = decideRequest(request, config_, policy_, wallNow());
  switch (action.kind) {
    case ActionKind::kAnswer:
      answer(request.id, request.type, request.sender, std::move(*action.response), origin);
      return;
    case ActionKind::kStatus:
      handleStatus(request, origin);
      return;
    case ActionKind::kSystemInfo:
      pendingInfo_ =
          PendingInfo{request.clone(), origin, readCpuSample(), monoNow() + kCpuWindowMs};
      return;
    case ActionKind::kStop:
      handleStop(request, origin);
      return;
    case ActionKind::kStart:
      handleStart(request, *action.plan, origin);
      return;
  }
}

void Agent::onDelivery(const kafka::DeliveryReport& report) {
  if (auto released = sender_->onDelivery(toDelivery(report))) {
    positions_.release(released->partition, released->offset);
    positionsChanged(true);
  }
}

void Agent::sendHeartbeat() {
  auto hb = newEvent(et::kHeartbeat);
  hb.set("agent_version", kVersion);
  hb.set("interval_seconds", config_.options.heartbeatInterval);
  hb.set("uptime_seconds", static_cast<double>(monoNow() - startMono_) / 1000.0);
  hb.set("frp_running", running());
  if (running()) {
    hb.set("frp_expires_at", formatRfc3339Ms(state_.session->expiresAtMs));
  }
  sender_->sendPerishable(envelope::encode(hb));
}

// ---------------------------------------------------------------------------------------------
// Answers, events and state

void Agent::answer(const envelope::Id& id, const std::string& type, const std::string& sender,
                   envelope::Envelope response, const Origin& origin, const std::string& note) {
  const int64_t now = wallNow();
  std::string value = envelope::encode(response);
  state_.processed.expire(now);
  state_.processed.add({sender, id, now, value});
  sender_->queue("response " + idText(id) + " (" + type + ")", value, origin.partition,
                 origin.offset);
  logger()->info("request id={} type={} from={} edge={}: {} in {} ms{}{}", idText(id), type, sender,
                 config_.options.edgeId, response.statusCode, monoNow() - origin.receivedMono,
                 note.empty() ? "" : "; ", note);
}

envelope::Envelope Agent::newEvent(const char* type) {
  return envelope::Envelope::event(envelope::Id::generate(), policy_.sender, wallNow(), type);
}

void Agent::emitEvent(envelope::Envelope event) {
  sender_->queue("event " + event.type, envelope::encode(event));
  logger()->info("event {} id={}", event.type, event.id.str());
}

void Agent::hold(const Origin& origin) {
  positions_.hold(origin.partition, origin.offset);
  positionsChanged(true);
}

void Agent::positionsChanged(bool persist) {
  if (positions_.update(state_.positions) && persist) {
    markDirty();
  }
}

void Agent::markDirty() {
  if (!flushDueMono_) {
    flushDueMono_ = monoNow() + kFlushDelayMs;
  }
}

void Agent::saveNow() {
  flushDueMono_.reset();
  if (auto r = saveState(config_.statePath(), state_); !r) {
    logger()->error("cannot write the state file: {}", r.error().describe());
  }
}

// ---------------------------------------------------------------------------------------------
// frp

bool Agent::running() const {
  return frpc_->active() && state_.session.has_value() && !pendingStart_;
}

void Agent::handleStart(const envelope::Envelope& request, const FrpPlan& plan,
                        const Origin& origin) {
  const int64_t now = wallNow();
  std::string note = plan.capped
                         ? "auto-stop capped at " + std::to_string(plan.autoStopSeconds) + " s"
                         : std::string();
  std::optional<Session> current;
  if (running()) {
    current = state_.session;
  }
  switch (decideStart(current, plan)) {
    case StartDecision::kExtend: {
      Session& s = *state_.session;
      s.expiresAtMs = now + plan.autoStopSeconds * 1000;
      s.autoStopSeconds = plan.autoStopSeconds;
      s.requestId = request.id;
      auto r = frpStateResponse(request, &s, true, nullptr, nullptr, true);
      answer(request.id, request.type, request.sender, std::move(r), origin,
             "extended to " + formatRfc3339Ms(s.expiresAtMs) + (note.empty() ? "" : ", " + note));
      return;
    }
    case StartDecision::kRestart:
      logger()->info("start with other ports: restarting frpc on the new config");
      stopFrpc(sr::kReplaced);
      break;
    case StartDecision::kStart:
      break;
  }
  startFrpc(sessionFor(plan, now, request.id), request.clone(), origin, false);
}

void Agent::startFrpc(Session candidate, std::optional<envelope::Envelope> request,
                      const Origin& origin, bool resumed) {
  PendingStart p;
  p.request = std::move(request);
  p.origin = origin;
  p.session = std::move(candidate);
  p.resumed = resumed;
  p.deadlineMono = monoNow() + config_.options.frpcStartTimeout * 1000;
  p.nextCheckMono = monoNow() + 20;
  pendingStart_ = std::move(p);

  if (auto r = frpc_->start(pendingStart_->session); !r) {
    failStart(r.error(), "");
    return;
  }
  state_.frpc = frpc_->record();
  saveNow();
  logger()->info("frpc pid {} started ({}); waiting up to {} s for its proxies", frpc_->pid(),
                 resumed ? "resuming the session" : "new session",
                 config_.options.frpcStartTimeout);
}

void Agent::checkPendingStart() {
  PendingStart& p = *pendingStart_;
  const int64_t now = monoNow();
  p.nextCheckMono = now + kStartCheckMs;
  if (!frpc_->active()) {
    return;
  }
  frpc_->serveOutput();
  StartProbe probe;
  probe.exited = frpc_->exited();
  if (!probe.exited) {
    probe.statuses = frpc_->proxyStatus();
    if (!probe.statuses->ok()) {
      logger()->debug("frpc admin API not ready: {}", probe.statuses->error().describe());
    }
  }
  probe.output = frpc_->lastLines(3);
  probe.pastDeadline = now >= p.deadlineMono;
  StartVerdict v = judgeStart(p.session, probe, p.statuses, config_.options.frpcStartTimeout);
  if (v.outcome == StartOutcome::kRunning) {
    succeedStart();
  } else if (v.outcome == StartOutcome::kFailed) {
    failStart(std::move(v.error), v.exitStatus);
  }
}

void Agent::succeedStart() {
  PendingStart p = std::move(*pendingStart_);
  pendingStart_.reset();
  state_.session = p.session;
  state_.frpc = frpc_->record();
  const int64_t now = wallNow();
  logger()->info("frp session running: pid {}, expires {}", frpc_->pid(),
                 formatRfc3339Ms(p.session.expiresAtMs));
  if (p.request) {
    auto r = frpStateResponse(*p.request, &p.session, true, nullptr, &p.statuses, false);
    answer(p.request->id, p.request->type, p.request->sender, std::move(r), p.origin,
           "frpc pid " + std::to_string(frpc_->pid()));
  }
  auto ev = newEvent(et::kFrpStarted);
  writeFrpState(ev, FrpStateView{&p.session, true, frpc_->pid(), nullptr, &p.statuses, false}, now);
  ev.set("resumed", p.resumed);
  emitEvent(std::move(ev));
  notifier_.status("frp running until " + formatRfc3339Ms(p.session.expiresAtMs));
}

void Agent::failStart(Error error, const std::string& exitStatus) {
  PendingStart p = std::move(*pendingStart_);
  pendingStart_.reset();
  std::string output = frpc_->stop(10).output;
  StopInfo info{sr::kStartFailed, wallNow(), exitStatus, output};
  logger()->warn("frp start failed: {}", error.message);
  if (p.request) {
    auto r = errorResponse(p.request->id, p.request->type, policy_.sender, wallNow(), error);
    r.description = "frp could not be started";
    if (!p.statuses.empty()) {
      rapidjson::Value proxies(rapidjson::kObjectType);
      auto& alloc = r.allocator();
      for (const auto& [name, svc] : p.session.services) {
        rapidjson::Value v(rapidjson::kObjectType);
        v.AddMember("remote_port", static_cast<int>(svc.remotePort), alloc);
        v.AddMember("proxy_name", json::str(svc.proxyName, alloc), alloc);
        auto it = p.statuses.find(svc.proxyName);
        if (it != p.statuses.end()) {
          v.AddMember("status", json::str(it->second.status, alloc), alloc);
          if (!it->second.err.empty()) {
            v.AddMember("error", json::str(it->second.err, alloc), alloc);
          }
        }
        proxies.AddMember(json::str(name, alloc), v, alloc);
      }
      r.set("proxies", std::move(proxies));
    }
    answer(p.request->id, p.request->type, p.request->sender, std::move(r), p.origin);
  }
  endSession(p.session, info);
  notifier_.status("idle");
}

std::optional<Session> Agent::stopFrpc(const char* reason) {
  if (!frpc_->active()) {
    return std::nullopt;
  }
  FrpcEnd end = frpc_->stop(0);
  logger()->info("frpc pid {} stopped ({}): {}", end.pid, reason, end.waitStatus);
  std::optional<Session> ended = state_.session;
  endSession(ended, StopInfo{reason, wallNow(), {}, {}});
  notifier_.status("idle");
  return ended;
}

void Agent::endSession(std::optional<Session> ended, const StopInfo& info) {
  state_.frpc.reset();
  state_.session.reset();
  state_.lastStop = info;
  emitFrpStopped(ended ? &*ended : nullptr, info);
}

void Agent::onFrpcExit() {
  if (!frpc_->exited()) {
    return;
  }
  FrpcEnd end = frpc_->reap(10);
  StopInfo info{sr::kExitedUnexpectedly, wallNow(), end.waitStatus, end.output};
  logger()->warn("frpc pid {} {} on its own; session ended", end.pid, info.exitStatus);
  endSession(state_.session, info);
  notifier_.status("idle");
}

void Agent::emitFrpStopped(const Session* ended, const StopInfo& info) {
  auto ev = newEvent(et::kFrpStopped);
  writeFrpState(ev, FrpStateView{ended, false, 0, &info, nullptr, false}, wallNow());
  if (!info.exitStatus.empty()) {
    ev.set("exit_status", info.exitStatus);
  }
  if (!info.output.empty()) {
    ev.set("frpc_output", info.output);
  }
  emitEvent(std::move(ev));
}

envelope::Envelope Agent::frpStateResponse(const envelope::Envelope& request,
                                           const Session* session, bool isRunning,
                                           const StopInfo* stop,
                                           const std::map<std::string, ProxyStatus>* statuses,
                                           bool extended) {
  const int64_t now = wallNow();
  auto r = envelope::Envelope::response(request, policy_.sender, now, 200);
  writeFrpState(
      r, FrpStateView{session, isRunning, isRunning ? frpc_->pid() : 0, stop, statuses, extended},
      now);
  return r;
}

void Agent::handleStop(const envelope::Envelope& request, const Origin& origin) {
  if (running()) {
    auto ended = stopFrpc(sr::kRequested);
    auto r = frpStateResponse(request, ended ? &*ended : nullptr, false,
                              state_.lastStop ? &*state_.lastStop : nullptr, nullptr, false);
    answer(request.id, request.type, request.sender, std::move(r), origin, "frpc stopped");
    return;
  }
  auto r = frpStateResponse(request, nullptr, false, state_.lastStop ? &*state_.lastStop : nullptr,
                            nullptr, false);
  answer(request.id, request.type, request.sender, std::move(r), origin, "was not running");
}

void Agent::handleStatus(const envelope::Envelope& request, const Origin& origin) {
  if (!running()) {
    auto r = frpStateResponse(request, nullptr, false,
                              state_.lastStop ? &*state_.lastStop : nullptr, nullptr, false);
    answer(request.id, request.type, request.sender, std::move(r), origin);
    return;
  }
  auto statuses = frpc_->proxyStatus();
  std::string note;
  if (!statuses) {
    note = "proxy states unknown: " + statuses.error().message;
  } else if (statuses->empty()) {
    note = kNotLoggedIn;
  }
  auto r = frpStateResponse(request, &*state_.session, true, nullptr,
                            statuses ? &*statuses : nullptr, false);
  answer(request.id, request.type, request.sender, std::move(r), origin, note);
}

void Agent::finishSystemInfo() {
  PendingInfo p = std::move(*pendingInfo_);
  pendingInfo_.reset();
  std::optional<double> cpu;
  auto second = readCpuSample();
  if (p.first && second) {
    cpu = cpuUsagePercent(*p.first, *second);
  }
  auto r = envelope::Envelope::response(p.request, policy_.sender, wallNow(), 200);
  writeSystemInfo(r, cpu, {"/", config_.options.stateDir});
  answer(p.request.id, p.request.type, p.request.sender, std::move(r), p.origin);
}

// ---------------------------------------------------------------------------------------------
// Shutdown

void Agent::shutdown() {
  notifier_.stopping();
  if (pendingStart_) {
    // Not answered: the request stays before the position and is served again after a restart.
    logger()->info("abandoning a pending frp start");
    frpc_->stop(0);
    state_.frpc.reset();
    PendingStart p = std::move(*pendingStart_);
    pendingStart_.reset();
    if (p.resumed) {
      endSession(p.session, StopInfo{sr::kAgentShutdown, wallNow(), {}, {}});
    }
  }
  pendingInfo_.reset();
  if (running()) {
    stopFrpc(sr::kAgentShutdown);
  }
  auto stopping = newEvent(et::kAgentStopping);
  stopping.set("agent_version", kVersion);
  stopping.set("reason", shutdownReason_);
  emitEvent(std::move(stopping));

  const int64_t deadline = monoNow() + kShutdownFlushMs;
  while (!state_.outbox.empty() && monoNow() < deadline) {
    producer_->poll(50);
    sender_->retryIfDue();
  }
  if (!state_.outbox.empty()) {
    logger()->warn(
        "{} response(s)/event(s) not delivered at shutdown: kept in the state file "
        "for the next start",
        state_.outbox.size());
  }
  (void)producer_->flush(500);  // a pending heartbeat
  saveNow();
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

// ---------------------------------------------------------------------------------------------
// render-frpc

RenderOutcome renderForRequest(const AgentConfig& config, const std::string& requestBytes,
                               const Clock& clock, bool showSecrets) {
  envelope::Decoder decoder(
      envelope::Limits{static_cast<size_t>(config.options.maxMessageBytes), 32});
  Policy policy;
  policy.sender = config.options.sender;
  const int64_t now = clock.wallMs();
  TriageContext context(policy, decoder);
  context.nowMs = now;
  context.judgeTime = false;
  Triage t = triage(Inbound{requestBytes}, context);
  switch (t.verdict) {
    case Verdict::kAnswer:
      return RenderOutcome{false, envelope::encode(*t.response)};
    case Verdict::kAct:
      break;
    case Verdict::kIgnore:
      return RenderOutcome{false, t.reason};
    default:
      return RenderOutcome{false, "not a request the agent would answer: " + t.reason};
  }
  const auto& req = *t.request;
  if (!envelope::isFrpCommandType(req.type)) {
    return RenderOutcome{false, "request type " + req.type + " writes no frpc config"};
  }
  RequestAction action = decideRequest(req, config, policy, now);
  switch (action.kind) {
    case ActionKind::kAnswer:
      return RenderOutcome{false, envelope::encode(*action.response)};
    case ActionKind::kStop:
      return RenderOutcome{false, "a stop request writes no frpc config (it stops frpc)"};
    case ActionKind::kStart:
      break;
    default:
      return RenderOutcome{false, "request type " + req.type + " writes no frpc config"};
  }
  Session s = sessionFor(*action.plan, now, req.id);
  FrpcSettings settings = frpcSettings(config, "edge-agent", randomPassword(24));
  std::string masked;
  if (!showSecrets) {
    masked = config.format == FrpcFormat::kToml ? "webServer.password" : "admin_pwd";
    settings.adminPassword = kMaskedSecret;
    if (!settings.token.empty()) {
      settings.token = kMaskedSecret;
      masked = (config.format == FrpcFormat::kToml ? "auth.token" : "token") + (", " + masked);
    }
  }
  auto text = renderFrpcConfig(config.format, settings, s.proxies());
  if (!text) {
    return RenderOutcome{
        false, envelope::encode(errorResponse(req.id, req.type, policy.sender, now, text.error()))};
  }
  if (!masked.empty()) {
    *text = "# secrets masked (" + masked + "): render-frpc --show-secrets prints them\n" + *text;
  }
  return RenderOutcome{true, *text};
}

}  // namespace edgelink::agent
