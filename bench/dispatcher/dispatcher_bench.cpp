// Dispatcher ingest into PostgreSQL against a raw COPY of the same rows, in the same run on the
// same (throwaway) PostgreSQL, and `requests list` over a large requests table.
//
//   bench_dispatcher [--quick] [--metrics] [--edges N] [--per-edge N] [--list-rows N]
//
// 1. N requests (per-edge × edges) are stored first, through the dispatcher's own write path, so
//    the responses correlate.
// 2. raw COPY: the same response rows (already decoded) COPYed in binary into a table with the
//    same columns and no index: the floor of what PostgreSQL can take.
// 3. store: the dispatcher's ingest without Kafka: decode + validate each envelope, batch, COPY
//    into staging, INSERT ... ON CONFLICT DO NOTHING into responses (primary key), NOTIFY per
//    response, edges upsert, in transactions of --batch-size messages.
// 4. end to end: the same responses produced to the edge topics of a dev broker and consumed by
//    the dispatcher's loop (offsets committed per batch) into another database.
// The bar is store / raw COPY >= 0.5. Then `requests list` over --list-rows requests.
// --metrics instead: step 4 alone, with metrics off and on alternately (metrics_bench.cpp).
#include "dispatcher_bench.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.h"
#include "cli/queries.h"
#include "core/clock.h"
#include "core/logging.h"
#include "core/sd_notify.h"
#include "core/time_format.h"
#include "domain/model.h"
#include "envelope/envelope.h"
#include "harness/dev_broker_process.h"
#include "harness/pg_cluster.h"
#include "ingest/copy_writer.h"
#include "ingest/ingest.h"
#include "ingest/store.h"
#include "ingest/writer.h"
#include "kafka/client.h"

using namespace edgelink;
using namespace edgelink::bench;
using dispatcher::Batch;
using dispatcher::Options;
using dispatcher::RawMessage;

namespace {

Corpus makeCorpus(const Args& a) {
  Corpus c;
  const int64_t t0 = SystemClock::instance().wallMs() - 60000;
  char name[32];
  for (int e = 0; e < a.edges; ++e) {
    std::snprintf(name, sizeof name, "b-%05d", e);
    c.edges.push_back(name);
  }
  for (int i = 0; i < a.perEdge; ++i) {
    for (int e = 0; e < a.edges; ++e) {
      auto id = envelope::Id::generate();
      auto req = envelope::Envelope::request(id, "web_backend", t0 + i, "ping");
      auto resp = envelope::Envelope::response(req, "edge_board", t0 + i + 5, 200);
      resp.set("pong", true);
      resp.set("agent_version", "1.2.3");
      resp.set("received_at", formatRfc3339Ms(t0 + i + 3).c_str());
      c.requests.push_back(envelope::encode(req));
      c.responses.push_back(envelope::encode(resp));
      c.edgeOf.push_back(e);
    }
  }
  return c;
}

RawMessage raw(const Corpus& c, const std::vector<std::string>& messages, size_t i,
               int64_t offset) {
  RawMessage m;
  m.topic = "edge." + c.edges[static_cast<size_t>(c.edgeOf[i])];
  m.partition = 0;
  m.offset = offset;
  m.key = c.edges[static_cast<size_t>(c.edgeOf[i])];
  m.payload = messages[i];
  m.kafkaTimestampMs = SystemClock::instance().wallMs();
  return m;
}

}  // namespace

/// Stores messages the way the ingest does minus Kafka: this thread decodes and batches, the
/// WriterPool's lanes store on their own threads and connections.
double edgelink::bench::storeAll(const Options& o, const Corpus& c,
                                 const std::vector<std::string>& messages, int64_t offsetBase) {
  envelope::Decoder decoder;
  SdNotifier notifier;
  dispatcher::WriterPool pool(o, SystemClock::instance(), notifier, o.writers);
  size_t finished = 0;
  auto collect = [&] {
    for (auto& job : pool.takeFinished()) {
      if (!job->stored) {
        die("a batch was not stored");
      }
      finished += job->batch.messages();
    }
    return true;
  };
  auto t0 = SteadyClock::now();
  size_t pending = 0;
  for (size_t i = 0; i < messages.size(); ++i) {
    pool.add(raw(c, messages, i, offsetBase + static_cast<int64_t>(i)), decoder,
             SystemClock::instance().wallMs(), nullptr);
    if (++pending >= static_cast<size_t>(o.batchSize) || i + 1 == messages.size()) {
      pool.flush(collect);
      pending = 0;
    }
  }
  pool.drain(collect);
  collect();
  if (finished != messages.size()) {
    die("stored " + std::to_string(finished) + " of " + std::to_string(messages.size()));
  }
  return secondsSince(t0);
}

