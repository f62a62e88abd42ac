#include "core/subprocess.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "core/clock.h"
#include "core/unique_fd.h"

extern char** environ;

namespace edgelink {
namespace {

[[noreturn]] void childFail(int errPipe) {
  int e = errno;
  ssize_t ignored = ::write(errPipe, &e, sizeof e);
  (void)ignored;
  ::_exit(127);
}

void redirect(const std::string& path, int targetFd, int flags, int errPipe) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC, 0640);
  if (fd < 0 || ::dup2(fd, targetFd) < 0) {
    childFail(errPipe);
  }
  ::close(fd);
}

/// True if `entry` ("KEY=VALUE", from our environment) sets a key one of `extraEnv` sets too.
bool replacedBy(const std::vector<std::string>& extraEnv, const std::string& entry) {
  auto eq = entry.find('=');
  for (const auto& extra : extraEnv) {
    if (extra.compare(0, extra.find('=') + 1, entry, 0, eq + 1) == 0) {
      return true;
    }
  }
  return false;
}

/// execvpe's argv and envp, built before fork(). Neither copyable nor movable: `envp` points
/// into `envStore`, `argv` into the options.
struct ExecImage {
  explicit ExecImage(const SpawnOptions& options) {
    for (const auto& a : options.argv) {
      argv.push_back(const_cast<char*>(a.c_str()));
    }
    argv.push_back(nullptr);
    for (char** e = environ; e && *e; ++e) {
      std::string entry(*e);
      if (!replacedBy(options.extraEnv, entry)) {
        envStore.push_back(std::move(entry));
      }
    }
    for (const auto& extra : options.extraEnv) {
      envStore.push_back(extra);
    }
    for (auto& e : envStore) {
      envp.push_back(e.data());
    }
    envp.push_back(nullptr);
  }
  ExecImage(const ExecImage&) = delete;
  ExecImage& operator=(const ExecImage&) = delete;

  std::vector<char*> argv;
  std::vector<std::string> envStore;  ///< Our environment with `extraEnv` applied.
  std::vector<char*> envp;
};

/// A close-on-exec pipe into `readEnd` and `writeEnd`.
VoidResult openPipe(UniqueFd& readEnd, UniqueFd& writeEnd) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    return Error(Status::kInternal, std::string("pipe: ") + std::strerror(errno));
  }
  readEnd.reset(fds[0]);
  writeEnd.reset(fds[1]);
  return {};
}

/// The child's side of spawn(), between fork() and exec: async-signal-safe calls only. An exec
/// (or setup) failure writes errno into `errPipe`; `outPipe` is stdout's pipe, or -1.
[[noreturn]] void execChild(const SpawnOptions& options, const ExecImage& image, pid_t parent,
                            int errPipe, int outPipe) {
  if (options.dieWithParent) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) {
      ::_exit(127);  // the parent died before prctl took effect
    }
  }
  if (options.newProcessGroup) {
    ::setpgid(0, 0);
  }
  sigset_t all;
  sigemptyset(&all);
  ::sigprocmask(SIG_SETMASK, &all, nullptr);  // the parent may block signals for signalfd
  for (int s = 1; s < 32; ++s) {
    if (s != SIGKILL && s != SIGSTOP) {
      ::signal(s, SIG_DFL);
    }
  }
  redirect(options.stdinPath, STDIN_FILENO, O_RDONLY, errPipe);
  if (options.pipeStdout) {
    if (::dup2(outPipe, STDOUT_FILENO) < 0) {
      childFail(errPipe);
    }
  } else if (!options.stdoutPath.empty()) {
    redirect(options.stdoutPath, STDOUT_FILENO, O_WRONLY | O_CREAT | O_APPEND, errPipe);
  }
  if (!options.stderrPath.empty()) {
    redirect(options.stderrPath, STDERR_FILENO, O_WRONLY | O_CREAT | O_APPEND, errPipe);
  }
  ::execvpe(image.argv[0], image.argv.data(), image.envp.data());
  childFail(errPipe);
}

/// The parent's side: waits for the child's exec (which closes `errPipe`'s write end). nullopt
/// once it has exec'd, else the errno that stopped it.
std::optional<int> awaitExec(int errPipe) {
  int childErrno = 0;
  ssize_t n;
  do {
    n = ::read(errPipe, &childErrno, sizeof childErrno);
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof childErrno)) {
    return childErrno;
  }
  return std::nullopt;
}

}  // namespace

std::string describeWaitStatus(int status) {
  if (WIFEXITED(status)) {
    return "exited with status " + std::to_string(WEXITSTATUS(status));
  }
  if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    const char* name = ::strsignal(sig);
    return "killed by signal " + std::to_string(sig) + " (" + (name ? name : "?") + ")";
  }
  return "ended with wait status " + std::to_string(status);
}

