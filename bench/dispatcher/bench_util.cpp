#include "bench_util.h"

#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>

#include "migrations.h"

namespace edgelink::bench {

void die(const std::string& message) {
  std::fprintf(stderr, "bench: %s\n", message.c_str());
  std::exit(1);
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

double selfCpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

}  // namespace edgelink::bench
