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
#include <rapidjson/document.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "agent_config.h"
#include "agent_harness.h"
#include "core/logging.h"
#include "core/time_format.h"
#include "db/pg.h"
#include "dispatcher_harness.h"
#include "edge_simulator.h"
#include "envelope/json_util.h"
#include "harness/frp_peers.h"
#include "round_trip.h"

using namespace edgelink;
using namespace edgelink::testing;
using namespace edgelink::bench;

namespace {

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "bench_e2e: %s\n", what.c_str());
  std::exit(1);
}

struct Args {
  int pings = 500;
  int starts = 50;
  std::vector<BrokerKind> brokers = {BrokerKind::kKafka, BrokerKind::kMock};
  bool hono = true;
  int honoSeconds = 60;
  int honoRate = 300;
  int honoEdges = 2500;
  // The dispatcher's and the simulator's fetch settings in the Hono run (0: librdkafka's).
  int fetchWaitMs = 0;
  int fetchMinBytes = 0;
  int consumers = 1;  // the dispatcher's (its `consumers`)
  // The simulated boards' consumers. Each real board has its own; here one client holds every
  // simulated partition, and more clients cost the broker more full fetches (see the docs).
  int simConsumers = 1;
};

/// What a web backend does to learn an answer is stored: LISTEN edgelink_response, and on a
/// batch announcement (no edge_id) look the outstanding ids up. Records when each id was
/// announced (nowUs()).
class ResponseWatch {
 public:
  explicit ResponseWatch(const std::string& conninfo) {
    auto db = dispatcher::pg::Connection::open(conninfo, "bench-e2e-watch");
    if (!db) {
      die("PostgreSQL: " + db.error().describe());
    }
    db_ = std::move(*db);
    if (auto r = db_->listen("edgelink_response"); !r) {
      die("LISTEN: " + r.error().describe());
    }
    thread_ = std::thread([this] { run(); });
  }
  ~ResponseWatch() {
    stop_ = true;
    thread_.join();
  }
  ResponseWatch(const ResponseWatch&) = delete;
  ResponseWatch& operator=(const ResponseWatch&) = delete;

  /// Call before publishing `id`.
  void expect(const std::string& id) {
    std::lock_guard<std::mutex> lock(mutex_);
    outstanding_.insert(id);
  }
  /// When `id` was announced (nowUs()), waiting up to `timeoutMs`.
  std::optional<double> waitFor(const std::string& id, int timeoutMs) {
    std::unique_lock<std::mutex> lock(mutex_);
    const bool seen = cv_.wait_for(lock, std::chrono::milliseconds(timeoutMs),
                                   [&] { return announced_.count(id) > 0; });
    return seen ? std::optional<double>(announced_[id]) : std::nullopt;
  }
  std::map<std::string, double> announced() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return announced_;
  }
  /// When each id was announced, wall clock ms (to set beside timestamps in PostgreSQL).
  std::map<std::string, int64_t> announcedWallMs() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return announcedWall_;
  }
  size_t duplicates() const { return duplicates_; }

 private:
  void run() {
    while (!stop_) {
      auto n = db_->waitNotification(50);
      if (!n) {
        die("PostgreSQL: " + n.error().describe());
      }
      if (!n->has_value()) {
        continue;
      }
      const double at = nowUs();
      rapidjson::Document d;
      d.Parse((*n)->payload.c_str());
      if (!d.HasParseError() && d.IsObject() && d.HasMember("edge_id") && d.HasMember("id") &&
          d["id"].IsString()) {
        record(d["id"].GetString(), at);
      } else {
        lookUpOutstanding(at);
      }
    }
  }
  /// `notified`: the id's own notification (a second one is a duplicate); else found by the
  /// lookup after a batch announcement (already known: nothing to record).
  void record(const std::string& id, double at, bool notified = true) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!announced_.emplace(id, at).second) {
      duplicates_ += notified && !lookedUp_.count(id) ? 1 : 0;
      return;
    }
    if (!notified) {
      lookedUp_.insert(id);
    }
    announcedWall_.emplace(id, nowMs());
    outstanding_.erase(id);
    cv_.notify_all();
  }
  void lookUpOutstanding(double at) {
    std::string list;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      for (const auto& id : outstanding_) {
        list += (list.empty() ? "{" : ",") + id;
      }
    }
    if (list.empty()) {
      return;
    }
    auto rows =
        db_->exec("SELECT id FROM request_status WHERE id = ANY($1::text[]) AND state <> 'pending'",
                  {list + "}"});
    if (!rows) {
      die("PostgreSQL: " + rows.error().describe());
    }
    for (int i = 0; i < rows->size(); ++i) {
      record(rows->str(i, 0), at, false);
    }
  }

  std::unique_ptr<dispatcher::pg::Connection> db_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::set<std::string> outstanding_;
  std::set<std::string> lookedUp_;
  std::map<std::string, double> announced_;
  std::map<std::string, int64_t> announcedWall_;
  size_t duplicates_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

