// bench_dispatcher --metrics: what the metrics cost the ingest. The dispatcher's loop (Ingestor)
// reads the same requests and answers (each answer after its request, as in a deployment) from
// the dev broker into a fresh database per run, with metrics off
// and on alternately (off, on, on, off, ...: drift over the run hits both alike); with them on,
// the endpoints listen on a free loopback port and /metrics is scraped every second (Prometheus
// scrapes every 15 s or so). The figure is the ratio of the summed rates.
#include <atomic>
#include <cstdio>
#include <memory>
#include <thread>

#include "bench_util.h"
#include "core/clock.h"
#include "dispatcher_bench.h"
#include "harness/http_probe.h"
#include "ingest/ingest.h"
#include "observe/http_server.h"

using namespace edgelink;
using namespace edgelink::bench;
using dispatcher::Options;

namespace {

struct RunResult {
  double rate = 0;     // envelopes/s after the first batch
  double cpuUs = 0;    // this process's CPU per envelope
  size_t scrapes = 0;  // scrapes answered 200
};

/// One run: a fresh database, a fresh consumer group, the loop until every request and answer
/// is stored.
RunResult ingestRun(const Options& base, testing::PgCluster& cluster, const Corpus& c, int run,
                    bool metricsOn) {
  const size_t n = c.requests.size() + c.responses.size();
  Options o = base;
  o.pgConninfo = cluster.createDatabase("metrics_run_" + std::to_string(run));
  o.consumerGroup = "bench-metrics-" + std::to_string(run);
  o.requestDeadlineSeconds = 3600;  // the corpus is dated a minute back: answers are in time
  (void)migratedDb(o.pgConninfo);
  precommit(o, c);

  dispatcher::Metrics metrics;
  dispatcher::Health health;
  std::unique_ptr<dispatcher::HttpServer> server;
  dispatcher::Observer observer;
  if (metricsOn) {
    auto s = dispatcher::HttpServer::start({"127.0.0.1", 0}, metrics, health);
    if (!s) {
      die(s.error().describe());
    }
    server = std::move(*s);
    observer = {&metrics, &health};
  }
  dispatcher::Ingestor ingestor(o, SystemClock::instance(), observer);
  if (auto r = ingestor.start(); !r) {
    die(r.error().describe());
  }
  std::atomic<bool> stop{false};
  RunResult out;
  std::thread scraper([&] {
    while (server && !stop) {
      if (testing::httpGet(server->port(), "/metrics").status == 200) {
        ++out.scrapes;
      }
      for (int i = 0; i < 20 && !stop; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
  });
  std::thread loop([&] { ingestor.run(stop); });
  auto t0 = SteadyClock::now();
  double firstAt = -1;
  const double cpu0 = selfCpuSeconds();
  while (ingestor.messagesStored() < n) {
    if (firstAt < 0 && ingestor.messagesStored() > 0) {
      firstAt = secondsSince(t0);
    }
    if (secondsSince(t0) > 600) {
      die("metrics run: only " + std::to_string(ingestor.messagesStored()) + " stored in 600 s");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const double total = secondsSince(t0);
  out.cpuUs = (selfCpuSeconds() - cpu0) / static_cast<double>(n) * 1e6;
  out.rate = static_cast<double>(n) / (total - std::max(0.0, firstAt));
  stop = true;
  loop.join();
  scraper.join();
  return out;
}

}  // namespace

void edgelink::bench::metricsOverhead(const Args& a, const Options& o, testing::PgCluster& cluster,
                                      const Corpus& c) {
  const int pairs = a.quick ? 2 : 4;
  double offSum = 0;
  double onSum = 0;
  double offCpu = 0;
  double onCpu = 0;
  std::printf(
      "ingest with metrics off and on (dev broker -> dispatcher loop -> PostgreSQL,"
      " %zu messages a run):\n",
      c.requests.size() + c.responses.size());
  for (int i = 0; i < 2 * pairs; ++i) {
    const bool on = (i % 4 == 1) || (i % 4 == 2);  // off on on off off on on off ...
    const RunResult r = ingestRun(o, cluster, c, i, on);
    std::printf("  run %d metrics %-3s %8.0f envelopes/s  %5.1f us CPU each%s\n", i + 1,
                on ? "on" : "off", r.rate, r.cpuUs,
                on ? (", " + std::to_string(r.scrapes) + " scrapes").c_str() : "");
    (on ? onSum : offSum) += r.rate;
    (on ? onCpu : offCpu) += r.cpuUs;
  }
  std::printf("ratio metrics on / off: %.3f (rate), CPU per envelope %.1f us on, %.1f us off\n",
              onSum / offSum, onCpu / pairs, offCpu / pairs);
}
