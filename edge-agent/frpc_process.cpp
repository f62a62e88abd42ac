#include "frpc_process.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "core/atomic_file.h"
#include "core/clock.h"
#include "core/strings.h"

namespace edgelink::agent {
namespace {

constexpr size_t kKeptLines = 40;

bool alive(int pid) {
  return ::kill(pid, 0) == 0 || errno == EPERM;
}

/// True while /proc/<pid> is the process that started at `ticks` and is not a zombie.
bool sameProcessRunning(int pid, uint64_t ticks) {
  auto now = processStartTicks(pid);
  if (!now || *now != ticks) {
    return false;
  }
  auto stat = readFile("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) {
    return false;
  }
  auto close = stat->rfind(')');
  return close != std::string::npos && close + 2 < stat->size() && (*stat)[close + 2] != 'Z';
}

}  // namespace

bool isAdminAccessLine(std::string_view line) {
  // frpc v0.70: "... [I] [http/middleware.go:35] http request: [/api/status]" and
  // "... [I] [http/middleware.go:38] http response [/api/status]: code [200]".
  return line.find("[http/middleware.go:") != std::string_view::npos &&
         (line.find("] http request: [") != std::string_view::npos ||
          line.find("] http response [") != std::string_view::npos);
}

Result<std::unique_ptr<FrpcProcess>> FrpcProcess::start(const std::string& frpcPath,
                                                        const std::string& configPath) {
  SpawnOptions opts;
  opts.argv = {frpcPath, "-c", configPath};
  opts.pipeStdout = true;
  // stderr joins stdout in the same pipe (opened in the child after stdout is the pipe).
  opts.stderrPath = "/proc/self/fd/1";
  opts.newProcessGroup = true;
  opts.dieWithParent = true;
  auto proc = Subprocess::spawn(opts);
  if (!proc) {
    return proc.error();
  }
  std::unique_ptr<FrpcProcess> p(new FrpcProcess());
  p->proc_ = std::move(*proc);
  if (int fd = p->proc_.stdoutFd(); fd >= 0) {
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  }
  p->startTicks_ = processStartTicks(p->proc_.pid()).value_or(0);
  return p;
}

void FrpcProcess::readOutput(const std::function<void(const std::string&)>& onLine) {
  int fd = proc_.stdoutFd();
  if (fd < 0) {
    return;
  }
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n == 0) {
      outputEof_ = true;
      break;
    }
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      break;
    }
    partial_.append(buf, static_cast<size_t>(n));
    size_t pos;
    while ((pos = partial_.find('\n')) != std::string::npos) {
      std::string line = partial_.substr(0, pos);
      partial_.erase(0, pos + 1);
      if (!line.empty() && line.back() == '\r') {
        line.pop_back();
      }
      if (line.size() > 2000) {
        line.resize(2000);
      }
      if (!trim(line).empty() && !isAdminAccessLine(line)) {
        lines_.push_back(line);
        if (lines_.size() > kKeptLines) {
          lines_.pop_front();
        }
      }
      if (onLine) {
        onLine(line);
      }
    }
    if (partial_.size() > 64 * 1024) {
      partial_.clear();  // a line without end: do not grow without bound
    }
  }
}

std::string FrpcProcess::lastLines(size_t n) const {
  std::vector<std::string> out;
  size_t from = lines_.size() > n ? lines_.size() - n : 0;
  for (size_t i = from; i < lines_.size(); ++i) {
    out.push_back(lines_[i]);
  }
  if (!trim(partial_).empty() && out.size() < n + 1) {
    out.push_back(partial_);
  }
  return join(out, "\n");
}

int FrpcProcess::stop(int graceMs) {
  if (auto status = proc_.tryWait()) {
    return *status;
  }
  ::kill(-proc_.pid(), SIGTERM);
  ::kill(proc_.pid(), SIGTERM);
  if (auto status = proc_.waitFor(graceMs)) {
    return *status;
  }
  ::kill(-proc_.pid(), SIGKILL);
  ::kill(proc_.pid(), SIGKILL);
  return proc_.waitFor(-1).value_or(0);
}

