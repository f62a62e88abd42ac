// The chaos run's world, built from the tests' harness, and the faults it can make.
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <thread>

#include "chaos.h"
#include "e2e_common.h"

namespace edgelink::bench::chaos {
namespace {

using namespace edgelink::testing;

/// `n` consecutive ports nobody listens on, outside [avoidFrom, avoidTo).
uint16_t freeRange(int n, int avoidFrom, int avoidTo) {
  for (int attempt = 0; attempt < 200; ++attempt) {
    const int base = freeTcpPort();
    if (base + n > 65535 || (base + n > avoidFrom && base < avoidTo)) {
      continue;
    }
    bool free = true;
    for (int p = base; p < base + n && free; ++p) {
      free = tcpRefused(static_cast<uint16_t>(p));
    }
    if (free) {
      return static_cast<uint16_t>(base);
    }
  }
  throw std::runtime_error("no range of " + std::to_string(n) + " free ports");
}

void sleepSeconds(double s) {
  std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<int64_t>(s * 1000)));
}

DispatcherHarness::Setup dispatcherSetup(const std::vector<std::string>& edges,
                                         const std::string& conninfo) {
  DispatcherHarness::Setup ds(edges, {}, conninfo);
  ds.broker = BrokerKind::kKafka;
  ds.privateBroker = true;  // killed and restarted
  return ds;
}

}  // namespace

const char* faultName(Fault f) {
  switch (f) {
    case Fault::kDispatcherKill:
      return "dispatcher kill -9";
    case Fault::kAgentKill:
      return "agent kill -9";
    case Fault::kBrokerKill:
      return "broker kill -9";
    case Fault::kPgRestart:
      return "PostgreSQL fast restart";
    case Fault::kPgOutage:
      return "PostgreSQL outage";
    case Fault::kFrpsRestart:
      return "frps restart";
    case Fault::kPgLinkCut:
      return "dispatcher-PostgreSQL link cut";
    case Fault::kPgLinkSlow:
      return "dispatcher-PostgreSQL link slow";
    case Fault::kCount:
      break;
  }
  return "?";
}

std::vector<PlannedFault> planFaults(uint32_t seed, double fromSeconds, double toSeconds,
                                     int meanGapSeconds) {
  std::mt19937 rng(seed);
  std::vector<Fault> kinds;
  for (int k = 0; k < static_cast<int>(Fault::kCount); ++k) {
    kinds.push_back(static_cast<Fault>(k));
  }
  std::shuffle(kinds.begin(), kinds.end(), rng);
  std::exponential_distribution<double> gap(1.0 / meanGapSeconds);
  std::uniform_int_distribution<int> anyKind(0, static_cast<int>(Fault::kCount) - 1);
  std::vector<PlannedFault> plan;
  double at = fromSeconds;
  for (size_t i = 0;; ++i) {
    at += 2 + gap(rng);
    if (at >= toSeconds) {
      break;
    }
    const Fault kind = i < kinds.size() ? kinds[i] : static_cast<Fault>(anyKind(rng));
    plan.push_back({at, kind});
  }
  return plan;
}

World::World(const Args& a) : args_(a) {
  pg_ = PgCluster::start();
  std::vector<std::string> edges;
  for (int i = 0; i < a.agents; ++i) {
    edges.push_back("agent" + std::to_string(i));
  }
  for (int i = 0; i < a.simEdges; ++i) {
    char name[16];
    std::snprintf(name, sizeof name, "sim%04d", i);
    simEdges_.emplace_back(name);
    edges.emplace_back(name);
  }
  const std::string conninfo = pg_->createDatabase("chaos");
  h_ = std::make_unique<DispatcherHarness>(dispatcherSetup(edges, conninfo));
  // The first dispatcher reaches PostgreSQL through a proxy that can cut or slow its link.
  pgProxy_ = std::make_unique<FaultProxy>(pg_->port());
  proxiedConninfo_ = conninfo;
  const std::string direct = "port=" + std::to_string(pg_->port());
  proxiedConninfo_.replace(proxiedConninfo_.find(direct), direct.size(),
                           "port=" + std::to_string(pgProxy_->port()));
  live_.resize(static_cast<size_t>(a.dispatchers));
  for (size_t slot = 0; slot < live_.size(); ++slot) {
    startDispatcher(slot);
  }
  e2e::waitAssigned(*h_, static_cast<int>(edges.size()), 300000);
  frps_ = std::make_unique<FrpsProcess>();
  echo_ = std::make_unique<EchoServer>();
  const int simTo = simPortBase_ + a.simEdges;
  for (int i = 0; i < a.agents; ++i) {
    RealEdge edge;
    const uint16_t base = freeRange(2, simPortBase_, simTo);
    edge.ports = {base, static_cast<uint16_t>(base + 1)};
    AgentSetup as = e2e::benchAgent(*h_);
    as.edgeId = "agent" + std::to_string(i);
    as.frpcPath = realFrpcPath();
    as.frpsAddr = "127.0.0.1";
    as.frpsPort = frps_->port();
    as.frpsToken = frps_->token();
    as.services = {"ssh=127.0.0.1:" + std::to_string(echo_->port())};
    as.remotePorts = std::to_string(base) + "-" + std::to_string(base + 1);
    edge.agent = std::make_unique<AgentUnderTest>(as);
    edge.agent->start({"--log-level", "info"});
    agents_.push_back(std::move(edge));
  }
  EdgeSimulator::Tuning tuning;
  tuning.fetchWaitMs = 500;
  tuning.flushEach = false;
  sim_ = std::make_unique<EdgeSimulator>(h_->broker().bootstrap(), simEdges_, h_->topicPrefix(),
                                         tuning);
}