namespace {

/// COPY text format of one value (what psql's \\copy sends).
void textField(std::string& out, std::string_view v) {
  for (char ch : v) {
    switch (ch) {
      case '\\':
        out += "\\\\";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        out.push_back(ch);
    }
  }
}

enum class CopyFormat { kBinary, kText };

/// Raw COPY of the same response rows (already decoded), in one statement, into `table`
/// (created like responses: with its primary key when `keyed`, else bare).
double rawCopy(dispatcher::pg::Connection& db, const Options& o, const Corpus& c, CopyFormat f,
               bool keyed) {
  envelope::Decoder decoder;
  Batch batch(o);
  for (size_t i = 0; i < c.responses.size(); ++i) {
    batch.add(raw(c, c.responses, i, static_cast<int64_t>(i)), decoder, 0);
  }
  dispatcher::CopyWriter w;
  std::string text;
  for (const auto& r : batch.responses()) {
    if (f == CopyFormat::kBinary) {
      dispatcher::addResponseRow(w, r);
      continue;
    }
    for (const std::string* v : {&r.edgeId, &r.id, &r.sender, &r.type}) {
      textField(text, *v);
      text.push_back('\t');
    }
    text += std::to_string(r.statusCode) + "\t";
    textField(text, r.status);
    text += "\t\\N\t" + formatRfc3339Ms(r.sentAtMs) + "\t" + formatRfc3339Ms(r.receivedAtMs) + "\t";
    textField(text, r.bodyJson);
    text += "\t" + std::to_string(r.partition) + "\t" + std::to_string(r.offset) + "\n";
  }
  const std::string_view data = f == CopyFormat::kBinary ? w.finish() : std::string_view(text);
  mustExec(db, "DROP TABLE IF EXISTS raw_responses");
  mustExec(db, keyed ? "CREATE TABLE raw_responses (LIKE responses INCLUDING ALL)"
                     : "CREATE TABLE raw_responses (LIKE responses)");
  auto t0 = SteadyClock::now();
  if (auto r = db.copyIn(std::string("COPY raw_responses (") + dispatcher::kResponseColumns +
                             ") FROM STDIN" + (f == CopyFormat::kBinary ? " (FORMAT binary)" : ""),
                         data);
      !r) {
    die(r.error().describe());
  }
  return secondsSince(t0);
}

void produceAll(const std::string& bootstrap, const Corpus& c,
                const std::vector<std::string>& messages) {
  auto p = bulkProducer(bootstrap);
  for (size_t i = 0; i < messages.size(); ++i) {
    const std::string& edge = c.edges[static_cast<size_t>(c.edgeOf[i])];
    for (;;) {
      auto r = p->produce("edge." + edge, edge, messages[i]);
      if (r) {
        break;
      }
      p->poll(10);  // queue full: let deliveries drain
    }
  }
  if (auto r = p->flush(120000); !r) {
    die(r.error().describe());
  }
}

}  // namespace

/// Commits offset 0 for every edge partition: the group then starts like a running deployment
/// (committed positions) instead of looking up 1,000 offsets one by one.
void edgelink::bench::precommit(const Options& o, const Corpus& c) {
  kafka::Config cc = o.consumerConfig();
  auto consumer = kafka::Consumer::create(cc);
  if (!consumer) {
    die(consumer.error().describe());
  }
  std::vector<kafka::TopicPartitionOffset> parts;
  for (const auto& e : c.edges) {
    parts.push_back({"edge." + e, 0, 0});
  }
  if (auto r = (*consumer)->commit(parts); !r) {
    std::fprintf(stderr, "bench: pre-committing offsets failed (%s): the group starts fresh\n",
                 r.error().describe().c_str());
  }
}

namespace {

Args parseArgs(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto next = [&]() -> int64_t {
      if (i + 1 >= argc) {
        die(arg + " needs a value");
      }
      return std::stoll(argv[++i]);
    };
    if (arg == "--quick") {
      a.quick = true;
      a.edges = 200;
      a.perEdge = 50;
      a.listRows = 100000;
    } else if (arg == "--edges") {
      a.edges = static_cast<int>(next());
    } else if (arg == "--per-edge") {
      a.perEdge = static_cast<int>(next());
    } else if (arg == "--list-rows") {
      a.listRows = next();
    } else if (arg == "--batch-size") {
      a.batchSize = static_cast<int>(next());
    } else if (arg == "--metrics") {
      a.metrics = true;
    } else {
      die("usage: bench_dispatcher [--quick] [--metrics] [--edges N] [--per-edge N] "
          "[--list-rows N] [--batch-size N]");
    }
  }
  return a;
}

