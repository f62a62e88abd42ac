// bench_web: what the web console's API costs over the SQL it runs. 10,000 edges (a tenth
// labelled, half online) in a throwaway PostgreSQL; each query of the edges page (first page by
// id, a search, online sorted by last seen deep in the list, a label) is run N times straight
// through libpq (the baseline: edgesJson on one connection) and N times as GET /api/v1/edges
// over HTTP to a running WebServer (login check, routing, pool, civetweb, the socket). Prints
// milliseconds per call (median, p95) and the ratio HTTP / SQL per query.
//
//   bench_web [--quick] [--edges N] [--calls N]

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "bench_util.h"
#include "core/logging.h"
#include "harness/http_probe.h"
#include "harness/pg_cluster.h"
#include "web/accounts.h"
#include "web/api_read.h"
#include "web/server.h"

using namespace edgelink;
using namespace edgelink::bench;
using namespace edgelink::dispatcher;

namespace {

struct Stat {
  double median = 0;
  double p95 = 0;
};

Stat stat(std::vector<double> ms) {
  std::sort(ms.begin(), ms.end());
  return {ms[ms.size() / 2], ms[std::min(ms.size() - 1, ms.size() * 95 / 100)]};
}

}  // namespace

int main(int argc, char** argv) {
  return guardedMain([&] {
    int edges = 10000;
    int calls = 300;
    for (int i = 1; i < argc; ++i) {
      if (std::strcmp(argv[i], "--quick") == 0) {
        calls = 100;
      } else if (std::strcmp(argv[i], "--edges") == 0 && i + 1 < argc) {
        edges = std::atoi(argv[++i]);
      } else if (std::strcmp(argv[i], "--calls") == 0 && i + 1 < argc) {
        calls = std::atoi(argv[++i]);
      } else {
        die(std::string("bench_web: unknown argument ") + argv[i] +
            " (expected --quick, --edges N, --calls N)");
      }
    }
    (void)log::init("warn");
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    auto cluster = testing::PgCluster::start();
    const std::string conninfo = cluster->createDatabase("web");
    auto db = migratedDb(conninfo);
    mustExec(*db,
             "INSERT INTO edges (edge_id, first_seen_at, last_heartbeat_at, agent_version,"
             " hostname) SELECT 'elevator-' || lpad(i::text, 5, '0'), now() - interval"
             " '1 day', now() - (i % 2) * interval '1 hour' - i * interval '1 ms', '1.' ||"
             " (i % 7), 'board-' || i FROM generate_series(1, " +
                 std::to_string(edges) + ") i");
    mustExec(*db,
             "INSERT INTO edge_labels (edge_id, label) SELECT edge_id, 'site:sh' FROM edges"
             " WHERE right(edge_id, 1) = '7'");
    mustExec(*db, "ANALYZE");
    web::Accounts accounts(*db);
    if (auto r = accounts.addUser("bench", web::Role::kViewer, "bench-password-1"); !r) {
      die(r.error().describe());
    }
    auto user = accounts.findUser("bench");
    auto login = accounts.createSession(**user, 3600, "127.0.0.1");
    if (!login) {
      die(login.error().describe());
    }
    Options o;
    o.pgConninfo = conninfo;
    o.httpListen = "127.0.0.1:0";
    o.httpThreads = 16;
    if (auto p = o.validate(); !p.empty()) {
      die(p.toError().message);
    }
    auto server = web::WebServer::start(o);
    if (!server) {
      die(server.error().describe());
    }
    const int port = (*server)->port();
    const std::string cookie = "Cookie: edgelink_session=" + login->token;

    struct Query {
      const char* name;
      std::string path;
      web::EdgeQuery q;
    };
    std::vector<Query> queries(4);
    queries[0] = {"first page by id", "/api/v1/edges?limit=50", {}};
    queries[1] = {"search 'elevator-07'", "/api/v1/edges?q=elevator-07&limit=50", {}};
    queries[1].q.q = "elevator-07";
    queries[2] = {"online by last seen, offset 4000",
                  "/api/v1/edges?online=true&sort=last_seen&order=desc&limit=50&offset=4000",
                  {}};
    queries[2].q.online = true;
    queries[2].q.sort = "last_seen";
    queries[2].q.descending = true;
    queries[2].q.offset = 4000;
    queries[3] = {"label site:sh", "/api/v1/edges?label=site:sh&limit=50", {}};
    queries[3].q.label = "site:sh";

    std::printf(
        "== bench_web: GET /api/v1/edges over HTTP vs its SQL through libpq, %d edges, "
        "%d calls each\n",
        edges, calls);
    std::printf("%-36s %10s %10s %10s %10s %7s\n", "query", "sql ms", "sql p95", "http ms",
                "http p95", "ratio");
    for (const auto& q : queries) {
      // Both paths must give the same document (the HTTP one is the SQL's answer).
      auto direct = web::edgesJson(*db, o, q.q);
      auto viaHttp = testing::httpRequest(port, "GET", q.path, {cookie});
      if (!direct || viaHttp.status != 200 || viaHttp.body != *direct) {
        die(std::string("bench_web: ") + q.name + ": HTTP " + std::to_string(viaHttp.status) +
            " does not match the SQL's answer");
      }
      std::vector<double> sql, http;
      for (int i = 0; i < calls; ++i) {
        auto t0 = SteadyClock::now();
        auto r = web::edgesJson(*db, o, q.q);
        sql.push_back(secondsSince(t0) * 1000);
        if (!r) {
          die(r.error().describe());
        }
        t0 = SteadyClock::now();
        auto h = testing::httpRequest(port, "GET", q.path, {cookie});
        http.push_back(secondsSince(t0) * 1000);
        if (h.status != 200) {
          die("HTTP " + std::to_string(h.status));
        }
      }
      const Stat s = stat(sql), h = stat(http);
      std::printf("%-36s %10.2f %10.2f %10.2f %10.2f %6.2fx\n", q.name, s.median, s.p95, h.median,
                  h.p95, h.median / s.median);
    }
    std::printf(
        "ratio = HTTP median / SQL median: the API's own cost (session lookup, routing,\n"
        "the pooled connection, civetweb, a new TCP connection per call) over the query\n");
    return 0;
  });
}