World::~World() {
  sim_.reset();
  for (auto& e : agents_) {
    e.agent.reset();
  }
  h_.reset();
}

void World::startDispatcher(size_t slot) {
  live_[slot] =
      h_->startDaemon(slot == 0 ? std::vector<std::string>{"--pg-conninfo", proxiedConninfo_}
                                : std::vector<std::string>{});
}

std::vector<int> World::dispatcherPids() {
  std::vector<int> pids;
  for (size_t i : live_) {
    pids.push_back(h_->daemon(i).pid());
  }
  return pids;
}

std::string World::killDispatcher(std::mt19937& rng) {
  std::uniform_int_distribution<size_t> pick(0, live_.size() - 1);
  const size_t slot = pick(rng);
  Subprocess& d = h_->daemon(live_[slot]);
  const int pid = d.pid();
  d.signal(SIGKILL);
  d.waitFor(-1);
  startDispatcher(slot);
  return "dispatcher pid " + std::to_string(pid) + " killed; started again as pid " +
         std::to_string(h_->daemon(live_[slot]).pid());
}

std::string World::killAgent(std::mt19937& rng) {
  std::uniform_int_distribution<size_t> pick(0, agents_.size() - 1);
  auto& agent = *agents_[pick(rng)].agent;
  const int pid = agent.pid();
  const size_t frpc = processesWithArg(agent.frpcConfigPath()).size();
  agent.kill9();
  sleepSeconds(1);
  agent.start({"--log-level", "info"});
  return agent.setup().edgeId + " pid " + std::to_string(pid) + " killed (" + std::to_string(frpc) +
         " frpc running); started again as pid " + std::to_string(agent.pid());
}

std::string World::pgOutage(int seconds) {
  pg_->stop(false);
  for (int i = 0; i < seconds; ++i) {
    sleepSeconds(1);
    (void)supervise();
  }
  pg_->startAgain();
  return "down " + std::to_string(seconds) + " s (fast shutdown), started again";
}

std::string World::pgLink(FaultProxy::Mode mode, int seconds) {
  pgProxy_->set(mode, 300);
  for (int i = 0; i < seconds; ++i) {
    sleepSeconds(1);
    (void)supervise();
  }
  pgProxy_->set(FaultProxy::Mode::kPass);
  return "dispatcher pid " + std::to_string(h_->daemon(live_[0]).pid()) + ": " +
         (mode == FaultProxy::Mode::kCut ? "cut" : "300 ms per chunk") + " for " +
         std::to_string(seconds) + " s";
}

std::string World::inject(Fault f, std::mt19937& rng) {
  switch (f) {
    case Fault::kDispatcherKill:
      return killDispatcher(rng);
    case Fault::kAgentKill:
      return killAgent(rng);
    case Fault::kBrokerKill: {
      const int pid = h_->broker().pid();
      h_->broker().kill9();
      sleepSeconds(2);
      h_->broker().restart();
      return "broker pid " + std::to_string(pid) + " killed; started again as pid " +
             std::to_string(h_->broker().pid());
    }
    case Fault::kPgRestart:
      return pgOutage(0);
    case Fault::kPgOutage:
      return pgOutage(args_.outageSeconds);
    case Fault::kFrpsRestart:
      frps_->stop();
      sleepSeconds(1);
      frps_->start();
      return "frps stopped and started again";
    case Fault::kPgLinkCut:
      return pgLink(FaultProxy::Mode::kCut, args_.outageSeconds);
    case Fault::kPgLinkSlow:
      return pgLink(FaultProxy::Mode::kSlow, 20);
    case Fault::kCount:
      break;
  }
  return "";
}

std::string World::supervise() {
  std::string what;
  for (size_t slot = 0; slot < live_.size(); ++slot) {
    Subprocess& d = h_->daemon(live_[slot]);
    if (auto status = d.tryWait()) {
      ++unexpectedExits_;
      what += "dispatcher pid " + std::to_string(d.pid()) + " exited (status " +
              std::to_string(*status) + "), started again; ";
      startDispatcher(slot);
    }
  }
  for (auto& e : agents_) {
    if (!e.agent->running()) {
      ++unexpectedExits_;
      what += e.agent->setup().edgeId + " exited, started again; ";
      e.agent->start({"--log-level", "info"});
    }
  }
  return what;
}

}  // namespace edgelink::bench::chaos
