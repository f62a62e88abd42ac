// Stage 4 of bench_e2e: Eclipse Hono's published load profile on the real broker (2,500 edges:
// the real agent and 2,499 simulated boards; 300 requests/s for 60 s), published -> stored and
// notified, lost, and the CPU of the dispatcher, the broker and this process.
#include <unistd.h>

#include <cstdio>
#include <random>

#include "agent_harness.h"
#include "e2e_common.h"
#include "edge_simulator.h"
#include "security/signature.h"

namespace edgelink::bench::e2e {
namespace {

using namespace edgelink::testing;

std::vector<std::string> edgeNames(int count) {
  std::vector<std::string> edges = {"bench"};  // the real agent
  for (int i = 1; i < count; ++i) {
    char name[16];
    std::snprintf(name, sizeof name, "sim%04d", i);
    edges.emplace_back(name);
  }
  return edges;
}

DispatcherHarness::Setup dispatcherSetup(const Args& a, const std::vector<std::string>& edges) {
  DispatcherHarness::Setup ds(edges);
  ds.broker = BrokerKind::kKafka;
  ds.privateBroker = true;  // its CPU is measured
  ds.productionSettings = true;
  std::string props;
  if (a.fetchWaitMs > 0) {
    props += "\"fetch.wait.max.ms=" + std::to_string(a.fetchWaitMs) + "\"";
  }
  if (a.fetchMinBytes > 0) {
    props += std::string(props.empty() ? "" : ", ") +
             "\"fetch.min.bytes=" + std::to_string(a.fetchMinBytes) + "\"";
  }
  if (!props.empty()) {
    ds.config.push_back("kafka-property = [" + props + "]");
  }
  ds.config.push_back("consumers = " + std::to_string(a.consumers));
  return ds;
}

EdgeSimulator::Tuning simulatorTuning(const Args& a) {
  EdgeSimulator::Tuning tuning;
  tuning.fetchWaitMs = a.fetchWaitMs > 0 ? a.fetchWaitMs : 500;
  tuning.fetchMinBytes = a.fetchMinBytes > 0 ? a.fetchMinBytes : 1;
  tuning.flushEach = false;
  tuning.consumers = a.simConsumers;
  return tuning;
}

/// Produces a request signed as the web backend signs it (the real agent refuses unsigned ones).
VoidResult produceSigned(kafka::Producer& producer, const std::string& topic,
                         const std::string& key, const std::string& value) {
  const auto sig = security::signMessage(webBackendKey(), topic, value);
  return producer.produce(topic, key, value,
                          {{std::string(security::kKeyIdHeader), sig.keyId},
                           {std::string(security::kSignatureHeader), sig.signature}});
}

/// One ping each to the real agent and a simulated board, answered before the load starts.
void warmUp(DispatcherHarness& h, kafka::Producer& producer, ResponseWatch& watch,
            const std::vector<std::string>& edges) {
  for (const std::string& edge : {edges[0], edges[1]}) {
    auto id = envelope::Id::generate();
    watch.expect(id.str());
    (void)produceSigned(producer, h.topic(edge), edge, requestJson(id, "ping", "{}", nowMs()));
    producer.poll(0);
    if (!watch.waitFor(id.str(), 60000)) {
      die("edge " + edge + " did not answer a ping within 60 s");
    }
  }
}

/// What was published, and when (nowUs() and wall ms).
struct Load {
  std::map<std::string, double> published;
  std::map<std::string, int64_t> publishedWall;
  double seconds = 0;
};

/// Pings to random edges at the profile's rate.
Load publish(const Args& a, DispatcherHarness& h, kafka::Producer& producer, ResponseWatch& watch,
             const std::vector<std::string>& edges) {
  std::mt19937 rng(20261202);
  std::uniform_int_distribution<size_t> pick(0, edges.size() - 1);
  Load load;
  const int total = a.honoSeconds * a.honoRate;
  const double start = nowUs();
  for (int i = 0; i < total; ++i) {
    const double due = start + static_cast<double>(i) * 1e6 / a.honoRate;
    while (nowUs() < due) {
      producer.poll(0);
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    const std::string& edge = edges[pick(rng)];
    auto id = envelope::Id::generate();
    watch.expect(id.str());
    load.published[id.str()] = nowUs();
    load.publishedWall[id.str()] = nowMs();
    if (!produceSigned(producer, h.topic(edge), edge, requestJson(id, "ping", "{}", nowMs()))) {
      die("produce refused at request " + std::to_string(i));
    }
  }
  load.seconds = (nowUs() - start) / 1e6;
  return load;
}

/// Latencies published -> notified, and where the time went: published -> the edge's answer
/// (answer_sent_at in PostgreSQL) -> notified.
struct Outcome {
  std::vector<double> latency, toAnswer, toNotified;
  size_t lost = 0;
};

Outcome outcome(DispatcherHarness& h, const Load& load, const ResponseWatch& watch) {
  Outcome o;
  const auto announced = watch.announced();
  for (const auto& [id, at] : load.published) {
    auto it = announced.find(id);
    if (it == announced.end()) {
      ++o.lost;
    } else {
      o.latency.push_back((it->second - at) / 1000.0);
    }
  }
  const auto wall = watch.announcedWallMs();
  auto db = dispatcher::pg::Connection::open(h.conninfo(), "bench-e2e");
  if (!db) {
    die(db.error().describe());
  }
  auto rows = (*db)->exec(
      "SELECT id, (extract(epoch FROM answer_sent_at) * 1000)::bigint FROM request_status"
      " WHERE type = 'ping' AND state = 'succeeded'");
  if (!rows) {
    die(rows.error().describe());
  }
  for (int i = 0; i < rows->size(); ++i) {
    auto p = load.publishedWall.find(rows->str(i, 0));
    auto n = wall.find(rows->str(i, 0));
    if (p != load.publishedWall.end() && n != wall.end()) {
      const double answered = std::stod(rows->str(i, 1));
      o.toAnswer.push_back(answered - static_cast<double>(p->second));
      o.toNotified.push_back(static_cast<double>(n->second) - answered);
    }
  }
  return o;
}

/// CPU seconds of the dispatcher, the broker and this process since construction.
class CpuMeter {
 public:
  CpuMeter(int dispatcherPid, int brokerPid)
      : pids_{dispatcherPid, brokerPid, ::getpid()},
        start_{cpuTimeMs(pids_[0]), brokerPid > 0 ? cpuTimeMs(brokerPid) : 0, cpuTimeMs(pids_[2])} {
  }
  /// Percent of a core over `seconds`; -1 for a broker not ours to measure.
  double percent(int which, double seconds) const {
    if (pids_[which] <= 0) {
      return -1;
    }
    return 100 * static_cast<double>(cpuTimeMs(pids_[which]) - start_[which]) / 1000.0 / seconds;
  }

 private:
  int pids_[3];
  int64_t start_[3];
};

void printReport(const Args& a, double createdSeconds, const Load& load, const Outcome& o,
                 size_t duplicates, int64_t stored, double runSeconds, const double cpu[3]) {
  std::printf(
      "Eclipse Hono's load profile on the real Kafka broker: %d edges (1 real agent, %d "
      "simulated by %d consumers), %d requests/s for %d s; dispatcher: %d consumer(s), "
      "fetch.wait.max.ms %d, fetch.min.bytes %d\n",
      a.honoEdges, a.honoEdges - 1, a.simConsumers, a.honoRate, a.honoSeconds, a.consumers,
      a.fetchWaitMs > 0 ? a.fetchWaitMs : 500, a.fetchMinBytes > 0 ? a.fetchMinBytes : 1);
  std::printf(
      "  a broker of its own started, %d edge topics created (admin API, batched): %.1f s\n",
      a.honoEdges, createdSeconds);
  std::printf("  published %zu in %.1f s; stored and notified %zu; lost %zu; notified twice %zu\n",
              load.published.size(), load.seconds, o.latency.size(), o.lost, duplicates);
  std::printf(
      "  published -> stored, notified: p50 %.1f ms  p95 %.1f ms  p99 %.1f ms  max %.1f ms"
      "  (Hono's published p99: 279 ms on 3 nodes)\n",
      percentile(o.latency, 0.5), percentile(o.latency, 0.95), percentile(o.latency, 0.99),
      percentile(o.latency, 1.0));
  std::printf("      published -> answered by the edge (ms clock): p50 %.0f  p95 %.0f  p99 %.0f\n",
              percentile(o.toAnswer, 0.5), percentile(o.toAnswer, 0.95),
              percentile(o.toAnswer, 0.99));
  std::printf("      answered -> stored, notified            : p50 %.0f  p95 %.0f  p99 %.0f\n",
              percentile(o.toNotified, 0.5), percentile(o.toNotified, 0.95),
              percentile(o.toNotified, 0.99));
  std::printf("  ping rows in PostgreSQL, succeeded: %lld (published %zu + 2 warm-up)\n",
              static_cast<long long>(stored), load.published.size());
  std::printf(
      "  CPU over the run (%.0f s): dispatcher %.1f%% of a core, broker %.1f%%, the simulated "
      "fleet and the web backend (this process) %.1f%%\n",
      runSeconds, cpu[0], cpu[1], cpu[2]);
  std::fflush(stdout);
}

}  // namespace

void honoProfile(const Args& a) {
  const std::vector<std::string> edges = edgeNames(a.honoEdges);
  const double t0 = nowUs();
  DispatcherHarness h(dispatcherSetup(a, edges));
  const double created = (nowUs() - t0) / 1e6;
  h.startDaemon();
  waitAssigned(h, a.honoEdges, 300000);
  AgentUnderTest agent(benchAgent(h));
  agent.start({"--log-level", "warn"});
  EdgeSimulator sim(h.broker().bootstrap(), {edges.begin() + 1, edges.end()}, h.topicPrefix(),
                    simulatorTuning(a));
  ResponseWatch watch(h.conninfo());
  auto producer = kafka::Producer::create(clientConfig(h.broker(), false));
  if (!producer) {
    die(producer.error().describe());
  }
  warmUp(h, **producer, watch, edges);

  const CpuMeter meter(h.daemon(0).pid(), h.broker().pid());
  const double start = nowUs();
  const Load load = publish(a, h, **producer, watch, edges);
  (void)(*producer)->flush(30000);
  // Stragglers: up to 30 s for the last answers.
  for (int waited = 0; waited < 300 && watch.announced().size() < load.published.size() + 2;
       ++waited) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const double runSeconds = (nowUs() - start) / 1e6;
  const double cpu[3] = {meter.percent(0, runSeconds), meter.percent(1, runSeconds),
                         meter.percent(2, runSeconds)};
  const Outcome o = outcome(h, load, watch);
  const int64_t stored =
      h.count("SELECT count(*) FROM request_status WHERE type = 'ping' AND state = 'succeeded'");
  agent.stop();
  printReport(a, created, load, o, watch.duplicates(), stored, runSeconds, cpu);
  if (o.lost != 0 || static_cast<size_t>(stored) != load.published.size() + 2) {
    die("requests lost: " + std::to_string(o.lost) + " not notified, " + std::to_string(stored) +
        " stored as succeeded; the others by edge, state and answer:\n" +
        h.sql("SELECT string_agg(edge_id || ' ' || state || ' ' || coalesce(status_code::text, "
              "'-') || ' x' || n, E'\\n') FROM (SELECT edge_id, state, status_code, count(*) AS n "
              "FROM request_status WHERE type = 'ping' AND state <> 'succeeded' "
              "GROUP BY 1, 2, 3) AS o") +
        "\n" + agent.agentLog());
  }
}

}  // namespace edgelink::bench::e2e
