#include "bench_util.h"

#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>
#include <stdexcept>

#include "db/migrations.h"

namespace edgelink::bench {

void die(const std::string& message) {
  throw std::runtime_error(message);
}

int guardedMain(const std::function<int()>& body) {
  try {
    return body();
  } catch (const std::exception& e) {
    // Unwound: the benchmark's PostgreSQL cluster and dev broker are stopped on the way out.
    std::fprintf(stderr, "bench: %s\n", e.what());
    return 1;
  }
}

std::unique_ptr<dispatcher::pg::Connection> migratedDb(const std::string& conninfo) {
  auto db = dispatcher::pg::Connection::open(conninfo, "bench");
  if (!db) {
    die(db.error().describe());
  }
  if (auto m = dispatcher::migrate(**db); !m) {
    die(m.error().describe());
  }
  return std::move(*db);
}

dispatcher::pg::Rows mustExec(dispatcher::pg::Connection& db, const std::string& sql) {
  auto r = db.exec(sql);
  if (!r) {
    die(sql + ": " + r.error().describe());
  }
  return std::move(*r);
}

std::unique_ptr<kafka::Producer> bulkProducer(const std::string& bootstrap) {
  kafka::Config pc;
  pc.set("bootstrap.servers", bootstrap);
  pc.set("linger.ms", "20");
  pc.set("batch.num.messages", "10000");
  pc.set("queue.buffering.max.messages", "1000000");
  pc.set("message.timeout.ms", "600000");
  pc.set("request.timeout.ms", "120000");
  pc.set("log_level", "3");
  auto p = kafka::Producer::create(pc);
  if (!p) {
    die(p.error().describe());
  }
  return std::move(*p);
}

double selfCpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

}  // namespace edgelink::bench
