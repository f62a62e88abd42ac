#pragma once

// bench_soak's two modes: the soak (a real agent and a real dispatcher under a steady load, their
// resources sampled, a verdict on growth) and --backlog (a dispatcher draining a backlog, its
// peak RSS and drain rate against a small backlog's in the same run).

#include <cstdint>
#include <string>
#include <vector>

namespace edgelink::bench::soak {

struct Args {
  int runSeconds = 30 * 60;
  int warmupSeconds = 5 * 60;
  int sampleSeconds = 60;
  int sessionSeconds = 5;     ///< a session opened and closed every this many seconds
  int requestsPerSecond = 4;  ///< pings and system_info (1 in 4) while a session is open
  int64_t backlog = 0;        ///< > 0: the backlog mode with this many messages
  int backlogEdges = 50;
  std::vector<std::string> kafkaProperties;  ///< --backlog: the dispatcher's kafka-property
};

/// The soak; returns false when the fail rule fires (it prints why).
bool runSoak(const Args& a);
/// The backlog mode (prints its figures; dies when the backlog does not drain).
void runBacklog(const Args& a);

}  // namespace edgelink::bench::soak