Subprocess::~Subprocess() {
  if (valid() && !status_) {
    terminate(2000);
  }
  closeFds();
}

Subprocess::Subprocess(Subprocess&& other) noexcept
    : pid_(other.pid_), stdoutFd_(other.stdoutFd_), status_(other.status_) {
  other.pid_ = -1;
  other.stdoutFd_ = -1;
}

Subprocess& Subprocess::operator=(Subprocess&& other) noexcept {
  if (this != &other) {
    if (valid() && !status_) {
      terminate(2000);
    }
    closeFds();
    pid_ = other.pid_;
    stdoutFd_ = other.stdoutFd_;
    status_ = other.status_;
    other.pid_ = -1;
    other.stdoutFd_ = -1;
  }
  return *this;
}

void Subprocess::closeFds() {
  if (stdoutFd_ >= 0) {
    ::close(stdoutFd_);
    stdoutFd_ = -1;
  }
}

Result<Subprocess> Subprocess::spawn(const SpawnOptions& options) {
  if (options.argv.empty()) {
    return Error(Status::kBadRequest, "spawn: empty argv");
  }
  // Everything the child needs is prepared before fork(): after fork only async-signal-safe
  // calls are made.
  const ExecImage image(options);
  UniqueFd errRead, errWrite, outRead, outWrite;
  VoidResult piped = openPipe(errRead, errWrite);
  if (piped && options.pipeStdout) {
    piped = openPipe(outRead, outWrite);
  }
  if (!piped) {
    return piped.error();
  }
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) {
    return Error(Status::kInternal, std::string("fork: ") + std::strerror(errno));
  }
  if (pid == 0) {
    execChild(options, image, parent, errWrite.get(), outWrite.get());
  }
  errWrite.reset();
  outWrite.reset();
  Subprocess proc;
  proc.pid_ = pid;
  proc.stdoutFd_ = outRead.release();
  if (auto childErrno = awaitExec(errRead.get())) {
    proc.waitFor(-1);
    return Error(Status::kInternal,
                 "cannot start " + options.argv[0] + ": " + std::strerror(*childErrno));
  }
  return proc;
}

std::optional<int> Subprocess::tryWait() {
  if (status_ || !valid()) {
    return status_;
  }
  int status = 0;
  pid_t r;
  do {
    r = ::waitpid(pid_, &status, WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == pid_) {
    status_ = status;
  } else if (r < 0 && errno == ECHILD) {
    status_ = 0;  // reaped elsewhere; treat as gone
  }
  return status_;
}

std::optional<int> Subprocess::waitFor(int timeoutMs) {
  const auto& clock = SystemClock::instance();
  int64_t deadline = clock.monoMs() + timeoutMs;
  int sleepMs = 1;
  while (!tryWait()) {
    if (timeoutMs >= 0 && clock.monoMs() >= deadline) {
      return std::nullopt;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(sleepMs));
    sleepMs = sleepMs < 20 ? sleepMs * 2 : 20;
  }
  return status_;
}

bool Subprocess::signal(int sig) const {
  if (!valid() || status_) {
    return false;
  }
  return ::kill(pid_, sig) == 0;
}

int Subprocess::terminate(int graceMs) {
  if (!valid()) {
    return 0;
  }
  if (!tryWait()) {
    signal(SIGTERM);
    if (!waitFor(graceMs)) {
      signal(SIGKILL);
      waitFor(-1);
    }
  }
  return *status_;
}

pid_t Subprocess::release() {
  pid_t p = pid_;
  pid_ = -1;
  closeFds();
  return p;
}

std::string readAvailable(int fd, int timeoutMs) {
  std::string out;
  char buf[4096];
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    int r = ::poll(&p, 1, timeoutMs);
    if (r <= 0) {
      return out;
    }
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) {
      return out;
    }
    out.append(buf, static_cast<size_t>(n));
  }
}

std::optional<std::string> readLine(int fd, int timeoutMs) {
  std::string line;
  const auto& clock = SystemClock::instance();
  int64_t deadline = clock.monoMs() + timeoutMs;
  for (;;) {
    int64_t left = deadline - clock.monoMs();
    if (left <= 0) {
      return std::nullopt;
    }
    pollfd p{fd, POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(left));
    if (r <= 0) {
      continue;
    }
    char c;
    ssize_t n = ::read(fd, &c, 1);
    if (n <= 0) {
      return std::nullopt;
    }
    if (c == '\n') {
      return line;
    }
    line.push_back(c);
  }
}

}  // namespace edgelink
