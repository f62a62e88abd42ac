// The edge agent through the dev broker, against bare librdkafka measured in the same run:
//
//  1. round trips: a bare produce->consume (one Kafka hop, the agent's consumer settings),
//     then request->response through the agent (two hops) for ping and for frp start/stop
//     (the frpc stand-in); p50/p99 and the ratio to the bare round trip;
//  2. footprint: the agent's RSS and threads idle and during an frp session, against a bare
//     librdkafka consumer + producer with the agent's settings in a child process; idle CPU of
//     both over the same window.
//
//   bench_agent [--quick] [--pings N] [--starts N] [--idle-seconds S]
//   bench_agent --bare-client BOOTSTRAP TOPIC     (the footprint baseline, run by the above)
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

using namespace edgelink;
using namespace edgelink::testing;

namespace {

const auto& kClock = SystemClock::instance();

double nowUs() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) {
    return 0;
  }
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

/// The consumer settings of the agent (as the harness configures it: fetch.wait.max.ms=10,
/// needed against the mock broker, which does not wake waiting fetches).
kafka::Config consumerSettings(const std::string& bootstrap) {
  kafka::Config c = agent::consumerDefaults("bench-" + std::to_string(::getpid()));
  c.set("bootstrap.servers", bootstrap);
  c.set("fetch.wait.max.ms", "10");
  c.set("log_level", "3");
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

/// A client like a web backend: produces requests and reads answers, timing each round trip.
class Client {
 public:
  Client(const std::string& bootstrap, const std::string& topic) : topic_(topic) {
    auto p = kafka::Producer::create(producerSettings(bootstrap));
    auto c = kafka::Consumer::create(consumerSettings(bootstrap));
    if (!p || !c) {
      die("cannot create Kafka clients");
    }
    producer_ = std::move(*p);
    consumer_ = std::move(*c);
    if (!consumer_->assign({{topic, 0, RD_KAFKA_OFFSET_END}})) {
      die("assign");
    }
  }

  /// Produces `value` and waits for a message matching `match`; the round trip in ms.
  template <class Match>
  double roundTrip(const std::string& key, const std::string& value, Match match,
                   envelope::Envelope* out = nullptr) {
    double t0 = nowUs();
    if (!producer_->produce(topic_, key, value)) {
      die("produce");
    }
    const int64_t deadline = kClock.monoMs() + 30000;
    while (kClock.monoMs() < deadline) {
      producer_->poll(0);
      auto m = consumer_->poll(5);
      if (!m || m->isError()) {
        continue;
      }
      if (match(m->payload())) {
        double dt = (nowUs() - t0) / 1000.0;
        if (out != nullptr) {
          auto d = decoder_.decode(m->payload());
          if (d) {
            *out = std::move(*d);
          }
        }
        return dt;
      }
    }
    die("no answer within 30 s to " + value);
  }

  /// Waits until the consumer is positioned and fetching: a message produced before its start
  /// offset is known would be missed, so one is produced every half second until one arrives.
  void warmUp(const std::string& key) {
    const int64_t deadline = kClock.monoMs() + 30000;
    int64_t nextProduce = 0;
    while (kClock.monoMs() < deadline) {
      if (kClock.monoMs() >= nextProduce) {
        (void)producer_->produce(topic_, key, "warm-up");
        nextProduce = kClock.monoMs() + 500;
      }
      producer_->poll(0);
      auto m = consumer_->poll(5);
      if (m && !m->isError() && m->payload() == "warm-up") {
        return;
      }
    }
    die("the consumer of " + topic_ + " did not start within 30 s");
  }

 private:
  std::string topic_;
  std::unique_ptr<kafka::Producer> producer_;
  std::unique_ptr<kafka::Consumer> consumer_;
  envelope::Decoder decoder_;
};

bool isResponseTo(std::string_view value, const std::string& idJson) {
  return value.rfind("{\"response\":{\"id\":" + idJson + ",", 0) == 0;
}

/// The baseline for footprint: a bare consumer + producer with the agent's settings.
int bareClient(const std::string& bootstrap, const std::string& topic) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  ::pthread_sigmask(SIG_BLOCK, &set, nullptr);
  auto p = kafka::Producer::create(producerSettings(bootstrap));
  auto c = kafka::Consumer::create(consumerSettings(bootstrap));
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

}  // namespace

