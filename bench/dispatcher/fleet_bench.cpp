// One dispatcher and a fleet of one-partition edge topics (this design's own choice: one topic
// per edge) on a real Apache Kafka broker of its own (or, with --mock, the dev broker).
// Measures, with the real cloud-dispatcher process and production settings (fetch.wait.max.ms
// and the rest at their defaults unless given):
//   - the topics' creation through the admin API (batched CreateTopics), real broker;
//   - seconds until every topic is assigned to it (fresh group, then again after a restart);
//   - a minute of heartbeats as a fleet sends them (one per edge, spread evenly over the minute):
//     the dispatcher's and the broker's CPU;
//   - a round of one heartbeat per edge as fast as they go: seconds until all
//     are stored and the dispatcher's CPU for it, for a fresh group (offsets looked up from the
//     earliest) and in steady state (positions known, offsets committed);
//   - idle CPU with every partition assigned; RSS and threads; the broker's CPU beside it.
//
//   bench_fleet [--quick] [--mock] [--edges N] [--idle-seconds S] [--fetch-wait-ms MS]
//               [--fetch-min-bytes N]
//               [--consumers N] [--precommit] [--spread-seconds S] [--no-restart]
#include <signal.h>

#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.h"
#include "core/clock.h"
#include "core/logging.h"
#include "core/subprocess.h"
#include "envelope/envelope.h"
#include "harness/dev_broker_process.h"
#include "harness/pg_cluster.h"
#include "harness/test_broker.h"
#include "harness/test_util.h"
#include "kafka/client.h"

using namespace edgelink;
using namespace edgelink::bench;

namespace {

std::string topicOf(int i) {
  char name[32];
  std::snprintf(name, sizeof name, "edge.fleet-%05d", i);
  return name;
}

struct Args {
  int edges = 10000;
  int idleSeconds = 20;
  bool quick = false;
  int fetchWaitMs = 0;    // 0: librdkafka's default (500)
  int fetchMinBytes = 0;  // 0: librdkafka's default (1)
  int consumers = 1;
  bool precommit = false;     // start like an established deployment: offsets committed
  bool mock = false;          // the dev broker instead of a real one
  double spreadSeconds = 60;  // the "minute" a round of heartbeats is spread over
  bool noRestart = false;
};

/// The broker under the fleet: a real Kafka broker of the bench's own, or the dev broker.
class FleetBroker {
 public:
  FleetBroker(const Args& a) {
    auto t0 = SteadyClock::now();
    if (a.mock) {
      mock_ = std::make_unique<testing::DevBrokerProcess>(std::vector<std::string>{
          "--edge-topics", std::to_string(a.edges), "--edge-topic-prefix", "edge.fleet-"});
      std::printf("dev broker with %d topics up in %.1f s\n", a.edges, secondsSince(t0));
      return;
    }
    // 10,000 partitions: more heap than the tests' broker (KAFKA_HEAP overrides).
    ::setenv("KAFKA_HEAP", "1g", 0);
    real_ = std::make_unique<testing::KafkaProcess>();
    std::printf("real Kafka broker up in %.1f s (KAFKA_HEAP %s)\n", secondsSince(t0),
                std::getenv("KAFKA_HEAP"));
    std::vector<kafka::NewTopic> topics;
    for (int i = 0; i < a.edges; ++i) {
      topics.push_back({topicOf(i), 1, 1, {}});
    }
    kafka::Config c;
    c.set("bootstrap.servers", bootstrap());
    c.set("log_level", "3");
    const int64_t cpu0 = testing::cpuTimeMs(pid());
    auto t1 = SteadyClock::now();
    auto results = kafka::createTopics(c, topics, 120000);
    if (!results) {
      die("CreateTopics: " + results.error().describe());
    }
    for (size_t i = 0; i < results->size(); ++i) {
      if (!(*results)[i]) {
        die("creating " + topics[i].name + ": " + (*results)[i].error().describe());
      }
    }
    std::printf(
        "%d topics created through the admin API in %.1f s (%zu per CreateTopics request; "
        "broker CPU %.1f s)\n",
        a.edges, secondsSince(t1), kafka::kCreateTopicsBatch,
        static_cast<double>(testing::cpuTimeMs(pid()) - cpu0) / 1000.0);
  }
  std::string bootstrap() const { return mock_ ? mock_->bootstrap() : real_->bootstrap(); }
  int pid() const { return mock_ ? mock_->pid() : real_->pid(); }
  const char* name() const { return mock_ ? "dev broker" : "real broker"; }

