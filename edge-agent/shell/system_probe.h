#pragma once

// The system as the agent sees it for system_info and its heartbeat, behind a seam: the CPU
// counters, the rest of the facts (decisions/system_info.h) and its own RSS. ProcSystemProbe reads
// /proc, statvfs, uname and sysconf; unit tests give the ActionRunner fixed numbers instead.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "decisions/system_info.h"

namespace edgelink::agent {

class SystemProbe {
 public:
  virtual ~SystemProbe() = default;
  /// The CPU counters now; nullopt when they cannot be read.
  virtual std::optional<CpuSample> cpuSample() = 0;
  /// Everything else, with the space of `diskPaths` (unreadable ones left out).
  virtual SystemFacts facts(const std::vector<std::string>& diskPaths) = 0;
  /// This process's resident set in bytes (for the heartbeat); nullopt when unreadable.
  virtual std::optional<uint64_t> rssBytes() = 0;
};

class ProcSystemProbe final : public SystemProbe {
 public:
  std::optional<CpuSample> cpuSample() override;
  SystemFacts facts(const std::vector<std::string>& diskPaths) override;
  std::optional<uint64_t> rssBytes() override;
};

/// /proc/stat's first line.
std::optional<CpuSample> readCpuSample();
/// RSS of this process in bytes (/proc/self/statm), 0 when unreadable.
uint64_t selfRssBytes();

}  // namespace edgelink::agent
