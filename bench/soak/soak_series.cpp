#include "soak_series.h"

#include <dirent.h>

#include <cstdio>
#include <fstream>
#include <sstream>

namespace edgelink::bench::soak {
namespace {

int countFds(int pid) {
  DIR* d = ::opendir(("/proc/" + std::to_string(pid) + "/fd").c_str());
  if (d == nullptr) {
    return -1;
  }
  int n = 0;
  while (const dirent* e = ::readdir(d)) {
    if (e->d_name[0] != '.') {
      ++n;
    }
  }
  ::closedir(d);
  return n;
}

/// "VmRSS:     1234 kB" -> 1234
double kbField(const std::string& line) {
  std::istringstream in(line.substr(line.find(':') + 1));
  double kb = 0;
  in >> kb;
  return kb;
}

}  // namespace

ProcSample readProc(int pid, double atSeconds) {
  ProcSample s;
  s.atSeconds = atSeconds;
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      s.rssMb = kbField(line) / 1024.0;
    } else if (line.rfind("VmHWM:", 0) == 0) {
      s.peakRssMb = kbField(line) / 1024.0;
    } else if (line.rfind("Threads:", 0) == 0) {
      s.threads = static_cast<int>(kbField(line));
    }
  }
  s.fds = countFds(pid);
  return s;
}

double slope(const std::vector<double>& x, const std::vector<double>& y) {
  const size_t n = std::min(x.size(), y.size());
  if (n < 2) {
    return 0;
  }
  double mx = 0, my = 0;
  for (size_t i = 0; i < n; ++i) {
    mx += x[i];
    my += y[i];
  }
  mx /= static_cast<double>(n);
  my /= static_cast<double>(n);
  double sxy = 0, sxx = 0;
  for (size_t i = 0; i < n; ++i) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) * (x[i] - mx);
  }
  return sxx > 0 ? sxy / sxx : 0;
}

std::string describeRule(const Rule& r) {
  char buf[400];
  std::snprintf(buf, sizeof buf,
                "FAIL when, after warm-up, a process's open descriptors grow by more than %d or "
                "its threads by more than %d (last sample minus the first), or its RSS grows "
                "faster than %.0f MB/h (least-squares slope) AND ends more than %.0f MB above "
                "the first sample",
                r.maxFdGrowth, r.maxThreadGrowth, r.maxRssSlopeMbH, r.maxRssGrowthMb);
  return buf;
}

Verdict judge(const std::vector<ProcSample>& samples, const Rule& rule) {
  Verdict v;
  if (samples.size() < 2) {
    v.failures.push_back("fewer than two samples after warm-up");
    return v;
  }
  std::vector<double> hours, rss, fds, threads;
  for (const auto& s : samples) {
    hours.push_back(s.atSeconds / 3600.0);
    rss.push_back(s.rssMb);
    fds.push_back(s.fds);
    threads.push_back(s.threads);
  }
  v.rssSlopeMbH = slope(hours, rss);
  v.fdSlopeH = slope(hours, fds);
  v.threadSlopeH = slope(hours, threads);
  const ProcSample& first = samples.front();
  const ProcSample& last = samples.back();
  v.rssGrowthMb = last.rssMb - first.rssMb;
  v.fdGrowth = last.fds - first.fds;
  v.threadGrowth = last.threads - first.threads;
  if (first.fds < 0 || last.fds < 0) {
    v.failures.push_back("the process went away");
    return v;
  }
  if (v.fdGrowth > rule.maxFdGrowth) {
    v.failures.push_back("open descriptors grew by " + std::to_string(v.fdGrowth));
  }
  if (v.threadGrowth > rule.maxThreadGrowth) {
    v.failures.push_back("threads grew by " + std::to_string(v.threadGrowth));
  }
  if (v.rssSlopeMbH > rule.maxRssSlopeMbH && v.rssGrowthMb > rule.maxRssGrowthMb) {
    char buf[120];
    std::snprintf(buf, sizeof buf, "RSS grows %.1f MB/h and ended %.1f MB above warm-up",
                  v.rssSlopeMbH, v.rssGrowthMb);
    v.failures.push_back(buf);
  }
  return v;
}

std::string describe(const std::string& name, const std::vector<ProcSample>& samples,
                     const Verdict& v) {
  if (samples.empty()) {
    return name + ": no samples";
  }
  const ProcSample& a = samples.front();
  const ProcSample& b = samples.back();
  char buf[400];
  std::snprintf(buf, sizeof buf,
                "%-10s RSS %6.1f -> %6.1f MB (slope %+6.2f MB/h, peak %.1f)  fds %3d -> %3d "
                "(%+6.1f/h)  threads %3d -> %3d (%+5.1f/h)  %s",
                (name + ":").c_str(), a.rssMb, b.rssMb, v.rssSlopeMbH, b.peakRssMb, a.fds, b.fds,
                v.fdSlopeH, a.threads, b.threads, v.threadSlopeH,
                v.failures.empty() ? "ok" : "FAIL");
  std::string out = buf;
  for (const auto& f : v.failures) {
    out += "\n             " + f;
  }
  return out;
}

}  // namespace edgelink::bench::soak
