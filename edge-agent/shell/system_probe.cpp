#include "shell/system_probe.h"

#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstdlib>
#include <sstream>

#include "core/atomic_file.h"

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

std::optional<uint64_t> ProcSystemProbe::rssBytes() {
  const uint64_t rss = selfRssBytes();
  return rss > 0 ? std::optional<uint64_t>(rss) : std::nullopt;
}

std::optional<CpuSample> ProcSystemProbe::cpuSample() {
  return readCpuSample();
}

SystemFacts ProcSystemProbe::facts(const std::vector<std::string>& diskPaths) {
  SystemFacts f;
  char host[256] = {0};
  if (::gethostname(host, sizeof host - 1) == 0) {
    f.hostname = host;
  }
  utsname uts{};
  if (::uname(&uts) == 0) {
    f.kernel = std::string(uts.sysname) + " " + uts.release + " " + uts.machine;
  }
  if (auto text = readFile("/proc/uptime")) {
    f.uptimeSeconds = std::strtod(text->c_str(), nullptr);
  }
  long cpus = ::sysconf(_SC_NPROCESSORS_ONLN);
  if (cpus >= 1) {
    f.cpuCount = static_cast<int64_t>(cpus);
  }
  double load[3];
  int n = ::getloadavg(load, 3);
  if (n > 0) {
    f.loadAverage.emplace(load, load + n);
  }
  if (auto text = readFile("/proc/meminfo")) {
    f.memory =
        SystemFacts::Memory{meminfoBytes(*text, "MemTotal"), meminfoBytes(*text, "MemAvailable")};
  }
  for (const auto& path : diskPaths) {
    struct statvfs st {};
    if (::statvfs(path.c_str(), &st) != 0) {
      continue;
    }
    f.disks.push_back({path, static_cast<uint64_t>(st.f_blocks) * st.f_frsize,
                       static_cast<uint64_t>(st.f_bavail) * st.f_frsize,
                       static_cast<uint64_t>(st.f_bfree) * st.f_frsize});
  }
  f.rssBytes = selfRssBytes();
  return f;
}

}  // namespace edgelink::agent