/// The dispatcher's own CPU: decode + validate + batch rows (no database).
void decodeOnly(const Args& a, const Options& o, const Corpus& c) {
  const size_t n = c.responses.size();
  envelope::Decoder decoder;
  Batch batch(o);
  auto t = SteadyClock::now();
  for (size_t i = 0; i < n; ++i) {
    batch.add(raw(c, c.responses, i, static_cast<int64_t>(i)), decoder, 0);
    if (batch.messages() >= static_cast<size_t>(a.batchSize)) {
      batch.clear();
    }
  }
  std::printf("decode + batch only:              %8.0f envelopes/s (%.2f us each)\n",
              static_cast<double>(n) / secondsSince(t), secondsSince(t) / n * 1e6);
}

/// Raw COPYs of the same rows around the dispatcher's store (a noisy neighbour hurts both);
/// returns the raw text COPY's rows/s.
double storeVersusCopy(const Args& a, const Options& o, const Options& so,
                       dispatcher::pg::Connection& sdb, const Corpus& c) {
  const size_t n = c.responses.size();
  struct Baseline {
    const char* name;
    CopyFormat format;
    bool keyed;
    double seconds = 0;
  };
  std::vector<Baseline> baselines = {
      {"raw COPY, text (psql \\copy), no index", CopyFormat::kText, false},
      {"raw COPY, binary, no index", CopyFormat::kBinary, false},
      {"raw COPY, binary, into responses (its key)", CopyFormat::kBinary, true},
  };
  for (auto& b : baselines) {
    b.seconds = rawCopy(sdb, o, c, b.format, b.keyed);
  }
  const double cpu0 = selfCpuSeconds();
  double ours = storeAll(so, c, c.responses, static_cast<int64_t>(n));
  const double oursCpu = selfCpuSeconds() - cpu0;
  for (auto& b : baselines) {
    b.seconds = (b.seconds + rawCopy(sdb, o, c, b.format, b.keyed)) / 2;
  }
  auto correlated = mustExec(sdb, "SELECT count(*) FROM request_status WHERE state = 'succeeded'");
  if (correlated.int64(0, 0) != static_cast<int64_t>(n)) {
    die("only " + correlated.str(0, 0) + " responses correlated");
  }
  const double oursRate = static_cast<double>(n) / ours;
  for (const auto& b : baselines) {
    std::printf("%-46s %8.0f rows/s\n", b.name, static_cast<double>(n) / b.seconds);
  }
  std::printf(
      "dispatcher store: decode + validate + COPY (%d writers) + correlate + notify, batches "
      "of %d:\n",
      so.writers, a.batchSize);
  std::printf("%-46s %8.0f envelopes/s (%.2f s, %.1f us CPU each in the dispatcher)\n", "",
              oursRate, ours, oursCpu / static_cast<double>(n) * 1e6);
  for (const auto& b : baselines) {
    std::printf("ratio store / %-32s %8.2f%s\n", b.name,
                oursRate * b.seconds / static_cast<double>(n),
                &b == &baselines.front() ? "   (the bar: >= 0.5)" : "");
  }
  return static_cast<double>(n) / baselines.front().seconds;
}

/// The broker's own pace: a bare consumer reading the same messages (no processing).
void bareConsumer(const Options& o, const Corpus& c) {
  const size_t n = c.responses.size();
  kafka::Config bc = o.consumerConfig();
  bc.set("group.id", "bench-bare");
  auto bare = kafka::Consumer::create(bc);
  if (!bare) {
    die(bare.error().describe());
  }
  std::vector<kafka::TopicPartitionOffset> parts;
  for (const auto& e : c.edges) {
    parts.push_back({"edge." + e, 0, kafka::kOffsetBeginning});
  }
  if (auto r = (*bare)->assign(parts); !r) {
    die(r.error().describe());
  }
  size_t got = 0;
  auto tb = SteadyClock::now();
  double firstAt = -1;
  while (got < n && secondsSince(tb) < 300) {
    for (const auto& m : (*bare)->pollBatch(10000, 100)) {
      if (!m.isError()) {
        if (firstAt < 0) {
          firstAt = secondsSince(tb);
        }
        ++got;
      }
    }
  }
  const double bareSecs = secondsSince(tb) - firstAt;
  std::printf("bare consumer (same messages, no processing): %8.0f messages/s\n",
              static_cast<double>(got) / bareSecs);
}