 private:
  std::unique_ptr<testing::DevBrokerProcess> mock_;
  std::unique_ptr<testing::KafkaProcess> real_;
};

class Fleet {
 public:
  Fleet(const std::string& bootstrap, int edges) : edges_(edges) {
    producer_ = bulkProducer(bootstrap);
    // Learn every topic's metadata before anything is timed.
    if (auto t = kafka::listTopics(producer_->handle(), "edge.fleet-", 60000); !t) {
      die(t.error().describe());
    }
  }

  /// One heartbeat from every edge, timestamped `ts`; spread evenly over `spreadSeconds` (as a
  /// fleet sends them) or, with 0, as fast as they go.
  void heartbeatRound(int64_t ts, double spreadSeconds = 0) {
    const auto t0 = SteadyClock::now();
    for (int i = 0; i < edges_; ++i) {
      const double due = spreadSeconds * i / edges_;
      while (secondsSince(t0) < due) {
        producer_->poll(0);
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      auto e = envelope::Envelope::event(envelope::Id::generate(), "edge_board", ts, "heartbeat");
      e.set("agent_version", "1.2.3");
      e.set("interval_seconds", 60);
      e.set("uptime_seconds", 3600.0);
      e.set("frp_running", false);
      std::string topic = topicOf(i);
      std::string bytes = envelope::encode(e);
      while (!producer_->produce(topic, topic.substr(5), bytes)) {
        producer_->poll(10);
      }
    }
    if (auto r = producer_->flush(120000); !r) {
      die(r.error().describe());
    }
  }

 private:
  int edges_;
  std::unique_ptr<kafka::Producer> producer_;
};

struct Dispatcher {
  Subprocess proc;
  std::string log;
};

Dispatcher startDispatcher(const std::string& config, const std::string& log) {
  SpawnOptions opts;
  opts.argv = {EDGELINK_DISPATCHER_BIN, "--config", config, "run"};
  opts.stdoutPath = log;
  opts.stderrPath = log;
  auto p = Subprocess::spawn(opts);
  if (!p) {
    die(p.error().describe());
  }
  return {std::move(*p), log};
}

/// Seconds until `sql` returns `expected` (polling every 100 ms); dies after `limit` seconds.
double waitSql(dispatcher::pg::Connection& db, const std::string& sql, const std::string& expected,
               double limit, const std::string& what) {
  auto t0 = SteadyClock::now();
  std::string last;
  while (secondsSince(t0) < limit) {
    auto r = mustExec(db, sql);
    last = r.empty() || r.isNull(0, 0) ? "" : r.str(0, 0);
    if (last == expected) {
      return secondsSince(t0);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  die(what + ": still '" + last + "' (want '" + expected + "') after " + std::to_string(limit) +
      " s");
}

double mb(uint64_t bytes) {
  return static_cast<double>(bytes) / (1024.0 * 1024.0);
}

Args parseArgs(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--quick") {
      a.quick = true;
      a.edges = 2000;
      a.idleSeconds = 5;
      a.spreadSeconds = 15;
    } else if (arg == "--edges" && i + 1 < argc) {
      a.edges = std::stoi(argv[++i]);
    } else if (arg == "--idle-seconds" && i + 1 < argc) {
      a.idleSeconds = std::stoi(argv[++i]);
    } else if (arg == "--spread-seconds" && i + 1 < argc) {
      a.spreadSeconds = std::stod(argv[++i]);
    } else if (arg == "--no-restart") {
      a.noRestart = true;
    } else if (arg == "--mock") {
      a.mock = true;
    } else if (arg == "--precommit") {
      a.precommit = true;
    } else if (arg == "--consumers" && i + 1 < argc) {
      a.consumers = std::stoi(argv[++i]);
    } else if (arg == "--fetch-min-bytes" && i + 1 < argc) {
      a.fetchMinBytes = std::stoi(argv[++i]);
    } else if (arg == "--fetch-wait-ms" && i + 1 < argc) {
      a.fetchWaitMs = std::stoi(argv[++i]);
    } else {
      die("usage: bench_fleet [--quick] [--mock] [--edges N] [--idle-seconds S] [--fetch-wait-ms "
          "MS] [--fetch-min-bytes N] "
          "[--consumers N] [--precommit] [--spread-seconds S] [--no-restart]");
    }
  }
  return a;
}

/// The dispatcher's config file: the broker, PostgreSQL, and the bench's consumer settings.
std::string writeConfig(const testing::TempDir& dir, const Args& a, const FleetBroker& broker,
                        const std::string& conninfo) {
  const std::string config = dir.file("dispatcher.conf");
  testing::writeText(
      config,
      "kafka-brokers = \"" + broker.bootstrap() + "\"\npg-conninfo = \"" + conninfo +
          "\"\nlog-level = \"info\"\nconsumers = " + std::to_string(a.consumers) +
          "\n"
          "kafka-property = [\"log_level=3\"" +
          (a.fetchWaitMs > 0 ? ", \"fetch.wait.max.ms=" + std::to_string(a.fetchWaitMs) + "\""
                             : std::string()) +
          (a.fetchMinBytes > 0 ? ", \"fetch.min.bytes=" + std::to_string(a.fetchMinBytes) + "\""
                               : std::string()) +
          "]\n");
  return config;
}

/// Offset 0 committed for every partition: no offset lookups from the earliest (what a
/// brand-new group does, one partition at a time).
void precommitOffsets(const Args& a, const FleetBroker& broker) {
  kafka::Config cc;
  cc.set("bootstrap.servers", broker.bootstrap());
  cc.set("group.id", "cloud-dispatcher");
  cc.set("log_level", "3");
  auto consumer = kafka::Consumer::create(cc);
  if (!consumer) {
    die(consumer.error().describe());
  }
  std::vector<kafka::TopicPartitionOffset> parts;
  for (int i = 0; i < a.edges; ++i) {
    parts.push_back({topicOf(i), 0, 0});
  }
  if (auto r = (*consumer)->commit(parts); !r) {
    die(r.error().describe());
  }
  std::printf("offsets committed for every partition beforehand (an established group)\n");
}

/// What the measurements share: the fleet, its broker, PostgreSQL and the running dispatcher.
struct Rig {
  const Args& a;
  FleetBroker& broker;
  Fleet& fleet;
  dispatcher::pg::Connection& db;
  Dispatcher& d;
};

/// One heartbeat per edge (as fast as they go, or spread over `spreadSeconds`): seconds until
/// all are stored, and the dispatcher's CPU seconds for it.
double heartbeatRound(Rig& r, const char* what, double spreadSeconds = 0) {
  const int64_t ts = SystemClock::instance().wallMs();
  const int64_t cpu0 = testing::cpuTimeMs(r.d.proc.pid());
  const int64_t brokerCpu0 = testing::cpuTimeMs(r.broker.pid());
  auto t0 = SteadyClock::now();
  r.fleet.heartbeatRound(ts, spreadSeconds);
  const double produced = secondsSince(t0);
  waitSql(r.db,
          "SELECT count(*) FROM edges WHERE heartbeat_sent_at >= to_timestamp(" +
              std::to_string(ts) + " / 1000.0)",
          std::to_string(r.a.edges), 900, what);
  const double stored = secondsSince(t0);
  const double cpu = static_cast<double>(testing::cpuTimeMs(r.d.proc.pid()) - cpu0) / 1000.0;
  const double brokerCpu =
      static_cast<double>(testing::cpuTimeMs(r.broker.pid()) - brokerCpu0) / 1000.0;
  std::printf(
      "%-44s all %d stored %.1f s after the first was sent (produced in %.1f s); "
      "dispatcher CPU %.2f s (%.2f s per 10k), %s CPU %.2f s\n",
      what, r.a.edges, stored, produced, cpu, cpu * 10000.0 / r.a.edges, r.broker.name(),
      brokerCpu);
  if (spreadSeconds > 0) {
    std::printf("%-44s dispatcher %.1f%% of a core, %s %.1f%% of a core\n", "", 100 * cpu / stored,
                r.broker.name(), 100 * brokerCpu / stored);
  }
  return cpu;
}

/// Idle with every partition assigned; with the steady round's CPU, the fleet's per-minute
/// share of a core.
void measureIdle(Rig& r, double steadyCpu) {
  const Args& a = r.a;
  const int64_t idle0 = testing::cpuTimeMs(r.d.proc.pid());
  const int64_t brokerIdle0 = testing::cpuTimeMs(r.broker.pid());
  std::this_thread::sleep_for(std::chrono::seconds(a.idleSeconds));
  const double idleCpu = static_cast<double>(testing::cpuTimeMs(r.d.proc.pid()) - idle0) / 1000.0;
  const double brokerIdle =
      static_cast<double>(testing::cpuTimeMs(r.broker.pid()) - brokerIdle0) / 1000.0;
  const double idleShare = idleCpu / a.idleSeconds;
  std::printf(
      "idle, every partition assigned: %.1f%% of a core (%.2f CPU-s over %d s); RSS %.1f "
      "MB, %d threads\n",
      idleShare * 100, idleCpu, a.idleSeconds, mb(testing::rssBytes(r.d.proc.pid())),
      testing::threadCount(r.d.proc.pid()));
  std::printf("idle, the %s meanwhile: %.1f%% of a core\n", r.broker.name(),
              100 * brokerIdle / a.idleSeconds);
  const double perMinute = idleShare * 60 + steadyCpu;
  std::printf(
      "=> %d edges x 1 heartbeat/min: ~%.1f%% of one core (idle fetching %.1f%%, "
      "heartbeats %.1f%%)\n",
      a.edges, perMinute / 60 * 100, idleShare * 100, steadyCpu / 60 * 100);
}

void stopDispatcher(Dispatcher& d) {
  d.proc.signal(SIGTERM);
  d.proc.waitFor(60000);
}

}  // namespace

int benchMain(int argc, char** argv) {
  const Args a = parseArgs(argc, argv);
  (void)log::init("warn");
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  std::printf(
      "== fleet: %d one-partition edge topics on the %s, one dispatcher with %d consumer%s, "
      "fetch.wait.max.ms %d, fetch.min.bytes %d%s\n",
      a.edges, a.mock ? "dev broker (mock)" : "real Kafka broker", a.consumers,
      a.consumers > 1 ? "s" : "", a.fetchWaitMs > 0 ? a.fetchWaitMs : 500,
      a.fetchMinBytes > 0 ? a.fetchMinBytes : 1, a.quick ? " (--quick)" : "");
  testing::TempDir dir("edgelink-fleet");
  auto cluster = testing::PgCluster::start();
  const std::string conninfo = cluster->createDatabase("fleet");
  auto db = migratedDb(conninfo);
  FleetBroker broker(a);
  const std::string config = writeConfig(dir, a, broker, conninfo);
  Fleet fleet(broker.bootstrap(), a.edges);
  const std::string total = std::to_string(a.edges);
  const std::string assigned =
      "SELECT COALESCE(sum(assigned_partitions), 0) FROM dispatchers WHERE state = 'running'";
  if (a.precommit) {
    precommitOffsets(a, broker);
  }

  // 1. A brand-new dispatcher.
  Dispatcher d = startDispatcher(config, dir.file("dispatcher-1.log"));
  const double assignFresh = waitSql(*db, assigned, total, 600, "assignment");
  std::printf(
      "all %d partitions assigned %.1f s after start (fresh group); RSS %.1f MB, %d "
      "threads\n",
      a.edges, assignFresh, mb(testing::rssBytes(d.proc.pid())),
      testing::threadCount(d.proc.pid()));
  Rig rig{a, broker, fleet, *db, d};
  heartbeatRound(rig, a.precommit ? "heartbeat round 1 (offsets committed before):"
                                  : "heartbeat round 1 (fresh group, earliest):");
  const double steadyCpu = heartbeatRound(rig, "heartbeat round 2 (steady state):");
  // What a fleet really does: each edge's heartbeat once a minute, spread over the minute.
  heartbeatRound(rig, "a minute of heartbeats, spread evenly:", a.spreadSeconds);
  measureIdle(rig, steadyCpu);
  stopDispatcher(d);
  if (a.noRestart) {
    return 0;
  }
  // 2. A restart: the group has committed offsets now.
  d = startDispatcher(config, dir.file("dispatcher-2.log"));
  const double assignAgain = waitSql(*db, assigned, total, 600, "assignment after restart");
  std::printf("after a restart: all partitions assigned again in %.1f s\n", assignAgain);
  heartbeatRound(rig, "heartbeat round 3 (after the restart):");
  stopDispatcher(d);
  return 0;
}

int main(int argc, char** argv) {
  return guardedMain([&] { return benchMain(argc, argv); });
}
