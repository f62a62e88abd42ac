// End to end, as a web backend sees it: a request published to an edge's topic, answered by the
// real edge-agent, stored by the real cloud-dispatcher in PostgreSQL and announced on
// LISTEN edgelink_response. On the real Kafka broker, then on the dev broker (librdkafka's mock
// cluster) in the same run:
//
//  1. baseline: a bare produce->consume round trip on the same broker, the same client settings;
//  2. ping end to end (published -> notified), p50/p99 and the ratio to the baseline (the bar:
//     p99 <= 2x), split into published -> answer on the topic and answer -> stored;
//  3. frp start with real frpc and real frps (real broker): p50/p99 and where the time goes;
//  4. Eclipse Hono's published load profile (real broker): 2,500 edges (the real agent and
//     2,499 simulated boards), 300 requests/s for 60 s: p50/p95/p99 published -> notified, lost,
//     and the dispatcher's and the broker's CPU over the run.
//
//   bench_e2e [--quick] [--pings N] [--starts N] [--broker real|mock|both]
//             [--hono-seconds S] [--hono-rate R] [--hono-edges N] [--no-hono]
//             [--fetch-wait-ms MS] [--fetch-min-bytes N] [--consumers N] [--sim-consumers N]
//             (the Hono run's consumers: the dispatcher's settings, the simulated boards')
// The dispatcher's test harness reports timeouts through Catch: its implementation is compiled
// here (no Catch session runs, so this file never calls the harness's Catch-reporting waits).
#define CATCH_CONFIG_RUNNER
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>

#include "core/logging.h"
#include "e2e_common.h"

using namespace edgelink;
using namespace edgelink::bench::e2e;
using edgelink::testing::BrokerKind;
using edgelink::testing::brokerKindsNamed;

namespace {

Args parseArgs(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        die(arg + ": a value is missing");
      }
      return argv[++i];
    };
    if (arg == "--quick") {
      a.pings = 100;
      a.starts = 10;
      a.honoSeconds = 10;
      a.honoEdges = 500;
    } else if (arg == "--pings") {
      a.pings = std::stoi(next());
    } else if (arg == "--starts") {
      a.starts = std::stoi(next());
    } else if (arg == "--hono-seconds") {
      a.honoSeconds = std::stoi(next());
    } else if (arg == "--hono-rate") {
      a.honoRate = std::stoi(next());
    } else if (arg == "--hono-edges") {
      a.honoEdges = std::stoi(next());
    } else if (arg == "--fetch-wait-ms") {
      a.fetchWaitMs = std::stoi(next());
    } else if (arg == "--fetch-min-bytes") {
      a.fetchMinBytes = std::stoi(next());
    } else if (arg == "--consumers") {
      a.consumers = std::stoi(next());
    } else if (arg == "--sim-consumers") {
      a.simConsumers = std::stoi(next());
    } else if (arg == "--no-hono") {
      a.hono = false;
    } else if (arg == "--broker") {
      std::string b = next();
      auto kinds = brokerKindsNamed(b);
      if (!kinds) {
        die("--broker: expected real, mock or both, got " + b);
      }
      a.brokers = *kinds;
    } else {
      die("usage: bench_e2e [--quick] [--pings N] [--starts N] [--broker real|mock|both] "
          "[--hono-seconds S] [--hono-rate R] [--hono-edges N] [--no-hono] [--fetch-wait-ms MS] "
          "[--fetch-min-bytes N] [--consumers N] [--sim-consumers N]");
    }
  }
  if (a.honoEdges < 2 || a.honoRate < 1 || a.honoSeconds < 1 || a.pings < 1 || a.starts < 0) {
    die("counts must be positive (--hono-edges at least 2)");
  }
  return a;
}

}  // namespace

int main(int argc, char** argv) {
  const Args a = parseArgs(argc, argv);
  (void)log::init("warn");
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  try {
    for (BrokerKind k : a.brokers) {
      pingAndStart(k, a);
    }
    if (a.hono &&
        std::find(a.brokers.begin(), a.brokers.end(), BrokerKind::kKafka) != a.brokers.end()) {
      honoProfile(a);
    }
  } catch (const std::exception& e) {
    die(e.what());
  }
  return 0;
}