std::optional<uint64_t> processStartTicks(int pid) {
  if (pid <= 0) {
    return std::nullopt;
  }
  auto stat = readFile("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) {
    return std::nullopt;
  }
  // "pid (comm) state ppid ..." : comm may hold spaces and ')', so parse after the last ')'.
  auto close = stat->rfind(')');
  if (close == std::string::npos) {
    return std::nullopt;
  }
  auto fields = split(std::string_view(*stat).substr(close + 2), ' ');
  // fields[0] is field 3 (state); field 22 is fields[19].
  if (fields.size() < 20) {
    return std::nullopt;
  }
  return parseUint64(fields[19]);
}

std::string endLeftover(const FrpcRecord& record, int graceMs) {
  if (!sameProcessRunning(record.pid, record.startTicks)) {
    return "no leftover frpc (pid " + std::to_string(record.pid) + " is gone)";
  }
  ::kill(record.pid, SIGTERM);
  const auto& clock = SystemClock::instance();
  int64_t deadline = clock.monoMs() + graceMs;
  while (clock.monoMs() < deadline && sameProcessRunning(record.pid, record.startTicks)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (!sameProcessRunning(record.pid, record.startTicks)) {
    return "ended leftover frpc pid " + std::to_string(record.pid) + " (SIGTERM)";
  }
  ::kill(record.pid, SIGKILL);
  deadline = clock.monoMs() + 2000;
  while (clock.monoMs() < deadline && sameProcessRunning(record.pid, record.startTicks) &&
         alive(record.pid)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return "killed leftover frpc pid " + std::to_string(record.pid) + " (SIGKILL after " +
         std::to_string(graceMs) + " ms)";
}

std::vector<std::string> endStrayFrpc(const std::string& configPath, int graceMs) {
  std::vector<std::string> out;
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) {
    return out;
  }
  std::vector<int> pids;
  while (dirent* e = ::readdir(proc)) {
    auto pid = parseInt64(e->d_name);
    if (!pid || *pid <= 0 || *pid == ::getpid()) {
      continue;
    }
    auto cmdline = readFile("/proc/" + std::string(e->d_name) + "/cmdline");
    if (!cmdline) {
      continue;
    }
    // NUL-separated arguments, each ending in NUL: "...\0-c\0<configPath>\0".
    const std::string tail = std::string("-c") + '\0' + configPath + '\0';
    if (cmdline->size() > tail.size() &&
        cmdline->compare(cmdline->size() - tail.size(), tail.size(), tail) == 0 &&
        (*cmdline)[cmdline->size() - tail.size() - 1] == '\0') {
      pids.push_back(static_cast<int>(*pid));
    }
  }
  ::closedir(proc);
  for (int pid : pids) {
    if (auto ticks = processStartTicks(pid)) {
      out.push_back(endLeftover(FrpcRecord{pid, *ticks}, graceMs) + " running on " + configPath);
    }
  }
  return out;
}

VoidResult verifyConfig(const std::string& frpcPath, const std::string& configPath, int timeoutMs) {
  SpawnOptions opts;
  opts.argv = {frpcPath, "verify", "-c", configPath};
  opts.pipeStdout = true;
  opts.stderrPath = "/proc/self/fd/1";
  auto proc = Subprocess::spawn(opts);
  if (!proc) {
    return proc.error();
  }
  std::string output;
  const auto& clock = SystemClock::instance();
  int64_t deadline = clock.monoMs() + timeoutMs;
  std::optional<int> status;
  while (!(status = proc->tryWait())) {
    if (clock.monoMs() >= deadline) {
      proc->terminate(1000);
      return Error(Status::kTimeout,
                   "frpc verify did not finish within " + std::to_string(timeoutMs) + " ms");
    }
    output += readAvailable(proc->stdoutFd(), 20);
  }
  output += readAvailable(proc->stdoutFd(), 0);
  if (*status != 0) {
    return Error(Status::kInternal, "frpc verify refused the generated config (" +
                                        describeWaitStatus(*status) +
                                        "): " + std::string(trim(output)));
  }
  return {};
}

}  // namespace edgelink::agent