kafka::Config clientConfig(TestBroker& broker, bool consumer) {
  kafka::Config c = broker.clientConfig();
  c.set("log_level", "3");
  if (consumer) {
    c.set("group.id", uniqueName("bench-e2e-"));
    c.set("enable.auto.commit", "false");
  } else {
    c.set("linger.ms", "0");
  }
  return c;
}

void printLine(const char* what, const std::vector<double>& v, double bareP50, double bareP99) {
  std::printf("  %-38s: p50 %7.2f ms  p99 %7.2f ms  (%zu)", what, percentile(v, 0.5),
              percentile(v, 0.99), v.size());
  if (bareP50 > 0) {
    std::printf("  ratio p50 %.2fx  p99 %.2fx", percentile(v, 0.5) / bareP50,
                percentile(v, 0.99) / bareP99);
  }
  std::printf("\n");
}

/// One request end to end: published -> answer on the topic -> announced as stored.
struct Timing {
  double answered = 0, stored = 0;
  envelope::Envelope answer;
};

/// Waits until the dispatcher holds `partitions` partitions (polling PostgreSQL).
void waitAssigned(DispatcherHarness& h, int partitions, int timeoutMs) {
  const std::string want = std::to_string(partitions);
  const int64_t deadline = nowMs() + timeoutMs;
  std::string last;
  while (nowMs() < deadline) {
    last = h.sql(
        "SELECT COALESCE(sum(assigned_partitions), 0) FROM dispatchers WHERE state = 'running'");
    if (last == want) {
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  die("the dispatcher holds " + last + " partitions, not " + want + ", after " +
      std::to_string(timeoutMs / 1000) + " s\n" + h.daemonLog(0));
}

Timing endToEnd(RoundTripClient& client, ResponseWatch& watch, const std::string& type,
                const std::string& body) {
  auto id = envelope::Id::generate();
  const std::string idJson = "\"" + id.str() + "\"";
  watch.expect(id.str());
  Timing t;
  const double t0 = nowUs();
  t.answered = client.roundTrip(
      "bench", requestJson(id, type, body, nowMs()),
      [&](std::string_view v) { return isResponseTo(v, idJson); }, &t.answer);
  auto at = watch.waitFor(id.str(), 30000);
  if (!at) {
    die(type + " " + id.str() + ": answered but not announced as stored within 30 s");
  }
  t.stored = (*at - t0) / 1000.0;
  return t;
}

/// Stages 1-3 on one broker.
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
  AgentSetup as;
  as.edgeId = "bench";
  as.sharedBroker = &h.broker();
  as.topicPrefix = h.topicPrefix();
  as.watchTopic = false;
  if (real) {
    frps = std::make_unique<FrpsProcess>();
    echo = std::make_unique<EchoServer>();
    as.frpcPath = realFrpcPath();
    as.frpsAddr = "127.0.0.1";
    as.frpsPort = frps->port();
    as.frpsToken = frps->token();
    as.services = {"ssh=127.0.0.1:" + std::to_string(echo->port())};
    as.remotePorts = std::to_string(tunnelPort) + "-" + std::to_string(tunnelPort);
  }
  AgentUnderTest agent(as);
  agent.start({"--log-level", "warn"});

  RoundTripClient base(clientConfig(h.broker(), false), clientConfig(h.broker(), true),
                       baselineTopic);
  base.warmUp("baseline");
  std::vector<double> bare;
  for (int i = 0; i < a.pings; ++i) {
    std::string v = "bare-" + std::to_string(i);
    bare.push_back(base.roundTrip("baseline", v, [&](std::string_view p) { return p == v; }));
  }

  ResponseWatch watch(h.conninfo());
  RoundTripClient client(clientConfig(h.broker(), false), clientConfig(h.broker(), true),
                         agent.topic());
  client.warmUp("bench");  // not a request: agent and dispatcher log it as undecodable
  (void)endToEnd(client, watch, "ping", "{}");
  std::vector<double> pingAnswered, pingStored, pingStore;
  for (int i = 0; i < a.pings; ++i) {
    Timing t = endToEnd(client, watch, "ping", "{}");
    pingAnswered.push_back(t.answered);
    pingStored.push_back(t.stored);
    pingStore.push_back(t.stored - t.answered);
  }

  std::vector<double> startStored, inbound, agentWork, outbound, stopStored;
  if (real) {
    const uint16_t port = tunnelPort;
    const std::string body = "{\"services\":{\"ssh\":" + std::to_string(port) + "}}";
    for (int i = 0; i < a.starts; ++i) {
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
      startStored.push_back(t.stored);
      inbound.push_back(began - sentMs);
      agentWork.push_back(static_cast<double>(t.answer.timestampMs) - began);
      outbound.push_back(sentMs + t.stored - static_cast<double>(t.answer.timestampMs));
      stopStored.push_back(endToEnd(client, watch, "frp_stop", "{}").stored);
    }
  }
  agent.stop();

  const double bareP50 = percentile(bare, 0.5), bareP99 = percentile(bare, 0.99);
  std::printf("end to end on the %s (%s; dispatcher with its default settings)\n",
              brokerKindName(kind),
              real ? "clients' default fetch settings" : "fetch.wait.max.ms=10 everywhere");
  printLine("bare produce->consume (1 hop)", bare, 0, 0);
  printLine("ping published -> stored, notified", pingStored, bareP50, bareP99);
  std::printf("      bar: p99 <= 2x the bare round trip: %s\n",
              percentile(pingStored, 0.99) <= 2 * bareP99 ? "met" : "MISSED");
  printLine("    published -> answer on the topic", pingAnswered, 0, 0);
  printLine("    answer on the topic -> notified", pingStore, 0, 0);
  if (real) {
    printLine("frp_start -> stored (real frpc, frps)", startStored, 0, 0);
    std::printf("      request to the agent (Kafka)          : p50 %7.2f ms\n",
                percentile(inbound, 0.5));
    std::printf("      agent: config, frpc spawn, proxies up : p50 %7.2f ms  p99 %7.2f ms\n",
                percentile(agentWork, 0.5), percentile(agentWork, 0.99));
    std::printf("      answer -> stored, notified            : p50 %7.2f ms\n",
                percentile(outbound, 0.5));
    printLine("frp_stop -> stored", stopStored, 0, 0);
  }
  std::fflush(stdout);
}

/// Stage 4: the Hono profile on the real broker.
void honoProfile(const Args& a) {
  std::vector<std::string> edges = {"bench"};
  for (int i = 1; i < a.honoEdges; ++i) {
    char name[16];
    std::snprintf(name, sizeof name, "sim%04d", i);
    edges.emplace_back(name);
  }
  const double t0 = nowUs();
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
  DispatcherHarness h(ds);
  const double created = (nowUs() - t0) / 1e6;
  h.startDaemon();
  waitAssigned(h, a.honoEdges, 300000);
  AgentSetup as;
  as.edgeId = "bench";
  as.sharedBroker = &h.broker();
  as.topicPrefix = h.topicPrefix();
  as.watchTopic = false;
  AgentUnderTest agent(as);
  agent.start({"--log-level", "warn"});
  EdgeSimulator::Tuning tuning;
  tuning.fetchWaitMs = a.fetchWaitMs > 0 ? a.fetchWaitMs : 500;
  tuning.fetchMinBytes = a.fetchMinBytes > 0 ? a.fetchMinBytes : 1;
  tuning.flushEach = false;
  tuning.consumers = a.simConsumers;
  EdgeSimulator sim(h.broker().bootstrap(), {edges.begin() + 1, edges.end()}, h.topicPrefix(),
                    tuning);
  ResponseWatch watch(h.conninfo());
  auto producer = kafka::Producer::create(clientConfig(h.broker(), false));
  if (!producer) {
    die(producer.error().describe());
  }
  // Both answer before the load starts (the agent, and the simulator's consumer positioned).
  for (const std::string& edge : {edges[0], edges[1]}) {
    auto id = envelope::Id::generate();
    watch.expect(id.str());
    (void)(*producer)->produce(h.topic(edge), edge, requestJson(id, "ping", "{}", nowMs()));
    (*producer)->poll(0);
    if (!watch.waitFor(id.str(), 60000)) {
      die("edge " + edge + " did not answer a ping within 60 s");
    }
  }

  std::mt19937 rng(20261202);
  std::uniform_int_distribution<size_t> pick(0, edges.size() - 1);
  std::map<std::string, double> published;
  std::map<std::string, int64_t> publishedWall;
  const int total = a.honoSeconds * a.honoRate;
  const int dispatcherPid = h.daemon(0).pid();
  const int brokerPid = h.broker().pid();
  const int64_t dCpu0 = cpuTimeMs(dispatcherPid);
  const int64_t bCpu0 = brokerPid > 0 ? cpuTimeMs(brokerPid) : 0;
  const int64_t sCpu0 = cpuTimeMs(::getpid());
  const double start = nowUs();
  for (int i = 0; i < total; ++i) {
    const double due = start + static_cast<double>(i) * 1e6 / a.honoRate;
    while (nowUs() < due) {
      (*producer)->poll(0);
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    const std::string& edge = edges[pick(rng)];
    auto id = envelope::Id::generate();
    watch.expect(id.str());
    published[id.str()] = nowUs();
    publishedWall[id.str()] = nowMs();
    if (!(*producer)->produce(h.topic(edge), edge, requestJson(id, "ping", "{}", nowMs()))) {
      die("produce refused at request " + std::to_string(i));
    }
  }
  const double loadSeconds = (nowUs() - start) / 1e6;
  (void)(*producer)->flush(30000);
  // Stragglers: up to 30 s for the last answers.
  for (int waited = 0; waited < 300; ++waited) {
    if (watch.announced().size() >= published.size() + 2) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const double runSeconds = (nowUs() - start) / 1e6;
  const double dCpu = static_cast<double>(cpuTimeMs(dispatcherPid) - dCpu0) / 1000.0;
  const double bCpu =
      brokerPid > 0 ? static_cast<double>(cpuTimeMs(brokerPid) - bCpu0) / 1000.0 : -1;
  const double sCpu = static_cast<double>(cpuTimeMs(::getpid()) - sCpu0) / 1000.0;
  const auto announced = watch.announced();
  std::vector<double> latency;
  size_t lost = 0;
  for (const auto& [id, at] : published) {
    auto it = announced.find(id);
    if (it == announced.end()) {
      ++lost;
    } else {
      latency.push_back((it->second - at) / 1000.0);
    }
  }
  // Where the time went: published -> the edge's answer (its envelope timestamp) -> notified.
  std::vector<double> toAnswer, toNotified;
  {
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
      auto p = publishedWall.find(rows->str(i, 0));
      auto n = wall.find(rows->str(i, 0));
      if (p != publishedWall.end() && n != wall.end()) {
        const double answered = std::stod(rows->str(i, 1));
        toAnswer.push_back(answered - static_cast<double>(p->second));
        toNotified.push_back(static_cast<double>(n->second) - answered);
      }
    }
  }
  const int64_t stored =
      h.count("SELECT count(*) FROM request_status WHERE type = 'ping' AND state = 'succeeded'");
  agent.stop();

  std::printf(
      "Eclipse Hono's load profile on the real Kafka broker: %d edges (1 real agent, %d "
      "simulated by %d consumers), %d requests/s for %d s; dispatcher: %d consumer(s), "
      "fetch.wait.max.ms %d, fetch.min.bytes %d\n",
      a.honoEdges, a.honoEdges - 1, a.simConsumers, a.honoRate, a.honoSeconds, a.consumers,
      a.fetchWaitMs > 0 ? a.fetchWaitMs : 500, a.fetchMinBytes > 0 ? a.fetchMinBytes : 1);
  std::printf(
      "  a broker of its own started, %d edge topics created (admin API, batched): %.1f s\n",
      a.honoEdges, created);
  std::printf("  published %zu in %.1f s; stored and notified %zu; lost %zu; notified twice %zu\n",
              published.size(), loadSeconds, latency.size(), lost, watch.duplicates());
  std::printf(
      "  published -> stored, notified: p50 %.1f ms  p95 %.1f ms  p99 %.1f ms  max %.1f ms"
      "  (Hono's published p99: 279 ms on 3 nodes)\n",
      percentile(latency, 0.5), percentile(latency, 0.95), percentile(latency, 0.99),
      percentile(latency, 1.0));
  std::printf("      published -> answered by the edge (ms clock): p50 %.0f  p95 %.0f  p99 %.0f\n",
              percentile(toAnswer, 0.5), percentile(toAnswer, 0.95), percentile(toAnswer, 0.99));
  std::printf("      answered -> stored, notified            : p50 %.0f  p95 %.0f  p99 %.0f\n",
              percentile(toNotified, 0.5), percentile(toNotified, 0.95),
              percentile(toNotified, 0.99));
  std::printf("  ping rows in PostgreSQL, succeeded: %lld (published %zu + 2 warm-up)\n",
              static_cast<long long>(stored), published.size());
  std::printf(
      "  CPU over the run (%.0f s): dispatcher %.1f%% of a core, broker %.1f%%, the simulated "
      "fleet and the web backend (this process) %.1f%%\n",
      runSeconds, 100 * dCpu / runSeconds, bCpu < 0 ? -1.0 : 100 * bCpu / runSeconds,
      100 * sCpu / runSeconds);
  if (lost != 0 || static_cast<size_t>(stored) != published.size() + 2) {
    die("requests lost: " + std::to_string(lost) + " not notified, " + std::to_string(stored) +
        " stored as succeeded");
  }
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
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
