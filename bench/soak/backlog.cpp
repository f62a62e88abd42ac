// bench_soak --backlog N: a dispatcher that falls behind. With the dispatcher stopped (an outage),
// messages pile up on the edge topics; then it starts and drains them. First a small backlog (a
// twentieth, at least 50,000) measures the ingest rate and the RSS of a dispatcher with little to
// catch up on; then N more. Printed: the peak RSS (VmHWM) of each and their ratio, the drain
// rate of each and their ratio. Progress is the dispatcher group's committed offsets (committed
// only once PostgreSQL committed the batch), read with the broker's API, not from PostgreSQL.
#include <librdkafka/rdkafka.h>

#include <cstdio>

#include "core/time_format.h"
#include "e2e_common.h"
#include "envelope/envelope.h"
#include "soak.h"
#include "soak_series.h"

namespace edgelink::bench::soak {
namespace {

using namespace edgelink::testing;
using e2e::die;

/// N messages (requests and their answers, half each) spread over `edges`' topics.
void produceBacklog(DispatcherHarness& h, const std::vector<std::string>& edges, int64_t n) {
  kafka::Config c = h.broker().clientConfig();
  c.set("log_level", "3");
  c.set("linger.ms", "20");
  c.set("batch.num.messages", "10000");
  c.set("queue.buffering.max.messages", "500000");
  auto p = kafka::Producer::create(c);
  if (!p) {
    die("producer: " + p.error().describe());
  }
  const int64_t t0 = nowMs() - 60000;
  for (int64_t i = 0; i < (n + 1) / 2; ++i) {
    const std::string& edge = edges[static_cast<size_t>(i) % edges.size()];
    auto req = envelope::Envelope::request(envelope::Id::generate(), "web_backend", t0, "ping");
    auto resp = envelope::Envelope::response(req, "edge_board", t0 + 5, 200);
    resp.set("pong", true);
    resp.set("agent_version", "1.2.3");
    resp.set("received_at", formatRfc3339Ms(t0 + 3).c_str());
    for (const std::string& value : {envelope::encode(req), envelope::encode(resp)}) {
      while (!(*p)->produce(h.topic(edge), edge, value)) {
        (*p)->poll(10);  // queue full: let deliveries drain
      }
    }
    (*p)->poll(0);
  }
  if (auto r = (*p)->flush(300000); !r) {
    die("producing the backlog: " + r.error().describe());
  }
}

/// The dispatcher group's committed offsets, summed over the edge topics.
class Progress {
 public:
  Progress(DispatcherHarness& h, const std::vector<std::string>& edges) : edges_(edges), h_(h) {
    kafka::Config c = h.broker().clientConfig();
    c.set("log_level", "3");
    c.set("group.id", h.group());  // never subscribes: only reads the group's offsets
    auto consumer = kafka::Consumer::create(c);
    if (!consumer) {
      die("consumer: " + consumer.error().describe());
    }
    consumer_ = std::move(*consumer);
  }

