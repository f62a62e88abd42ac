#pragma once

// bench_chaos: the whole system under a seeded storm of faults (docs/RELIABILITY.md, "The chaos
// run"). The world (World) is the tests' harness put together: a private real Kafka broker, a
// private PostgreSQL, several dispatchers in one consumer group, real agents with real frpc
// toward a real frps, and the edge simulator for the rest of the fleet. A simulated web backend
// (Load) publishes requests; faults (Fault) strike at moments drawn from the seed; the checker
// (checkInvariants) reads PostgreSQL, the agents' frpc and the process table at the end.

#include <atomic>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "agent_harness.h"
#include "dispatcher_harness.h"
#include "edge_simulator.h"
#include "harness/fault_proxy.h"
#include "harness/frp_peers.h"
#include "harness/pg_cluster.h"
#include "kafka/client.h"

namespace edgelink::bench::chaos {

struct Args {
  uint32_t seed = 0;  ///< 0: drawn from the clock (printed, so the run replays)
  bool quick = false;
  double minutes = 5;       ///< the whole run: warm-up, faults, quiet drain
  int dispatchers = 3;      ///< in one consumer group
  int agents = 3;           ///< real agents with real frpc
  int simEdges = 2000;      ///< simulated boards
  int rate = 20;            ///< requests per second from the web backend
  int outageSeconds = 30;   ///< PostgreSQL's outage
  int meanGapSeconds = 20;  ///< mean time between faults
  int drainSeconds = 60;    ///< quiet period at the end (no faults, no load)
};

enum class Fault {
  kDispatcherKill,  ///< kill -9 of a dispatcher, started again
  kAgentKill,       ///< kill -9 of a real agent (with its frpc), started again
  kBrokerKill,      ///< kill -9 of the broker, started again on the same data
  kPgRestart,       ///< PostgreSQL fast shutdown and start
  kPgOutage,        ///< PostgreSQL down for Args::outageSeconds
  kFrpsRestart,     ///< frps stopped and started
  kPgLinkCut,       ///< the link between one dispatcher and PostgreSQL cut (FaultProxy)
  kPgLinkSlow,      ///< the same link slowed down
  kCount
};
const char* faultName(Fault f);

/// One fault of the schedule: when (seconds from the start of the load) and what.
struct PlannedFault {
  double atSeconds = 0;
  Fault kind = Fault::kCount;
};

/// The faults of a run, from its seed alone: every kind at least once, then more at random gaps.
std::vector<PlannedFault> planFaults(uint32_t seed, double fromSeconds, double toSeconds,
                                     int meanGapSeconds);

/// A real agent and what it may be asked to expose.
struct RealEdge {
  std::unique_ptr<testing::AgentUnderTest> agent;
  std::vector<uint16_t> ports;  ///< its remote-ports (frp starts choose among them)
};

/// Everything the run starts, and the faults it can make.
class World {
 public:
  explicit World(const Args& a);
  ~World();
  World(const World&) = delete;
  World& operator=(const World&) = delete;

  testing::DispatcherHarness& harness() { return *h_; }
  std::vector<RealEdge>& agents() { return agents_; }
  const std::vector<std::string>& simEdges() const { return simEdges_; }
  testing::EdgeSimulator& simulator() { return *sim_; }
  /// A simulated edge's own port (no two simulated edges share one).
  uint16_t simPort(size_t i) const { return static_cast<uint16_t>(simPortBase_ + i); }

  /// Makes fault `f` (choices from `rng`); returns what was done, for the log.
  std::string inject(Fault f, std::mt19937& rng);
  /// Starts again a dispatcher or an agent that exited on its own (as systemd would); returns
  /// what it restarted ("" when all ran).
  std::string supervise();
  /// Processes that exited on their own so far.
  int unexpectedExits() const { return unexpectedExits_; }
  /// The pids of the running dispatchers.
  std::vector<int> dispatcherPids();

 private:
  std::string killDispatcher(std::mt19937& rng);
  std::string killAgent(std::mt19937& rng);
  std::string pgOutage(int seconds);
  std::string pgLink(testing::FaultProxy::Mode mode, int seconds);
  /// Starts the dispatcher of `slot` (slot 0 reaches PostgreSQL through pgProxy_).
  void startDispatcher(size_t slot);

  Args args_;
  std::unique_ptr<testing::PgCluster> pg_;
  std::unique_ptr<testing::DispatcherHarness> h_;
  std::unique_ptr<testing::FaultProxy> pgProxy_;
  std::string proxiedConninfo_;
  std::vector<size_t> live_;  ///< per slot, the index of its running dispatcher in h_->daemon()
  std::unique_ptr<testing::FrpsProcess> frps_;
  std::unique_ptr<testing::EchoServer> echo_;
  std::vector<RealEdge> agents_;
  std::vector<std::string> simEdges_;
  uint16_t simPortBase_ = 40000;
  std::unique_ptr<testing::EdgeSimulator> sim_;
  int unexpectedExits_ = 0;
};

/// One request the web backend published.
struct Published {
  std::string id, edge, type;
  int delivered = 0;  ///< 0 waiting for the report, 1 delivered, -1 refused
};

/// The simulated web backend: signed requests to random edges at a steady rate, on a thread.
class Load {
 public:
  Load(World& w, const Args& a);
  ~Load();
  Load(const Load&) = delete;
  Load& operator=(const Load&) = delete;
  /// Publishes one request now (before start(): the warm-up); returns its id.
  std::string publish(const std::string& edge, const std::string& type, const std::string& body);
  /// Starts the steady load on its thread.
  void start();
  /// Stops publishing and waits for the last delivery reports; then published() is final.
  void stop();
  const std::vector<Published>& published() const { return published_; }
  std::string problem() const { return problem_; }

 private:
  void run();
  void publishOne(std::mt19937& rng);

  World& world_;
  Args args_;
  std::unique_ptr<kafka::Producer> producer_;
  std::vector<Published> published_;  ///< touched by the thread only until stop()
  std::string problem_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

/// What the checker found.
struct Verdict {
  size_t published = 0, refused = 0, stored = 0, answered = 0;
  size_t lost = 0, duplicated = 0, violations = 0;
  std::vector<std::string> details;  ///< every violation, the first first
};

/// Reads PostgreSQL, the real agents' frpc and the process table.
Verdict checkInvariants(World& w, const std::vector<Published>& published);

}  // namespace edgelink::bench::chaos
