// Stages 1-3 of bench_e2e on one broker: the bare produce->consume round trip, ping end to end,
// and (real broker) frp starts with real frpc and frps.
#include <cstdio>
#include <memory>

#include "agent_harness.h"
#include "core/time_format.h"
#include "e2e_common.h"
#include "envelope/json_util.h"
#include "harness/frp_peers.h"

namespace edgelink::bench::e2e {
namespace {

using namespace edgelink::testing;

/// Every sample of one broker's run, in ms.
struct Samples {
  std::vector<double> bare;
  std::vector<double> pingAnswered, pingStored, pingStore;
  std::vector<double> startStored, inbound, agentWork, outbound, stopStored;
};

/// The real agent's setup; on the real broker with real frp toward `frps`, exposing `echo`.
AgentSetup agentSetup(DispatcherHarness& h, FrpsProcess* frps, EchoServer* echo,
                      uint16_t tunnelPort) {
  AgentSetup as = benchAgent(h);
  if (frps != nullptr) {
    as.frpcPath = realFrpcPath();
    as.frpsAddr = "127.0.0.1";
    as.frpsPort = frps->port();
    as.frpsToken = frps->token();
    as.services = {"ssh=127.0.0.1:" + std::to_string(echo->port())};
    as.remotePorts = std::to_string(tunnelPort) + "-" + std::to_string(tunnelPort);
  }
  return as;
}

void measurePings(RoundTripClient& client, ResponseWatch& watch, int n, Samples& s) {
  (void)endToEnd(client, watch, "ping", "{}");
  for (int i = 0; i < n; ++i) {
    Timing t = endToEnd(client, watch, "ping", "{}");
    s.pingAnswered.push_back(t.answered);
    s.pingStored.push_back(t.stored);
    s.pingStore.push_back(t.stored - t.answered);
  }
}

/// Starts (and stops) a session `n` times; where each start's time went, from the answer's
/// started_at and timestamp.
void measureStarts(RoundTripClient& client, ResponseWatch& watch, AgentUnderTest& agent,
                   uint16_t port, int n, Samples& s) {
  const std::string body = "{\"services\":{\"ssh\":" + std::to_string(port) + "}}";
  for (int i = 0; i < n; ++i) {
    const double sentMs = static_cast<double>(nowMs());
    Timing t = endToEnd(client, watch, "frp_start", body);
    if (t.answer.statusCode != 200) {
      die("frp_start answered " + std::to_string(t.answer.statusCode) + "\n" + agent.agentLog());
    }
    if (i == 0 && exchange(port, "through the tunnel") != "through the tunnel") {
      die("no echo through the tunnel on port " + std::to_string(port));
    }
    const double began = static_cast<double>(
        parseRfc3339Ms(json::getString(t.answer.body(), "started_at")).value_or(0));
    s.startStored.push_back(t.stored);
    s.inbound.push_back(began - sentMs);
    s.agentWork.push_back(static_cast<double>(t.answer.timestampMs) - began);
    s.outbound.push_back(sentMs + t.stored - static_cast<double>(t.answer.timestampMs));
    s.stopStored.push_back(endToEnd(client, watch, "frp_stop", "{}").stored);
  }
}

void printReport(BrokerKind kind, bool real, const Samples& s) {
  const double bareP50 = percentile(s.bare, 0.5), bareP99 = percentile(s.bare, 0.99);
  std::printf("end to end on the %s (%s; dispatcher with its default settings)\n",
              brokerKindName(kind),
              real ? "clients' default fetch settings" : "fetch.wait.max.ms=10 everywhere");
  printLine("bare produce->consume (1 hop)", s.bare, 0, 0);
  printLine("ping published -> stored, notified", s.pingStored, bareP50, bareP99);
  std::printf("      bar: p99 <= 2x the bare round trip: %s\n",
              percentile(s.pingStored, 0.99) <= 2 * bareP99 ? "met" : "MISSED");
  printLine("    published -> answer on the topic", s.pingAnswered, 0, 0);
  printLine("    answer on the topic -> notified", s.pingStore, 0, 0);
  if (real) {
    printLine("frp_start -> stored (real frpc, frps)", s.startStored, 0, 0);
    std::printf("      request to the agent (Kafka)          : p50 %7.2f ms\n",
                percentile(s.inbound, 0.5));
    std::printf("      agent: config, frpc spawn, proxies up : p50 %7.2f ms  p99 %7.2f ms\n",
                percentile(s.agentWork, 0.5), percentile(s.agentWork, 0.99));
    std::printf("      answer -> stored, notified            : p50 %7.2f ms\n",
                percentile(s.outbound, 0.5));
    printLine("frp_stop -> stored", s.stopStored, 0, 0);
  }
  std::fflush(stdout);
}

}  // namespace

void pingAndStart(BrokerKind kind, const Args& a) {
  DispatcherHarness::Setup ds({"bench"});
  ds.broker = kind;
  ds.productionSettings = true;
  const std::string baselineTopic = uniqueName("bench-baseline-");
  ds.extraTopics = {{baselineTopic, 1}};
  DispatcherHarness h(ds);
  h.startDaemon();
  waitAssigned(h, 1, 60000);
  const bool real = kind == BrokerKind::kKafka;
  const uint16_t tunnelPort = freeTcpPort();
  std::unique_ptr<FrpsProcess> frps;
  std::unique_ptr<EchoServer> echo;
  if (real) {
    frps = std::make_unique<FrpsProcess>();
    echo = std::make_unique<EchoServer>();
  }
  AgentUnderTest agent(agentSetup(h, frps.get(), echo.get(), tunnelPort));
  agent.start({"--log-level", "warn"});

  Samples s;
  {
    RoundTripClient base(clientConfig(h.broker(), false), clientConfig(h.broker(), true),
                         baselineTopic);
    s.bare = bareRoundTrips(base, a.pings);
  }
  ResponseWatch watch(h.conninfo());
  RoundTripClient client(clientConfig(h.broker(), false), clientConfig(h.broker(), true),
                         agent.topic());
  client.signWith(&webBackendKey());
  client.warmUp("bench");  // not a request: agent and dispatcher log it as undecodable
  measurePings(client, watch, a.pings, s);
  if (real) {
    measureStarts(client, watch, agent, tunnelPort, a.starts, s);
  }
  agent.stop();
  printReport(kind, real, s);
}

}  // namespace edgelink::bench::e2e
