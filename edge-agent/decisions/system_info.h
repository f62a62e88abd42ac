#pragma once

// What system_info answers, from what a SystemProbe (shell/system_probe.h) read of the system.
// CPU usage needs two samples of the CPU counters a short window apart: the core takes the
// first, schedules the second on a timer and answers then, so the main loop never sleeps. Pure:
// the reading is the probe's.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "envelope/envelope.h"

namespace edgelink::agent {

/// Cumulative CPU time of all CPUs, in clock ticks (/proc/stat's first line).
struct CpuSample {
  uint64_t busy = 0;
  uint64_t total = 0;
};
/// Busy share between two samples, 0-100.
double cpuUsagePercent(const CpuSample& first, const CpuSample& second);

/// The system as read at one moment, raw: what could not be read is absent.
struct SystemFacts {
  std::string hostname;
  std::string kernel;  ///< "Linux 5.10.160 armv7l"
  double uptimeSeconds = 0;
  std::optional<int64_t> cpuCount;
  std::optional<std::vector<double>> loadAverage;  ///< 1, 5, 15 minutes (as many as known)
  struct Memory {
    std::optional<uint64_t> totalBytes;
    std::optional<uint64_t> availableBytes;
  };
  std::optional<Memory> memory;  ///< absent when /proc/meminfo could not be read
  struct DiskSpace {
    std::string path;
    uint64_t totalBytes = 0;
    uint64_t availableBytes = 0;  ///< to unprivileged users
    uint64_t freeBytes = 0;
  };
  std::vector<DiskSpace> disks;  ///< the paths asked for that could be read
  uint64_t rssBytes = 0;         ///< this process's resident set
};

/// Fills a system_info response body (schemas/bodies/responses/system_info.json).
/// `cpuPercent` absent when the CPU counters could not be read.
void writeSystemInfo(envelope::Envelope& response, std::optional<double> cpuPercent,
                     const SystemFacts& facts);

}  // namespace edgelink::agent
