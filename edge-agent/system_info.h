#pragma once

// What system_info answers, read from /proc and statvfs. CPU usage needs two samples of
// /proc/stat a short window apart: the agent takes the first, schedules the second on a timer
// and answers then, so the main loop never sleeps.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "envelope/envelope.h"

namespace edgelink::agent {

/// Cumulative CPU time of all CPUs from /proc/stat's first line, in clock ticks.
struct CpuSample {
  uint64_t busy = 0;
  uint64_t total = 0;
};
std::optional<CpuSample> readCpuSample();
/// Busy share between two samples, 0-100.
double cpuUsagePercent(const CpuSample& first, const CpuSample& second);

/// RSS of this process in bytes (/proc/self/statm).
uint64_t selfRssBytes();

/// Fills a system_info response body (schemas/bodies/responses/system_info.json).
/// `cpuPercent` absent when /proc/stat could not be read.
void writeSystemInfo(envelope::Envelope& response, std::optional<double> cpuPercent,
                     const std::vector<std::string>& diskPaths);

}  // namespace edgelink::agent
