#include "decisions/system_info.h"

#include "core/version.h"
#include "envelope/bodies.h"

namespace edgelink::agent {
namespace {

double percent(uint64_t part, uint64_t whole) {
  if (whole == 0) {
    return 0.0;
  }
  double p = 100.0 * static_cast<double>(part) / static_cast<double>(whole);
  return p < 0.0 ? 0.0 : (p > 100.0 ? 100.0 : p);
}

}  // namespace

double cpuUsagePercent(const CpuSample& first, const CpuSample& second) {
  if (second.total <= first.total || second.busy < first.busy) {
    return 0.0;
  }
  return percent(second.busy - first.busy, second.total - first.total);
}

void writeSystemInfo(envelope::Envelope& r, std::optional<double> cpuPercent,
                     const SystemFacts& facts) {
  envelope::body::SystemInfo info;
  info.agentVersion = kVersion;
  info.hostname = facts.hostname;
  info.kernel = facts.kernel;
  info.uptimeSeconds = facts.uptimeSeconds < 0 ? 0.0 : facts.uptimeSeconds;
  info.cpuUsagePercent = cpuPercent;
  info.cpuCount = facts.cpuCount;
  info.loadAverage = facts.loadAverage;
  if (facts.memory) {
    const auto& total = facts.memory->totalBytes;
    const auto& available = facts.memory->availableBytes;
    envelope::body::Memory& mem = info.memory.emplace();
    mem.totalBytes = total;
    mem.availableBytes = available;
    if (total && available && *available <= *total) {
      mem.usedPercent = percent(*total - *available, *total);
    }
  }
  for (const auto& d : facts.disks) {
    info.disks.push_back(envelope::body::Disk{d.path, d.totalBytes, d.availableBytes,
                                              percent(d.totalBytes - d.freeBytes, d.totalBytes)});
  }
  info.agentRssBytes = static_cast<int64_t>(facts.rssBytes);
  envelope::body::write(info, r);
}

}  // namespace edgelink::agent
