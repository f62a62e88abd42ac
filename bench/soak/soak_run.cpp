// The soak: a real agent (real frpc toward a real frps) and a real dispatcher daemon on the real
// Kafka broker and PostgreSQL. A session is opened (frp_start, an echo through the tunnel) and
// closed (frp_stop) every few seconds, and while it is open requests (pings, 1 in 4 a
// system_info) go out at a steady rate, signed as a web backend signs them; each is followed
// until the dispatcher stored the answer. Both daemons' RSS, descriptors and threads are sampled
// between sessions (nothing open then) and judged by the rule in soak_series.h.
#include <cstdio>
#include <memory>

#include "agent_harness.h"
#include "e2e_common.h"
#include "harness/frp_peers.h"
#include "soak.h"
#include "soak_series.h"

namespace edgelink::bench::soak {
namespace {

using namespace edgelink::testing;
using e2e::die;
using e2e::endToEnd;
using e2e::ResponseWatch;

struct Peers {
  FrpsProcess frps;
  EchoServer echo;
  uint16_t tunnelPort = freeTcpPort();
};

AgentSetup agentSetup(DispatcherHarness& h, Peers& p) {
  AgentSetup as = e2e::benchAgent(h);
  as.frpcPath = realFrpcPath();
  as.frpsAddr = "127.0.0.1";
  as.frpsPort = p.frps.port();
  as.frpsToken = p.frps.token();
  as.services = {"ssh=127.0.0.1:" + std::to_string(p.echo.port())};
  as.remotePorts = std::to_string(p.tunnelPort) + "-" + std::to_string(p.tunnelPort);
  return as;
}

/// What the load did.
struct Load {
  int sessions = 0;
  int requests = 0;
  std::vector<double> stored;  ///< published -> stored, ms (every request)
};

class Soak {
 public:
  Soak(const Args& a, DispatcherHarness& h, AgentUnderTest& agent, Peers& peers)
      : a_(a),
        h_(h),
        agent_(agent),
        peers_(peers),
        watch_(h.conninfo()),
        client_(e2e::clientConfig(h.broker(), false), e2e::clientConfig(h.broker(), true),
                agent.topic()) {
    client_.signWith(&e2e::webBackendKey());
    client_.warmUp("bench");
  }

  /// Runs the load for the whole run, sampling when due; the samples after warm-up.
  void run() {
    const double t0 = nowUs();
    double nextSample = 0;
    for (;;) {
      const double at = (nowUs() - t0) / 1e6;
      if (at >= nextSample) {
        sample(at);
        nextSample += a_.sampleSeconds;
      }
      if (at >= a_.runSeconds) {
        return;
      }
      session(t0 + (at + a_.sessionSeconds) * 1e6);
    }
  }

  const std::vector<ProcSample>& agentSamples() const { return agentSamples_; }
  const std::vector<ProcSample>& dispatcherSamples() const { return dispatcherSamples_; }
  const Load& load() const { return load_; }

 private:
  e2e::Timing request(const std::string& type, const std::string& body) {
    e2e::Timing t = endToEnd(client_, watch_, type, body);
    if (t.answer.statusCode != 200) {
      die(type + " answered " + std::to_string(t.answer.statusCode) + "\n" + agent_.agentLog());
    }
    ++load_.requests;
    load_.stored.push_back(t.stored);
    return t;
  }

  /// One session: opened, used, requests at the steady rate until `endUs`, closed.
  void session(double endUs) {
    const std::string port = std::to_string(peers_.tunnelPort);
    request("frp_start", "{\"services\":{\"ssh\":" + port + "}}");
    if (exchange(peers_.tunnelPort, "through the tunnel") != "through the tunnel") {
      die("no echo through the tunnel on port " + port + "\n" + agent_.agentLog());
    }
    const double every = 1e6 / a_.requestsPerSecond;
    double due = nowUs();
    for (int i = 0; due + every < endUs; ++i) {
      due += every;
      while (nowUs() < due) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
      request(i % 4 == 3 ? "system_info" : "ping", "{}");
    }
    request("frp_stop", "{}");
    ++load_.sessions;
  }

  void sample(double at) {
    const ProcSample ag = readProc(agent_.pid(), at);
    const ProcSample di = readProc(h_.daemon(0).pid(), at);
    std::printf(
        "  %5.0f s  agent: RSS %6.1f MB  fds %3d  threads %2d   dispatcher: RSS %6.1f MB  fds "
        "%3d  threads %2d%s\n",
        at, ag.rssMb, ag.fds, ag.threads, di.rssMb, di.fds, di.threads,
        at < a_.warmupSeconds ? "  (warm-up)" : "");
    if (ag.fds < 0 || di.fds < 0) {
      die("a daemon went away\n" + agent_.agentLog() + "\n" + h_.daemonLog(0));
    }
    if (at >= a_.warmupSeconds) {
      agentSamples_.push_back(ag);
      dispatcherSamples_.push_back(di);
    }
  }

  const Args& a_;
  DispatcherHarness& h_;
  AgentUnderTest& agent_;
  Peers& peers_;
  ResponseWatch watch_;
  RoundTripClient client_;
  Load load_;
  std::vector<ProcSample> agentSamples_, dispatcherSamples_;
};

}  // namespace

bool runSoak(const Args& a) {
  DispatcherHarness::Setup ds({"bench"});
  ds.broker = BrokerKind::kKafka;
  ds.productionSettings = true;
  DispatcherHarness h(ds);
  h.startDaemon();
  e2e::waitAssigned(h, 1, 60000);
  Peers peers;
  AgentUnderTest agent(agentSetup(h, peers));
  agent.start({"--log-level", "warn"});
  std::printf(
      "soak on the real Kafka broker and PostgreSQL, real frpc and frps: %d s (warm-up %d s), a "
      "session every %d s, %d requests/s while it is open; sampled every %d s between sessions\n",
      a.runSeconds, a.warmupSeconds, a.sessionSeconds, a.requestsPerSecond, a.sampleSeconds);
  Soak soak(a, h, agent, peers);
  soak.run();
  const Rule rule;
  const Verdict va = judge(soak.agentSamples(), rule);
  const Verdict vd = judge(soak.dispatcherSamples(), rule);
  const Load& load = soak.load();
  std::printf("  %d sessions, %d requests stored; published -> stored p50 %.1f ms  p99 %.1f ms\n",
              load.sessions, load.requests, percentile(load.stored, 0.5),
              percentile(load.stored, 0.99));
  std::printf("  after warm-up (%zu samples; slopes are least squares, per hour):\n",
              soak.agentSamples().size());
  std::printf("  %s\n  %s\n", describe("agent", soak.agentSamples(), va).c_str(),
              describe("dispatcher", soak.dispatcherSamples(), vd).c_str());
  std::printf("  rule: %s\n", describeRule(rule).c_str());
  const bool passed = va.failures.empty() && vd.failures.empty();
  std::printf("  soak: %s\n", passed ? "passed" : "FAILED");
  agent.stop();
  return passed;
}

}  // namespace edgelink::bench::soak
