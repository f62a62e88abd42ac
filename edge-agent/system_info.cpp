#include "system_info.h"

#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstdlib>
#include <sstream>

#include "core/atomic_file.h"
#include "core/strings.h"
#include "core/version.h"
#include "envelope/bodies.h"

namespace edgelink::agent {
namespace {

/// "MemTotal:  1000 kB" -> bytes, from /proc/meminfo's text.
std::optional<uint64_t> meminfoBytes(const std::string& text, const std::string& key) {
  auto pos = text.find(key + ":");
  if (pos == std::string::npos) {
    return std::nullopt;
  }
  return std::strtoull(text.c_str() + pos + key.size() + 1, nullptr, 10) * 1024;
}

double percent(uint64_t part, uint64_t whole) {
  if (whole == 0) {
    return 0.0;
  }
  double p = 100.0 * static_cast<double>(part) / static_cast<double>(whole);
  return p < 0.0 ? 0.0 : (p > 100.0 ? 100.0 : p);
}

}  // namespace

std::optional<CpuSample> readCpuSample() {
  auto text = readFile("/proc/stat");
  if (!text || text->compare(0, 4, "cpu ") != 0) {
    return std::nullopt;
  }
  std::istringstream in(text->substr(4, text->find('\n') - 4));
  std::vector<uint64_t> v;
  for (uint64_t x; in >> x;) {
    v.push_back(x);
  }
  if (v.size() < 4) {
    return std::nullopt;
  }
  CpuSample s;
  // user nice system idle iowait irq softirq steal (guest time is already in user/nice).
  for (size_t i = 0; i < v.size() && i < 8; ++i) {
    s.total += v[i];
  }
  uint64_t idle = v[3] + (v.size() > 4 ? v[4] : 0);
  s.busy = s.total - idle;
  return s;
}

double cpuUsagePercent(const CpuSample& first, const CpuSample& second) {
  if (second.total <= first.total || second.busy < first.busy) {
    return 0.0;
  }
  return percent(second.busy - first.busy, second.total - first.total);
}

uint64_t selfRssBytes() {
  auto text = readFile("/proc/self/statm");
  if (!text) {
    return 0;
  }
  std::istringstream in(*text);
  uint64_t size = 0, resident = 0;
  in >> size >> resident;
  return resident * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
}

void writeSystemInfo(envelope::Envelope& r, std::optional<double> cpuPercent,
                     const std::vector<std::string>& diskPaths) {
  envelope::body::SystemInfo info;
  info.agentVersion = kVersion;
  char host[256] = {0};
  if (::gethostname(host, sizeof host - 1) == 0) {
    info.hostname = host;
  }
  utsname uts{};
  if (::uname(&uts) == 0) {
    info.kernel = std::string(uts.sysname) + " " + uts.release + " " + uts.machine;
  }
  double uptime = 0;
  if (auto text = readFile("/proc/uptime")) {
    uptime = std::strtod(text->c_str(), nullptr);
  }
  info.uptimeSeconds = uptime < 0 ? 0.0 : uptime;
  info.cpuUsagePercent = cpuPercent;
  long cpus = ::sysconf(_SC_NPROCESSORS_ONLN);
  if (cpus >= 1) {
    info.cpuCount = static_cast<int64_t>(cpus);
  }
  double load[3];
  int n = ::getloadavg(load, 3);
  if (n > 0) {
    info.loadAverage.emplace(load, load + n);
  }
  if (auto text = readFile("/proc/meminfo")) {
    auto total = meminfoBytes(*text, "MemTotal");
    auto available = meminfoBytes(*text, "MemAvailable");
    envelope::body::Memory& mem = info.memory.emplace();
    mem.totalBytes = total;
    mem.availableBytes = available;
    if (total && available && *available <= *total) {
      mem.usedPercent = percent(*total - *available, *total);
    }
  }
  for (const auto& path : diskPaths) {
    struct statvfs st {};
    if (::statvfs(path.c_str(), &st) != 0) {
      continue;
    }
    uint64_t total = static_cast<uint64_t>(st.f_blocks) * st.f_frsize;
    uint64_t avail = static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
    uint64_t free = static_cast<uint64_t>(st.f_bfree) * st.f_frsize;
    info.disks.push_back(envelope::body::Disk{path, total, avail, percent(total - free, total)});
  }
  info.agentRssBytes = static_cast<int64_t>(selfRssBytes());
  envelope::body::write(info, r);
}

}  // namespace edgelink::agent
