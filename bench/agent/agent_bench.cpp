// The edge agent against bare librdkafka measured in the same run, on the real Kafka broker
// and then on the dev broker (librdkafka's mock cluster):
//
//  1. round trips: a bare produce->consume (one Kafka hop, the clients' consumer settings for
//     that broker), then request->response through the agent (two hops) for ping and for frp
//     start/stop (the frpc stand-in); p50/p99 and the ratio to the bare round trip;
//  2. footprint (real broker, production consumer settings): the agent's RSS and threads idle
//     and during an frp session, against a bare librdkafka consumer + producer with the agent's
//     settings in a child process; idle CPU of both over the same window.
//
//   bench_agent [--quick] [--pings N] [--starts N] [--idle-seconds S] [--broker real|mock|both]
//   bench_agent --bare-client BOOTSTRAP TOPIC [PROPERTY...]   (the footprint baseline)
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "agent_config.h"
#include "agent_harness.h"
#include "core/clock.h"
#include "core/subprocess.h"
#include "core/time_format.h"
#include "envelope/json_util.h"
#include "kafka/client.h"
#include "round_trip.h"

using namespace edgelink;
using namespace edgelink::testing;
using namespace edgelink::bench;

namespace {

/// The agent's own consumer / producer settings, plus the broker's test properties (the mock
/// needs a small fetch.wait.max.ms: it never wakes a waiting fetch).
kafka::Config consumerSettings(const std::string& bootstrap,
                               const std::vector<std::string>& props) {
  kafka::Config c = agent::consumerDefaults("bench-" + std::to_string(::getpid()));
  c.set("bootstrap.servers", bootstrap);
  c.set("log_level", "3");
  (void)c.apply(props, "property");
  return c;
}

kafka::Config producerSettings(const std::string& bootstrap) {
  kafka::Config c = agent::producerDefaults("bench-" + std::to_string(::getpid()));
  c.set("bootstrap.servers", bootstrap);
  c.set("log_level", "3");
  return c;
}

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "bench_agent: %s\n", what.c_str());
  std::exit(1);
}

/// The baseline for footprint: a bare consumer + producer with the agent's settings.
int bareClient(const std::string& bootstrap, const std::string& topic,
               const std::vector<std::string>& props) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  ::pthread_sigmask(SIG_BLOCK, &set, nullptr);
  auto p = kafka::Producer::create(producerSettings(bootstrap));
  auto c = kafka::Consumer::create(consumerSettings(bootstrap, props));
  if (!p || !c || !(*c)->assign({{topic, 0, RD_KAFKA_OFFSET_END}})) {
    return 1;
  }
  // One message through both, so every connection the agent has is open here too.
  bool seen = false;
  for (int i = 0; i < 6000 && !seen; ++i) {
    if (i % 500 == 0) {
      (void)(*p)->produce(topic, "bare", "bare-ready");
    }
    (*p)->poll(0);
    auto m = (*c)->poll(10);
    seen = m && !m->isError() && m->payload() == "bare-ready";
  }
  std::printf("%s\n", seen ? "ready" : "failed");
  std::fflush(stdout);
  timespec zero{0, 0};
  while (::sigtimedwait(&set, nullptr, &zero) < 0) {
    (*p)->poll(0);
    (void)(*c)->poll(1000);
  }
  return 0;
}

struct Args {
  int pings = 1000;
  int starts = 500;
  int idleSeconds = 5;
  std::vector<BrokerKind> brokers = {BrokerKind::kKafka, BrokerKind::kMock};
};

struct Footprint {
  double agentCpuPct = 0, bareCpuPct = 0;
  uint64_t agentIdleRss = 0, bareRss = 0, sessionRss = 0;
  int agentIdleThreads = 0, bareThreads = 0, sessionThreads = 0;
};

/// Idle footprint and CPU of the agent and of a bare client over the same window.
Footprint measureIdle(AgentUnderTest& agent, const std::string& topic, int idleSeconds) {
  Footprint f;
  SpawnOptions bareOpts;
  bareOpts.argv = {"/proc/self/exe", "--bare-client", agent.broker().bootstrap(), topic};
  for (const auto& p : agent.broker().clientProperties()) {
    bareOpts.argv.push_back(p);
  }
  bareOpts.pipeStdout = true;
  auto bareProc = Subprocess::spawn(bareOpts);
  if (!bareProc || readLine(bareProc->stdoutFd(), 60000).value_or("") != "ready") {
    die("the bare client did not start");
  }
  std::this_thread::sleep_for(std::chrono::seconds(1));
  int64_t agentCpu0 = cpuTimeMs(agent.pid());
  int64_t bareCpu0 = cpuTimeMs(bareProc->pid());
  std::this_thread::sleep_for(std::chrono::seconds(idleSeconds));
  f.agentCpuPct =
      100.0 * static_cast<double>(cpuTimeMs(agent.pid()) - agentCpu0) / (idleSeconds * 1000.0);
  f.bareCpuPct =
      100.0 * static_cast<double>(cpuTimeMs(bareProc->pid()) - bareCpu0) / (idleSeconds * 1000.0);
  f.agentIdleRss = rssBytes(agent.pid());
  f.agentIdleThreads = threadCount(agent.pid());
  f.bareRss = rssBytes(bareProc->pid());
  f.bareThreads = threadCount(bareProc->pid());
  bareProc->terminate(5000);
  return f;
}