int main(int argc, char** argv) {
  if (argc == 4 && std::strcmp(argv[1], "--bare-client") == 0) {
    return bareClient(argv[2], argv[3]);
  }
  int pings = 1000;
  int starts = 500;
  int idleSeconds = 5;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--quick") {
      pings = 200;
      starts = 20;
      idleSeconds = 3;
    } else if (a == "--pings" && i + 1 < argc) {
      pings = std::atoi(argv[++i]);
    } else if (a == "--starts" && i + 1 < argc) {
      starts = std::atoi(argv[++i]);
    } else if (a == "--idle-seconds" && i + 1 < argc) {
      idleSeconds = std::atoi(argv[++i]);
    } else {
      std::fprintf(stderr,
                   "usage: bench_agent [--quick] [--pings N] [--starts N] "
                   "[--idle-seconds S]\n");
      return 2;
    }
  }

  AgentSetup setup;
  setup.edgeId = "bench";
  const std::string baselineTopic = uniqueName("bench-baseline-");
  setup.extraTopics = {{baselineTopic, 1}};
  setup.watchTopic = false;
  AgentUnderTest agent(setup);
  const std::string bootstrap = agent.broker().bootstrap();

  // 1a. Bare round trips (one hop), the agent's consumer settings.
  Client base(bootstrap, baselineTopic);
  base.warmUp("baseline");
  std::vector<double> bare;
  for (int i = 0; i < pings; ++i) {
    std::string v = "bare-" + std::to_string(i);
    bare.push_back(base.roundTrip("baseline", v, [&](std::string_view p) { return p == v; }));
  }

  // 1b. The agent: ping, then frp start/stop.
  agent.start({"--log-level", "warn"});
  Client client(bootstrap, agent.topic());
  client.warmUp("bench");  // not a request: the agent ignores it (logged as undecodable)
  {
    auto id = envelope::Id::number(0);
    client.roundTrip("bench", requestJson(id, "ping", "{}", nowMs()),
                     [](std::string_view v) { return isResponseTo(v, "0"); });
  }
  std::vector<double> ping;
  for (int i = 1; i <= pings; ++i) {
    std::string idJson = std::to_string(i);
    ping.push_back(client.roundTrip(
        "bench", requestJson(envelope::Id::number(static_cast<uint64_t>(i)), "ping", "{}", nowMs()),
        [&](std::string_view v) { return isResponseTo(v, idJson); }));
  }

  // Idle footprint and CPU, agent and bare client over the same window.
  SpawnOptions bareOpts;
  bareOpts.argv = {"/proc/self/exe", "--bare-client", bootstrap, baselineTopic};
  bareOpts.pipeStdout = true;
  auto bareProc = Subprocess::spawn(bareOpts);
  if (!bareProc || readLine(bareProc->stdoutFd(), 60000).value_or("") != "ready") {
    die("the bare client did not start");
  }
  std::this_thread::sleep_for(std::chrono::seconds(1));
  int64_t agentCpu0 = cpuTimeMs(agent.pid());
  int64_t bareCpu0 = cpuTimeMs(bareProc->pid());
  std::this_thread::sleep_for(std::chrono::seconds(idleSeconds));
  double agentCpuPct =
      100.0 * static_cast<double>(cpuTimeMs(agent.pid()) - agentCpu0) / (idleSeconds * 1000.0);
  double bareCpuPct =
      100.0 * static_cast<double>(cpuTimeMs(bareProc->pid()) - bareCpu0) / (idleSeconds * 1000.0);
  uint64_t agentIdleRss = rssBytes(agent.pid());
  int agentIdleThreads = threadCount(agent.pid());
  uint64_t bareRss = rssBytes(bareProc->pid());
  int bareThreads = threadCount(bareProc->pid());
  bareProc->terminate(5000);

  // frp start/stop round trips; the start split into where the time goes.
  std::vector<double> startMs, stopMs, inboundMs, agentMs, outboundMs;
  uint64_t next = static_cast<uint64_t>(pings) + 1;
  uint64_t sessionRss = 0;
  int sessionThreads = 0;
  for (int i = 0; i < starts; ++i) {
    uint64_t sid = next++;
    std::string sidJson = std::to_string(sid);
    double sent = static_cast<double>(nowMs());
    envelope::Envelope r;
    startMs.push_back(client.roundTrip(
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
    inboundMs.push_back(began - sent);
    agentMs.push_back(static_cast<double>(r.timestampMs) - began);
    outboundMs.push_back(received - static_cast<double>(r.timestampMs));
    if (i == 0) {
      sessionRss = rssBytes(agent.pid());
      sessionThreads = threadCount(agent.pid());
    }
    uint64_t tid = next++;
    std::string tidJson = std::to_string(tid);
    stopMs.push_back(
        client.roundTrip("bench", requestJson(envelope::Id::number(tid), "frp_stop", "{}", nowMs()),
                         [&](std::string_view v) { return isResponseTo(v, tidJson); }));
  }
  agent.stop();

  const double bareP50 = percentile(bare, 0.5), bareP99 = percentile(bare, 0.99);
  std::printf("edge agent benchmark (dev broker, fetch.wait.max.ms=10 on every consumer)\n");
  std::printf("  bare produce->consume (1 hop)   : p50 %7.2f ms  p99 %7.2f ms  (%d)\n", bareP50,
              bareP99, pings);
  std::printf(
      "  ping request->response (2 hops) : p50 %7.2f ms  p99 %7.2f ms  (%d)  ratio p50 "
      "%.2fx  p99 %.2fx\n",
      percentile(ping, 0.5), percentile(ping, 0.99), pings, percentile(ping, 0.5) / bareP50,
      percentile(ping, 0.99) / bareP99);
  std::printf(
      "  frp_start -> 200 (stand-in)     : p50 %7.2f ms  p99 %7.2f ms  (%d)  ratio p50 "
      "%.2fx\n",
      percentile(startMs, 0.5), percentile(startMs, 0.99), starts,
      percentile(startMs, 0.5) / bareP50);
  std::printf("      request to agent (Kafka)    : p50 %7.2f ms\n", percentile(inboundMs, 0.5));
  std::printf("      agent: config, spawn, proxies running: p50 %7.2f ms\n",
              percentile(agentMs, 0.5));
  std::printf("      response to client (Kafka)  : p50 %7.2f ms\n", percentile(outboundMs, 0.5));
  std::printf("  frp_stop -> 200                 : p50 %7.2f ms  p99 %7.2f ms  (%d)\n",
              percentile(stopMs, 0.5), percentile(stopMs, 0.99), starts);
  std::printf(
      "  RSS idle: agent %.1f MB (%d threads), bare consumer+producer %.1f MB (%d threads):"
      " %.2fx (bar <= 1.5x: %s)\n",
      static_cast<double>(agentIdleRss) / 1048576.0, agentIdleThreads,
      static_cast<double>(bareRss) / 1048576.0, bareThreads,
      static_cast<double>(agentIdleRss) / static_cast<double>(bareRss),
      static_cast<double>(agentIdleRss) <= 1.5 * static_cast<double>(bareRss) ? "met" : "MISSED");
  std::printf(
      "  RSS during an frp session: agent %.1f MB (%d threads; frpc is a separate "
      "process)\n",
      static_cast<double>(sessionRss) / 1048576.0, sessionThreads);
  std::printf(
      "  idle CPU over %d s: agent %.2f%%, bare client %.2f%% (librdkafka fetching every "
      "10 ms)\n",
      idleSeconds, agentCpuPct, bareCpuPct);
  return 0;
}