  int64_t committed() {
    rd_kafka_topic_partition_list_t* list =
        rd_kafka_topic_partition_list_new(static_cast<int>(edges_.size()));
    for (const auto& e : edges_) {
      rd_kafka_topic_partition_list_add(list, h_.topic(e).c_str(), 0);
    }
    int64_t sum = 0;
    if (rd_kafka_committed(consumer_->handle(), list, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      for (int i = 0; i < list->cnt; ++i) {
        sum += std::max<int64_t>(list->elems[i].offset, 0);
      }
    } else {
      sum = -1;
    }
    rd_kafka_topic_partition_list_destroy(list);
    return sum;
  }

 private:
  std::vector<std::string> edges_;
  DispatcherHarness& h_;
  std::unique_ptr<kafka::Consumer> consumer_;
};

struct Drain {
  int64_t messages = 0;
  double untilFirstSeconds = 0;  ///< start -> the first batch committed
  double drainSeconds = 0;       ///< the first batch -> the last
  double rate = 0;               ///< messages/s over drainSeconds
  double startRssMb = 0, peakRssMb = 0, endRssMb = 0;
  double quarterRssMb[4] = {0, 0, 0, 0};  ///< RSS when 25, 50, 75, 100 % were committed
};

/// Starts dispatcher daemon `index`, waits until the group committed `target` in all, stops it.
Drain drain(DispatcherHarness& h, Progress& progress, int64_t base, int64_t target) {
  Drain d;
  d.messages = target - base;
  const double t0 = nowUs();
  const size_t index = h.startDaemon();
  const int pid = h.daemon(index).pid();
  double firstAt = -1;
  for (;;) {
    const double at = (nowUs() - t0) / 1e6;
    const ProcSample s = readProc(pid, at);
    if (s.fds < 0) {
      die("the dispatcher went away while draining\n" + h.daemonLog(index));
    }
    if (d.startRssMb == 0 && at >= 1) {
      d.startRssMb = s.rssMb;
    }
    const int64_t done = progress.committed();
    if (firstAt < 0 && done > base) {
      firstAt = at;
    }
    for (int q = 0; q < 4; ++q) {
      if (d.quarterRssMb[q] == 0 && (done - base) * 4 >= d.messages * (q + 1)) {
        d.quarterRssMb[q] = s.rssMb;
      }
    }
    if (done >= target) {
      d.untilFirstSeconds = firstAt;
      d.drainSeconds = at - firstAt;
      d.peakRssMb = s.peakRssMb;
      d.endRssMb = s.rssMb;
      break;
    }
    if (at > 3600) {
      die("the backlog did not drain within an hour: " + std::to_string(done - base) + " of " +
          std::to_string(d.messages) + "\n" + h.daemonLog(index));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  d.rate = static_cast<double>(d.messages) / std::max(d.drainSeconds, 0.25);
  h.daemon(index).terminate(20000);
  return d;
}

void printDrain(const char* what, const Drain& d) {
  std::printf(
      "  %-24s %8lld messages: first batch after %4.1f s, drained in %6.1f s = %7.0f msg/s; "
      "RSS at 1 s %.1f MB, peak %.1f MB, at the end %.1f MB\n",
      what, static_cast<long long>(d.messages), d.untilFirstSeconds, d.drainSeconds, d.rate,
      d.startRssMb, d.peakRssMb, d.endRssMb);
  std::printf("  %-24s RSS when 25 / 50 / 75 / 100 %% were stored: %.1f / %.1f / %.1f / %.1f MB\n",
              "", d.quarterRssMb[0], d.quarterRssMb[1], d.quarterRssMb[2], d.quarterRssMb[3]);
}

}  // namespace

void runBacklog(const Args& a) {
  std::vector<std::string> edges;
  for (int i = 0; i < a.backlogEdges; ++i) {
    char name[16];
    std::snprintf(name, sizeof name, "bl%03d", i);
    edges.emplace_back(name);
  }
  DispatcherHarness::Setup ds(edges);
  ds.broker = BrokerKind::kKafka;
  ds.productionSettings = true;
  std::string props;
  for (const auto& kv : a.kafkaProperties) {
    props += (props.empty() ? "\"" : ", \"") + kv + "\"";
  }
  if (!props.empty()) {
    ds.config.push_back("kafka-property = [" + props + "]");
  }
  DispatcherHarness h(ds);
  Progress progress(h, edges);
  const int64_t small = std::max<int64_t>(50000, a.backlog / 20) / 2 * 2;
  const int64_t big = (a.backlog + 1) / 2 * 2;
  std::printf(
      "a dispatcher that falls behind: backlogs produced to %d edge topics on the real broker "
      "while it is stopped, then drained into PostgreSQL (dispatcher defaults%s%s)\n",
      a.backlogEdges, props.empty() ? "" : "; kafka-property = ", props.c_str());
  double t = nowUs();
  produceBacklog(h, edges, small);
  std::printf("  produced %lld in %.1f s\n", static_cast<long long>(small), (nowUs() - t) / 1e6);
  const Drain s = drain(h, progress, 0, small);
  printDrain("small backlog (baseline)", s);
  t = nowUs();
  produceBacklog(h, edges, big);
  std::printf("  produced %lld in %.1f s\n", static_cast<long long>(big), (nowUs() - t) / 1e6);
  const Drain b = drain(h, progress, small, small + big);
  printDrain("backlog", b);
  std::printf(
      "  peak RSS backlog / small backlog: %.2fx (%.1f MB vs %.1f MB); drain rate backlog / "
      "ingest rate (small backlog): %.2f\n",
      b.peakRssMb / s.peakRssMb, b.peakRssMb, s.peakRssMb, b.rate / s.rate);
  std::printf("  rows: %s requests succeeded in PostgreSQL (expected %lld)\n",
              h.sql("SELECT count(*) FROM request_status WHERE state = 'succeeded'").c_str(),
              static_cast<long long>((small + big) / 2));
}

}  // namespace edgelink::bench::soak