void printFootprint(const Footprint& f, int idleSeconds, BrokerKind k) {
  std::printf(
      "  RSS idle: agent %.1f MB (%d threads), bare consumer+producer %.1f MB (%d threads):"
      " %.2fx (bar <= 1.5x: %s)\n",
      static_cast<double>(f.agentIdleRss) / 1048576.0, f.agentIdleThreads,
      static_cast<double>(f.bareRss) / 1048576.0, f.bareThreads,
      static_cast<double>(f.agentIdleRss) / static_cast<double>(f.bareRss),
      static_cast<double>(f.agentIdleRss) <= 1.5 * static_cast<double>(f.bareRss) ? "met"
                                                                                  : "MISSED");
  std::printf(
      "  RSS during an frp session: agent %.1f MB (%d threads; frpc is a separate "
      "process)\n",
      static_cast<double>(f.sessionRss) / 1048576.0, f.sessionThreads);
  std::printf("  idle CPU over %d s: agent %.2f%%, bare client %.2f%% (%s)\n", idleSeconds,
              f.agentCpuPct, f.bareCpuPct,
              k == BrokerKind::kKafka ? "fetch.wait.max.ms 500: the broker wakes a waiting fetch"
                                      : "fetch.wait.max.ms 10: the mock never wakes a fetch");
}

/// Pings with ids 1..n (after one with id 0 to warm up).
std::vector<double> pings(RoundTripClient& client, int n) {
  client.roundTrip("bench", requestJson(envelope::Id::number(0), "ping", "{}", nowMs()),
                   [](std::string_view v) { return isResponseTo(v, "0"); });
  std::vector<double> ping;
  for (int i = 1; i <= n; ++i) {
    std::string idJson = std::to_string(i);
    ping.push_back(client.roundTrip(
        "bench", requestJson(envelope::Id::number(static_cast<uint64_t>(i)), "ping", "{}", nowMs()),
        [&](std::string_view v) { return isResponseTo(v, idJson); }));
  }
  return ping;
}

/// frp start/stop round trips; each start split into where the time goes.
struct Sessions {
  std::vector<double> startMs, stopMs, inboundMs, agentMs, outboundMs;
};

/// `n` starts and stops, ids from `firstId`; the agent's footprint during the first session
/// goes into `f`.
Sessions startsAndStops(RoundTripClient& client, AgentUnderTest& agent, int n, uint64_t firstId,
                        Footprint& f) {
  Sessions s;
  uint64_t next = firstId;
  for (int i = 0; i < n; ++i) {
    uint64_t sid = next++;
    std::string sidJson = std::to_string(sid);
    double sent = static_cast<double>(nowMs());
    envelope::Envelope r;
    s.startMs.push_back(client.roundTrip(
        "bench",
        requestJson(envelope::Id::number(sid), "frp_start", R"({"services":{"ssh":31022}})",
                    nowMs()),
        [&](std::string_view v) { return isResponseTo(v, sidJson); }, &r));
    double received = static_cast<double>(nowMs());
    if (r.statusCode != 200) {
      die("frp_start answered " + std::to_string(r.statusCode) + "\n" + agent.agentLog());
    }
    auto startedAt = parseRfc3339Ms(json::getString(r.body(), "started_at"));
    double began = static_cast<double>(startedAt.value_or(0));
    s.inboundMs.push_back(began - sent);
    s.agentMs.push_back(static_cast<double>(r.timestampMs) - began);
    s.outboundMs.push_back(received - static_cast<double>(r.timestampMs));
    if (i == 0) {
      f.sessionRss = rssBytes(agent.pid());
      f.sessionThreads = threadCount(agent.pid());
    }
    uint64_t tid = next++;
    std::string tidJson = std::to_string(tid);
    s.stopMs.push_back(
        client.roundTrip("bench", requestJson(envelope::Id::number(tid), "frp_stop", "{}", nowMs()),
                         [&](std::string_view v) { return isResponseTo(v, tidJson); }));
  }
  return s;
}

