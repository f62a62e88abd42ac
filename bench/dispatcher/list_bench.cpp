// bench_dispatcher's last part: `requests list` over a large requests table (--list-rows
// requests, 90 % answered, 1,000 edges, spread over a day), filled through the dispatcher's own
// write path.
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "bench_util.h"
#include "cli/queries.h"
#include "core/clock.h"
#include "dispatcher_bench.h"
#include "envelope/envelope.h"
#include "ingest/store.h"

namespace edgelink::bench {
namespace {

using dispatcher::Batch;
using dispatcher::Options;
using dispatcher::RawMessage;

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

/// Request `i` of the table, `ts` its time.
dispatcher::RequestRow requestRow(int64_t i, int64_t ts, const char* edge) {
  dispatcher::RequestRow r;
  r.edgeId = edge;
  r.id = "req-" + std::to_string(i);
  r.type = i % 10 == 0 ? "system_info" : "ping";
  r.sender = "web_backend";
  r.sentAtMs = r.seenAtMs = ts;
  r.deadlineMs = ts + 30000;
  r.bodyJson = "{}";
  r.partition = 0;
  r.offset = i;
  return r;
}

/// Its answer: one in 50 a failure, pings a pong, system_info a version and uptime.
std::string answerTo(const dispatcher::RequestRow& r, int64_t i, int64_t ts) {
  auto e = envelope::Envelope::response(envelope::Id::text(r.id), r.type, "edge_board", ts + 200,
                                        i % 50 == 0 ? 500 : 200);
  if (i % 50 == 0) {
    e.set("error", "simulated");
  } else if (r.type == "ping") {
    e.set("pong", true);
  } else {
    e.set("agent_version", "1.2.3");
    e.set("uptime_seconds", 5.0);
  }
  return envelope::encode(e);
}

/// Fills the table; returns the time it was filled at (the requests end then).
int64_t fill(const Args& a, dispatcher::pg::Connection& db, const Options& o) {
  dispatcher::Store store(o);
  if (auto r = store.prepare(db); !r) {
    die(r.error().describe());
  }
  const int64_t now = SystemClock::instance().wallMs();
  auto t0 = SteadyClock::now();
  envelope::Decoder decoder;
  Batch batch(o);
  std::vector<std::string> keep;
  keep.reserve(40000);
  for (int64_t i = 0; i < a.listRows; ++i) {
    const int64_t ts = now - 86400000 + i * 86400000 / a.listRows;
    char edge[32];
    std::snprintf(edge, sizeof edge, "b-%05lld", static_cast<long long>(i % 1000));
    const dispatcher::RequestRow r = requestRow(i, ts, edge);
    batch.addRequest(r);
    if (i % 10 != 9) {
      keep.push_back(answerTo(r, i, ts));
      RawMessage m;
      m.topic = std::string("edge.") + edge;
      m.offset = a.listRows + i;
      m.key = edge;
      m.payload = keep.back();
      m.kafkaTimestampMs = ts + 300;
      batch.add(m, decoder, now);
    }
    if (batch.messages() >= 40000 || i + 1 == a.listRows) {
      if (auto w = store.write(db, batch); !w) {
        die(w.error().describe());
      }
      batch.clear();
      keep.clear();
    }
  }
  const double seconds = secondsSince(t0);
  mustExec(db, "ANALYZE");
  std::printf(
      "filled %lld requests + %lld responses in %.1f s (%.0f rows/s through the write "
      "path)\n",
      static_cast<long long>(a.listRows), static_cast<long long>(a.listRows * 9 / 10), seconds,
      static_cast<double>(a.listRows * 19 / 10) / seconds);
  return now;
}

/// The median of `reps` runs of one listing.
void timeList(dispatcher::pg::Connection& db, const char* what, const dispatcher::RequestFilter& f,
              int reps) {
  std::vector<double> times;
  size_t rows = 0;
  for (int i = 0; i < reps; ++i) {
    auto t = SteadyClock::now();
    auto r = dispatcher::listRequests(db, f);
    if (!r) {
      die(r.error().describe());
    }
    times.push_back(secondsSince(t));
    rows = r->size();
  }
  double m = median(times);
  std::printf("  %-44s %8zu rows  %9.2f ms  %10.0f rows/s\n", what, rows, m * 1000,
              static_cast<double>(rows) / m);
}

}  // namespace

void listBench(const Args& a, testing::PgCluster& cluster) {
  const std::string conninfo = cluster.createDatabase("list");
  auto db = migratedDb(conninfo);
  Options o;
  (void)o.validate();
  std::printf("\n== requests list over %lld requests\n", static_cast<long long>(a.listRows));
  const int64_t now = fill(a, *db, o);
  dispatcher::RequestFilter latest;
  timeList(*db, "requests list (newest 50)", latest, 21);
  dispatcher::RequestFilter byEdge;
  byEdge.edge = "b-00042";
  timeList(*db, "requests list --edge b-00042", byEdge, 21);
  dispatcher::RequestFilter failed;
  failed.status = "failed";
  timeList(*db, "requests list --status failed", failed, 11);
  dispatcher::RequestFilter timeouts;
  timeouts.status = "timeout";
  timeList(*db, "requests list --status timeout", timeouts, 11);
  dispatcher::RequestFilter since;
  since.sinceMs = now - 3600000;
  since.limit = 100000;
  timeList(*db, "requests list --since 1h --limit 100000", since, 3);
  dispatcher::RequestFilter all;
  all.limit = static_cast<int>(a.listRows);
  timeList(*db, "requests list --limit <all>", all, 1);
}

}  // namespace edgelink::bench
