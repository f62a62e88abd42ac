#include "agent.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "agent_log.h"
#include "core/atomic_file.h"
#include "core/time_format.h"
#include "core/version.h"
#include "remote_config_file.h"

namespace edgelink::agent {

namespace {

constexpr int64_t kShutdownFlushMs = 5000;
constexpr int kMoveFlushMs = 3000;

}  // namespace

Agent::Agent(AgentConfig config, const Clock& clock)
    : config_(std::move(config)), clock_(clock), frpc_(config_) {}

Agent::~Agent() {
  move_.reset();
  stopBootstrap();
  reader_.reset();
  source_.reset();
  runner_.reset();
  core_.reset();
  producer_.reset();
}

int Agent::run() {
  if (auto r = init(); !r) {
    agentLogger()->critical("cannot start: {}", r.error().describe());
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
    agentLogger()->error("{}", loaded.warning);
  }
  AgentState state = std::move(loaded.state);
  if (!loaded.fresh && state.edgeId != config_.options.edgeId) {
    agentLogger()->warn("state file belongs to edge '{}', not '{}': keeping only its frpc record",
                        state.edgeId, config_.options.edgeId);
    auto frpc = state.frpc;
    state = AgentState{};
    state.frpc = frpc;
  }
  const int graceMs = static_cast<int>(config_.options.frpcStopGrace * 1000);
  if (state.frpc) {
    agentLogger()->info("{}", endLeftover(*state.frpc, graceMs));
    state.frpc.reset();
  }
  // Whatever the state file says (it may have been lost or set aside): no frpc of an earlier run
  // is left on this agent's frpc config.
  for (const auto& ended : endStrayFrpc(config_.frpcConfigPath, graceMs)) {
    agentLogger()->warn("{} (not in the state file)", ended);
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
  const AgentOptions own = config_.options;
  std::optional<RemoteConfig> applied = loadAppliedRemoteConfig();
  bool created = false;
  auto key = security::SigningKey::loadOrCreate(config_.keyFilePath, &created);
  if (!key) {
    return Error(key.error().status, "key-file: " + key.error().describe());
  }
  signingKey_.emplace(std::move(*key));
  agentLogger()->info("{} this board's signing key {} (key id {})", created ? "made" : "loaded",
                      config_.keyFilePath, signingKey_->keyId());
  auto producer = kafka::Producer::create(
      config_.producerConfig,
      [this](const kafka::DeliveryReport& r) { runner_->run(core_->onDelivery(toDelivery(r))); },
      &kafkaLink_);
  if (!producer) {
    return producer.error();
  }
  producer_ = std::move(*producer);
  producer_->enableIoEvent(wakeWrite_.get());
  sink_ = std::make_unique<ProducerSink>(*producer_, config_.topic, config_.options.edgeId,
                                         *signingKey_);
  RunnerHooks hooks;
  hooks.persist = [this] { return persist(); };
  hooks.status = [this](const std::string& text) { notifier_.status(text); };
  hooks.applyConfig = [this](const action::ApplyConfig& a) { applyRemoteConfig(a); };
  hooks.moveCluster = [this](const action::MoveCluster& m) { startMove(m); };
  core_ = std::make_unique<AgentCore>(config_, clock_);
  core_->setRemoteConfig(own, std::move(applied));
  runner_ = std::make_unique<ActionRunner>(*sink_, frpc_, probe_, std::move(hooks));
  runner_->setFeed([this](Outcome seen) { return core_->onOutcome(std::move(seen)); });
  auto source =
      KafkaSource::create(config_.consumerConfig, config_.topic, wakeWrite_.get(), &kafkaLink_);
  if (!source) {
    return source.error();
  }
  source_ = std::move(*source);
  reader_ = std::make_unique<TopicReader>(*source_, *core_, *runner_, config_.topic,
                                          config_.options.maxRequestAge);
  agentLogger()->info("edge-agent {} for edge {} on topic {} (kafka: {}; state: {})", kVersion,
                      config_.options.edgeId, config_.topic, config_.options.kafkaBrokers,
                      config_.statePath());
  agentLogger()->debug("consumer properties: {}", config_.consumerConfig.describe());
  agentLogger()->debug("producer properties: {}", config_.producerConfig.describe());

  StartupFacts facts;
  char host[256] = {0};
  if (::gethostname(host, sizeof host - 1) == 0) {
    facts.hostname = host;
  }
  facts.pid = static_cast<int64_t>(::getpid());
  runner_->run(core_->begin(std::move(*state), facts));

  if (notifier_.watchdogIntervalMs() > 0) {
    nextWatchdogMono_ = clock_.monoMs();
  }
  bootstrap_ = std::thread([this, stored = core_->state().positions]() { bootstrapKafka(stored); });
  return {};
}

std::optional<RemoteConfig> Agent::loadAppliedRemoteConfig() {
  const std::string path = remoteConfigPath(config_.options);
  auto loaded = loadRemoteConfig(path, clock_.wallMs());
  if (!loaded.warning.empty()) {
    agentLogger()->error("{}", loaded.warning);
  }
  if (!loaded.remote) {
    return std::nullopt;
  }
  auto checked = checkRemoteConfig(config_.options, *loaded.remote);
  if (!checked) {
    agentLogger()->warn(
        "remote config version {} in {} no longer fits this board's own config "
        "({}): running with the board's own config",
        loaded.remote->version, path, checked.error().message);
    return std::nullopt;
  }
  config_ = std::move(*checked);
  setLogLevel(config_.options.logLevel);
  agentLogger()->info("remote config version {} from {} (received {}) applied",
                      loaded.remote->version, path, formatRfc3339Ms(loaded.remote->receivedAtMs));
  return loaded.remote;
}

void Agent::applyRemoteConfig(const action::ApplyConfig& a) {
  if (auto r = saveRemoteConfig(remoteConfigPath(config_.options), a.remote); !r) {
    agentLogger()->error("{}: version {} is applied but will not survive a restart",
                         r.error().describe(), a.remote.version);
  }
  config_ = a.config;  // frpc's side (frps-addr, frps-port) from the next start
  setLogLevel(config_.options.logLevel);
}

void Agent::setLogLevel(const std::string& level) {
  if (auto parsed = log::parseLevel(level)) {
    spdlog::set_level(*parsed);
  }
}

VoidResult Agent::persist() {
  auto r = saveState(config_.statePath(), core_->state());
  if (!r) {
    // One line when writes start failing (or fail otherwise), one when they work again.
    ++persistFailures_;
    if (r.error().message != persistError_) {
      persistError_ = r.error().message;
      agentLogger()->error(
          "{}: requests are still answered, stops still stop frpc, frp starts are refused "
          "(500) until the state can be written",
          persistError_);
    }
  } else if (persistFailures_ > 0) {
    agentLogger()->info("state file {} written again after {} failed write(s)", config_.statePath(),
                        persistFailures_);
    persistFailures_ = 0;
    persistError_.clear();
  }
  return r;
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
      agentLogger()->error("poll: {}", std::strerror(errno));
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
    checkMove();
    runTimers();
    reader_->consume(shutdownRequested_);
    recoverOversize();
  }
}

int Agent::nextTimeoutMs() {
  const int64_t now = clock_.monoMs();
  if (reader_->backlog() && reader_->assigned() && !core_->busy()) {
    return 0;
  }
  int64_t due = core_->nextDueMono();
  if (nextWatchdogMono_ > 0) {
    due = std::min(due, nextWatchdogMono_);
  }
  if (move_) {
    due = std::min(due, move_->deadlineMono());
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
        agentLogger()->info("{}: shutting down", shutdownReason_);
        break;
      case SIGHUP:
        agentLogger()->info("SIGHUP: nothing to reload (restart the agent to apply a new config)");
        break;
      case SIGCHLD:
        runner_->run(core_->onFrpcSignal());
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
  core_->counters().setKafkaReconnects(kafkaLink_.losses());
  core_->counters().setRssBytes(probe_.rssBytes());
  runner_->run(core_->onTimers());
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
    auto plan = reader_->plan(stored, clock_.wallMs(), warned);
    if (!plan) {
      if (waitOrStop(1000)) {
        return;
      }
      continue;
    }
    {
      std::lock_guard<std::mutex> lock(bootstrapMutex_);
      plan_ = std::move(plan);
    }
    char b = 'b';
    ssize_t ignored = ::write(wakeWrite_.get(), &b, 1);
    (void)ignored;
    return;
  }
}

void Agent::stopBootstrap() {
  {
    std::lock_guard<std::mutex> lock(bootstrapMutex_);
    stopBootstrap_ = true;
  }
  bootstrapCv_.notify_all();
  if (bootstrap_.joinable()) {
    bootstrap_.join();
  }
}

void Agent::startMove(const action::MoveCluster& m) {
  move_ = std::make_unique<ClusterMove>(
      m.config, clock_.monoMs() + m.timeoutMs, clock_, wakeWrite_.get(), &kafkaLink_,
      [this](const kafka::DeliveryReport& r) { runner_->run(core_->onDelivery(toDelivery(r))); },
      *core_, *runner_);
}

void Agent::checkMove() {
  if (!move_) {
    return;
  }
  VoidResult moved;
  switch (move_->poll(clock_.monoMs())) {
    case ClusterMove::State::kWaiting:
      return;
    case ClusterMove::State::kFailed:
      moved = Error(Status::kUnavailable, move_->failure());
      move_.reset();
      break;
    case ClusterMove::State::kReady: {
      auto next = move_->take();
      move_.reset();
      moved = switchCluster(std::move(next));
      break;
    }
  }
  runner_->run(core_->onClusterMove(moved));
}

VoidResult Agent::switchCluster(ClusterMove::Clients next) {
  // What the old producer holds goes out on the old cluster while it can (bounded); the rest is
  // sent again on the new one (AgentCore::onClusterMove).
  if (auto r = producer_->flush(kMoveFlushMs); !r) {
    agentLogger()->warn(
        "moving: {} message(s) not delivered on the old cluster: {}; sent again "
        "on the new one",
        producer_->outstanding(), r.error().describe());
  }
  stopBootstrap();  // it reads the old consumer
  {
    std::lock_guard<std::mutex> lock(bootstrapMutex_);
    plan_.reset();  // the old cluster's
  }
  if (auto r = next.reader->assign(next.plan); !r) {
    return Error(Status::kUnavailable,
                 "cannot assign " + config_.topic + " on the new cluster: " + r.error().describe());
  }
  sink_->retarget(*next.producer);
  std::swap(producer_, next.producer);
  std::swap(source_, next.source);
  std::swap(reader_, next.reader);
  next.reader.reset();  // the old ones: the reader before its source
  next.source->close(2000);
  next.source.reset();
  next.producer.reset();  // undelivered messages fail silently: the core sends them again
  return {};
}

void Agent::takeAssignment() {
  std::optional<StartPlan> plan;
  {
    std::lock_guard<std::mutex> lock(bootstrapMutex_);
    plan.swap(plan_);
  }
  if (plan) {
    (void)reader_->assign(*plan);  // says so itself when it fails
  }
}

void Agent::recoverOversize() {
  if (auto r = reader_->recoverOversize(); !r) {
    shutdownRequested_ = true;
    shutdownReason_ = "Kafka consumer lost";
  }
}

// ---------------------------------------------------------------------------------------------
// Shutdown

void Agent::shutdown() {
  notifier_.stopping();
  if (move_) {
    agentLogger()->info("a move to another Kafka cluster was under way: the board stays");
    move_.reset();
  }
  runner_->run(core_->shutdown(shutdownReason_));
  const int64_t deadline = clock_.monoMs() + kShutdownFlushMs;
  while (!core_->state().outbox.empty() && clock_.monoMs() < deadline) {
    producer_->poll(50);
    runner_->run(core_->retryIfDue());
  }
  if (!core_->state().outbox.empty()) {
    agentLogger()->warn(
        "{} response(s)/event(s) not delivered at shutdown: kept in the state file "
        "for the next start",
        core_->state().outbox.size());
  }
  (void)producer_->flush(500);  // a pending heartbeat
  runner_->run(core_->saveNow());
  stopBootstrap();
  source_->close(10000);  // bounded; says so itself when Kafka does not answer
  agentLogger()->info("stopped");
}

}  // namespace edgelink::agent
