#pragma once

// frpc as a child process: its own process group, killed by the kernel if the agent dies
// (PR_SET_PDEATHSIG), stdout and stderr read through a non-blocking pipe whose last lines are
// kept for error reports. Also: finding and ending a leftover frpc of an earlier agent run.

#include <sys/types.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "core/subprocess.h"
#include "frpc_record.h"

namespace edgelink::agent {

class FrpcProcess {
 public:
  /// Starts `frpcPath -c configPath`.
  static Result<std::unique_ptr<FrpcProcess>> start(const std::string& frpcPath,
                                                    const std::string& configPath);

  int pid() const { return proc_.pid(); }
  uint64_t startTicks() const { return startTicks_; }
  FrpcRecord record() const { return {proc_.pid(), startTicks_}; }
  /// The output pipe (for the main loop's poll), -1 once it reached end of file.
  int outputFd() const { return outputEof_ ? -1 : proc_.stdoutFd(); }
  /// Reads whatever output is available without blocking; calls `onLine` per complete line.
  void readOutput(const std::function<void(const std::string&)>& onLine);
  /// The last `n` non-empty output lines, joined with '\n' (without frpc's access log of its
  /// admin API: the agent's own status polls would crowd out what frpc said).
  std::string lastLines(size_t n) const;
  /// The wait status once it has exited (reaps it), else nullopt.
  std::optional<int> tryWait() { return proc_.tryWait(); }
  /// SIGTERM to its process group, SIGKILL after `graceMs`; returns the wait status.
  int stop(int graceMs);

 private:
  FrpcProcess() = default;

  Subprocess proc_;
  uint64_t startTicks_ = 0;
  bool outputEof_ = false;
  std::string partial_;
  std::deque<std::string> lines_;
};

/// True for frpc's log line of one admin API request or answer (real frpc logs each at info
/// level; the agent polls /api/status every 50 ms while a start is pending).
bool isAdminAccessLine(std::string_view line);

/// Field 22 of /proc/<pid>/stat (start time in clock ticks since boot), nullopt when gone.
std::optional<uint64_t> processStartTicks(int pid);

/// Ends the frpc of an earlier agent run if it still runs: only when /proc/<pid> is the same
/// process (same start time), so a recycled pid is never signalled. SIGTERM, then SIGKILL after
/// `graceMs`. Returns what was done, for the log.
std::string endLeftover(const FrpcRecord& record, int graceMs);

/// Ends every process whose command line ends in `-c configPath` (an frpc this agent started on
/// its own config, whatever the state file says: it may have been lost or set aside), as
/// endLeftover does. Returns a line per process ended, for the log.
std::vector<std::string> endStrayFrpc(const std::string& configPath, int graceMs);

/// Runs `frpcPath verify -c configPath`; error 500 carrying frpc's output when it refuses.
VoidResult verifyConfig(const std::string& frpcPath, const std::string& configPath, int timeoutMs);

}  // namespace edgelink::agent
