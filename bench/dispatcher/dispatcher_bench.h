#pragma once

// What bench_dispatcher's parts share.

#include <cstdint>
#include <string>
#include <vector>

#include "harness/pg_cluster.h"
#include "options.h"

namespace edgelink::bench {

struct Args {
  bool quick = false;
  int edges = 1000;
  int perEdge = 100;
  int64_t listRows = 1000000;
  int batchSize = 5000;
  bool metrics = false;  ///< --metrics: only the ingest with metrics off and on
};

/// The benchmark's messages: per edge, ping requests and their answers.
struct Corpus {
  std::vector<std::string> edges;  // edge ids
  std::vector<std::string> requests;
  std::vector<std::string> responses;
  std::vector<int> edgeOf;  // index into edges, per message
};

/// Stores messages the way the ingest does minus Kafka (offsets from offsetBase); seconds taken.
double storeAll(const dispatcher::Options& o, const Corpus& c,
                const std::vector<std::string>& messages, int64_t offsetBase);
/// Commits offset 0 for every edge partition for o's consumer group.
void precommit(const dispatcher::Options& o, const Corpus& c);

/// --metrics: the dispatcher's loop from the dev broker (the corpus' responses produced there
/// already) into PostgreSQL, with metrics off and on alternately in the same run; prints each
/// run and the ratio of the rates.
void metricsOverhead(const Args& a, const dispatcher::Options& o, testing::PgCluster& cluster,
                     const Corpus& c);

/// `requests list` over --list-rows requests, filled through the dispatcher's write path.
void listBench(const Args& a, testing::PgCluster& cluster);

}  // namespace edgelink::bench