/// The dispatcher's loop from the dev broker into PostgreSQL, offsets committed.
void endToEnd(const Options& ko, dispatcher::pg::Connection& kdb, const Corpus& c, double rawRate) {
  const size_t n = c.responses.size();
  precommit(ko, c);
  dispatcher::Ingestor ingestor(ko, SystemClock::instance());
  auto t0 = SteadyClock::now();
  if (auto r = ingestor.start(); !r) {
    die(r.error().describe());
  }
  double firstAt = -1;
  const double kcpu0 = selfCpuSeconds();
  std::atomic<bool> stop{false};
  std::thread loop([&] { ingestor.run(stop); });
  while (ingestor.messagesStored() < n) {
    if (firstAt < 0 && ingestor.messagesStored() > 0) {
      firstAt = secondsSince(t0);
    }
    if (secondsSince(t0) > 600) {
      die("end to end: only " + std::to_string(ingestor.messagesStored()) + " stored in 600 s");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const double total = secondsSince(t0);
  const double kcpu = selfCpuSeconds() - kcpu0;
  stop = true;
  loop.join();
  auto k = mustExec(kdb, "SELECT count(*) FROM request_status WHERE state = 'succeeded'");
  std::printf("end to end (dev broker -> dispatcher loop -> PostgreSQL, offsets committed):\n");
  std::printf(
      "                                  %8.0f envelopes/s (%.1f s from subscribe, first "
      "batch after %.1f s; %.0f/s after it; %.1f us CPU each incl. librdkafka)\n",
      static_cast<double>(n) / total, total, firstAt, static_cast<double>(n) / (total - firstAt),
      kcpu / static_cast<double>(n) * 1e6);
  std::printf("ratio end to end / raw COPY (text): %6.2f   (%s correlated)\n",
              static_cast<double>(n) / (total - firstAt) / rawRate, k.str(0, 0).c_str());
}

}  // namespace

int benchMain(int argc, char** argv) {
  const Args a = parseArgs(argc, argv);
  (void)log::init("warn");
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  const size_t n = static_cast<size_t>(a.edges) * static_cast<size_t>(a.perEdge);
  std::printf("== dispatcher ingest: %zu responses across %d edge topics%s\n", n, a.edges,
              a.quick ? " (--quick: below the bar's 100,000 across 1,000)" : "");
  Corpus c = makeCorpus(a);
  auto cluster = testing::PgCluster::start();
  testing::DevBrokerProcess broker(
      {"--edge-topics", std::to_string(a.edges), "--edge-topic-prefix", "edge.b-"});
  Options o;
  o.kafkaBrokers = broker.bootstrap();
  o.consumerGroup = "bench-ingest";
  o.batchSize = a.batchSize;
  o.kafkaProperties = {"fetch.wait.max.ms=10", "log_level=3"};
  if (auto p = o.validate(); !p.empty()) {
    die(p.toError().message);
  }

  if (a.metrics) {
    // Requests through Kafka too, as in a deployment: each answer follows its request.
    auto tp = SteadyClock::now();
    produceAll(broker.bootstrap(), c, c.requests);
    produceAll(broker.bootstrap(), c, c.responses);
    std::printf("produced %zu requests and their answers to %d topics in %.1f s\n", n, a.edges,
                secondsSince(tp));
    metricsOverhead(a, o, *cluster, c);
    return 0;
  }
  // Requests first (so responses correlate), in both databases.
  const std::string storeDb = cluster->createDatabase("store");
  const std::string kafkaDb = cluster->createDatabase("kafka");
  auto sdb = migratedDb(storeDb);
  auto kdb = migratedDb(kafkaDb);
  Options so = o;
  so.pgConninfo = storeDb;
  Options ko = o;
  ko.pgConninfo = kafkaDb;
  double req = storeAll(so, c, c.requests, 0);
  (void)storeAll(ko, c, c.requests, 0);
  std::printf("requests stored first:            %8.0f envelopes/s\n",
              static_cast<double>(n) / req);

  decodeOnly(a, o, c);
  const double rawRate = storeVersusCopy(a, o, so, *sdb, c);
  // End to end through Kafka.
  auto tp = SteadyClock::now();
  produceAll(broker.bootstrap(), c, c.responses);
  std::printf("produced %zu responses to %d topics in %.1f s\n", n, a.edges, secondsSince(tp));
  bareConsumer(o, c);
  endToEnd(ko, *kdb, c, rawRate);
  listBench(a, *cluster);
  return 0;
}

int main(int argc, char** argv) {
  return guardedMain([&] { return benchMain(argc, argv); });
}
