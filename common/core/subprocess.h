#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "core/result.h"

namespace edgelink {

/// How to start a child process.
struct SpawnOptions {
  std::vector<std::string> argv;  ///< argv[0] is the program (a path, or looked up in PATH).
  std::vector<std::string>
      extraEnv;  ///< "KEY=VALUE" entries added to (or replacing) the environment.
  std::string stdinPath = "/dev/null";  ///< Where stdin comes from.
  std::string stdoutPath;               ///< Append stdout to this file; empty inherits ours.
  std::string stderrPath;               ///< Append stderr to this file; empty inherits ours.
  bool pipeStdout = false;      ///< Capture stdout through a pipe (see Subprocess::stdoutFd()).
  bool newProcessGroup = true;  ///< setpgid(0,0): signals to our group do not reach it.
  bool dieWithParent = true;    ///< PR_SET_PDEATHSIG=SIGKILL: no orphan if we are killed.
};

/// "exited with status 1", "killed by signal 9 (Killed)".
std::string describeWaitStatus(int status);

/// A child process we own. Destroying a running Subprocess terminates it (SIGTERM, then SIGKILL).
/// Not thread-safe; all calls from one thread (PR_SET_PDEATHSIG is tied to the spawning thread).
class Subprocess {
 public:
  Subprocess() = default;
  ~Subprocess();
  Subprocess(Subprocess&& other) noexcept;
  Subprocess& operator=(Subprocess&& other) noexcept;
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  /// Starts the process. An exec failure (missing binary, no permission) is an error here,
  /// not a child that exits 127.
  static Result<Subprocess> spawn(const SpawnOptions& options);

  pid_t pid() const { return pid_; }
  bool valid() const { return pid_ > 0; }
  /// Read end of the stdout pipe when `pipeStdout` was set, else -1. Owned by this object.
  int stdoutFd() const { return stdoutFd_; }

  /// Reaps the child if it has exited: its wait status, or nullopt while it runs.
  std::optional<int> tryWait();
  /// Waits up to `timeoutMs` (negative: forever) for the child to exit.
  std::optional<int> waitFor(int timeoutMs);
  /// Sends a signal (no-op once reaped). Returns false if it could not be sent.
  bool signal(int sig) const;
  /// SIGTERM, then SIGKILL after `graceMs`; returns the wait status.
  int terminate(int graceMs);
  /// The wait status once reaped.
  std::optional<int> exitStatus() const { return status_; }
  /// Forgets the child without killing it (it stays running; the caller takes over).
  pid_t release();

 private:
  void closeFds();

  pid_t pid_ = -1;
  int stdoutFd_ = -1;
  std::optional<int> status_;
};

/// Reads everything available from `fd` until `timeoutMs` passes with no data or EOF.
std::string readAvailable(int fd, int timeoutMs);

/// Reads one line (without '\n') from `fd`, waiting up to `timeoutMs`. nullopt on timeout/EOF.
std::optional<std::string> readLine(int fd, int timeoutMs);

}  // namespace edgelink
