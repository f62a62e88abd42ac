#pragma once

// What bench_dispatcher's parts share.

#include <cstdint>

#include "harness/pg_cluster.h"

namespace edgelink::bench {

struct Args {
  bool quick = false;
  int edges = 1000;
  int perEdge = 100;
  int64_t listRows = 1000000;
  int batchSize = 5000;
};

/// `requests list` over --list-rows requests, filled through the dispatcher's write path.
void listBench(const Args& a, testing::PgCluster& cluster);

}  // namespace edgelink::bench
