// Resources over time (issue 13), on the real Kafka broker and PostgreSQL:
//
//  - the soak: a real edge-agent (real frpc toward a real frps) and a real cloud-dispatcher
//    daemon; a session opened and closed every 5 s, requests (pings, system_info) at a steady
//    rate while it is open, signed as a web backend signs them; both daemons' RSS, open
//    descriptors and threads sampled every minute (every 10 s with --quick), the least-squares
//    slope per hour of each series printed, and a non-zero exit when they grow beyond the rule
//    printed with them (soak_series.h). 30 minutes (warm-up 5); --quick: 2 minutes (warm-up 30 s);
//  - --backlog N: a dispatcher that falls behind (N messages produced while it is stopped, then
//    drained): peak RSS and drain rate against a small backlog's in the same run.
//
//   bench_soak [--quick] [--minutes M] [--warmup-seconds S] [--sample-seconds S]
//              [--session-seconds S] [--rate R] [--backlog N] [--backlog-edges E]
//              [--kafka-property K=V]... (--backlog: the dispatcher's, e.g. its pre-fetch bound)
// The dispatcher's test harness reports timeouts through Catch: its implementation is compiled
// here (no Catch session runs, so this file never calls the harness's Catch-reporting waits).
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#include <cstdio>
#include <string>

#include "core/logging.h"
#include "e2e_common.h"
#include "soak.h"

using namespace edgelink;
using namespace edgelink::bench::soak;
using edgelink::bench::e2e::die;

namespace {

Args parseArgs(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto next = [&]() -> int64_t {
      if (i + 1 >= argc) {
        die(arg + ": a value is missing");
      }
      return std::stoll(argv[++i]);
    };
    if (arg == "--quick") {
      a.runSeconds = 120;
      a.warmupSeconds = 30;
      a.sampleSeconds = 10;
    } else if (arg == "--minutes") {
      a.runSeconds = static_cast<int>(next() * 60);
    } else if (arg == "--warmup-seconds") {
      a.warmupSeconds = static_cast<int>(next());
    } else if (arg == "--sample-seconds") {
      a.sampleSeconds = static_cast<int>(next());
    } else if (arg == "--session-seconds") {
      a.sessionSeconds = static_cast<int>(next());
    } else if (arg == "--rate") {
      a.requestsPerSecond = static_cast<int>(next());
    } else if (arg == "--backlog") {
      a.backlog = next();
    } else if (arg == "--kafka-property") {
      if (i + 1 >= argc) {
        die(arg + ": a value is missing");
      }
      a.kafkaProperties.emplace_back(argv[++i]);
    } else if (arg == "--backlog-edges") {
      a.backlogEdges = static_cast<int>(next());
    } else {
      die("usage: bench_soak [--quick] [--minutes M] [--warmup-seconds S] [--sample-seconds S] "
          "[--session-seconds S] [--rate R] [--backlog N] [--backlog-edges E] [--kafka-property "
          "K=V]...");
    }
  }
  if (a.runSeconds < 1 || a.sampleSeconds < 1 || a.sessionSeconds < 1 || a.requestsPerSecond < 1 ||
      a.backlogEdges < 1 || a.backlog < 0 || a.warmupSeconds + 2 * a.sampleSeconds > a.runSeconds) {
    die("counts must be positive, and the run must leave at least two samples after warm-up");
  }
  return a;
}

}  // namespace

int main(int argc, char** argv) {
  const Args a = parseArgs(argc, argv);
  (void)log::init("warn");
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  try {
    if (a.backlog > 0) {
      runBacklog(a);
      return 0;
    }
    return runSoak(a) ? 0 : 1;
  } catch (const std::exception& e) {
    die(e.what());
  }
}