void printLatencies(BrokerKind kind, bool production, const Args& a,
                    const std::vector<double>& bare, const std::vector<double>& ping,
                    const Sessions& s) {
  const double bareP50 = percentile(bare, 0.5), bareP99 = percentile(bare, 0.99);
  std::printf("edge agent on the %s (%s)\n", brokerKindName(kind),
              production ? "production consumer settings" : "fetch.wait.max.ms=10 everywhere");
  std::printf("  bare produce->consume (1 hop)   : p50 %7.2f ms  p99 %7.2f ms  (%d)\n", bareP50,
              bareP99, a.pings);
  std::printf(
      "  ping request->response (2 hops) : p50 %7.2f ms  p99 %7.2f ms  (%d)  ratio p50 "
      "%.2fx  p99 %.2fx\n",
      percentile(ping, 0.5), percentile(ping, 0.99), a.pings, percentile(ping, 0.5) / bareP50,
      percentile(ping, 0.99) / bareP99);
  std::printf(
      "  frp_start -> 200 (stand-in)     : p50 %7.2f ms  p99 %7.2f ms  (%d)  ratio p50 "
      "%.2fx\n",
      percentile(s.startMs, 0.5), percentile(s.startMs, 0.99), a.starts,
      percentile(s.startMs, 0.5) / bareP50);
  std::printf("      request to agent (Kafka)    : p50 %7.2f ms\n", percentile(s.inboundMs, 0.5));
  std::printf("      agent: config, spawn, proxies running: p50 %7.2f ms\n",
              percentile(s.agentMs, 0.5));
  std::printf("      response to client (Kafka)  : p50 %7.2f ms\n", percentile(s.outboundMs, 0.5));
  std::printf("  frp_stop -> 200                 : p50 %7.2f ms  p99 %7.2f ms  (%d)\n",
              percentile(s.stopMs, 0.5), percentile(s.stopMs, 0.99), a.starts);
}

/// Every measure on one broker; prints its block.
void runOn(BrokerKind kind, const Args& a) {
  AgentSetup setup;
  setup.edgeId = "bench";
  setup.broker = kind;
  setup.privateBroker = false;
  const std::string baselineTopic = uniqueName("bench-baseline-");
  setup.extraTopics = {{baselineTopic, 1}};
  setup.watchTopic = false;
  AgentUnderTest agent(setup);
  const std::string bootstrap = agent.broker().bootstrap();
  const auto props = agent.broker().clientProperties();

  // 1a. Bare round trips (one hop), the agent's consumer settings.
  RoundTripClient base(producerSettings(bootstrap), consumerSettings(bootstrap, props),
                       baselineTopic);
  const std::vector<double> bare = bareRoundTrips(base, a.pings);
  // 1b. The agent: ping, then frp start/stop.
  agent.start({"--log-level", "warn"});
  RoundTripClient client(producerSettings(bootstrap), consumerSettings(bootstrap, props),
                         agent.topic());
  client.signWith(&agent.cloudKey());  // requests signed as the cloud signs them
  client.warmUp("bench");  // not a request: the agent ignores it (logged as undecodable)
  const std::vector<double> ping = pings(client, a.pings);
  Footprint f;
  if (kind == BrokerKind::kKafka) {
    f = measureIdle(agent, baselineTopic, a.idleSeconds);
  }
  const Sessions s = startsAndStops(client, agent, a.starts, static_cast<uint64_t>(a.pings) + 1, f);
  agent.stop();

  printLatencies(kind, props.empty(), a, bare, ping, s);
  if (kind == BrokerKind::kKafka) {
    printFootprint(f, a.idleSeconds, kind);
  }
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 4 && std::strcmp(argv[1], "--bare-client") == 0) {
    return bareClient(argv[2], argv[3], std::vector<std::string>(argv + 4, argv + argc));
  }
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--quick") {
      a.pings = 200;
      a.starts = 20;
      a.idleSeconds = 3;
    } else if (arg == "--pings" && i + 1 < argc) {
      a.pings = std::atoi(argv[++i]);
    } else if (arg == "--starts" && i + 1 < argc) {
      a.starts = std::atoi(argv[++i]);
    } else if (arg == "--idle-seconds" && i + 1 < argc) {
      a.idleSeconds = std::atoi(argv[++i]);
    } else if (arg == "--broker" && i + 1 < argc) {
      std::string b = argv[++i];
      auto kinds = brokerKindsNamed(b);
      if (!kinds) {
        die("--broker: expected real, mock or both, got " + b);
      }
      a.brokers = *kinds;
    } else {
      std::fprintf(stderr,
                   "usage: bench_agent [--quick] [--pings N] [--starts N] [--idle-seconds S] "
                   "[--broker real|mock|both]\n");
      return 2;
    }
  }
  try {
    for (BrokerKind k : a.brokers) {
      runOn(k, a);
    }
  } catch (const std::exception& e) {
    die(e.what());
  }
  return 0;
}
