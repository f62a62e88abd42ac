#pragma once

// bench_soak's measurements: a process's resources read from /proc, the series of them over a
// run, the least-squares slope per hour and the verdict on growth (the fail rule, stated in
// describeRule() and docs/RELIABILITY.md).

#include <cstdint>
#include <string>
#include <vector>

namespace edgelink::bench::soak {

/// One reading of a process: resident set (current and peak), open descriptors, threads.
struct ProcSample {
  double atSeconds = 0;  ///< since the run began
  double rssMb = 0;
  double peakRssMb = 0;  ///< VmHWM
  int fds = 0;
  int threads = 0;
};

/// Reads /proc/PID/status (VmRSS, VmHWM, Threads) and counts /proc/PID/fd; fds -1 and rssMb 0
/// when the process is gone.
ProcSample readProc(int pid, double atSeconds);

/// The least-squares slope of y over x (per unit of x); 0 with fewer than two points.
double slope(const std::vector<double>& x, const std::vector<double>& y);

/// The fail rule's thresholds.
struct Rule {
  int maxFdGrowth = 4;         ///< descriptors: last sample minus the first after warm-up
  int maxThreadGrowth = 2;     ///< threads: the same
  double maxRssSlopeMbH = 10;  ///< RSS fails only when its slope is above this AND
  double maxRssGrowthMb = 5;   ///< the last sample is this much above the first after warm-up
};

std::string describeRule(const Rule& r);

/// One process's samples after warm-up and what they say.
struct Verdict {
  double rssSlopeMbH = 0, fdSlopeH = 0, threadSlopeH = 0;
  double rssGrowthMb = 0;
  int fdGrowth = 0, threadGrowth = 0;
  std::vector<std::string> failures;  ///< empty: passed
};

/// Judges `samples` (taken after warm-up, in order; at least two).
Verdict judge(const std::vector<ProcSample>& samples, const Rule& rule);

/// "agent: RSS 12.3 -> 12.4 MB (slope +0.2 MB/h), fds 14 -> 14 (+0.0/h), threads 9 -> 9 (+0.0/h)"
std::string describe(const std::string& name, const std::vector<ProcSample>& samples,
                     const Verdict& v);

}  // namespace edgelink::bench::soak
