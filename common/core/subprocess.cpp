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
  std::vector<char*> argv;
  for (const auto& a : options.argv) {
    argv.push_back(const_cast<char*>(a.c_str()));
  }
  argv.push_back(nullptr);
  std::vector<std::string> envStore;
  for (char** e = environ; e && *e; ++e) {
    std::string entry(*e);
    auto eq = entry.find('=');
    bool replaced = false;
    for (const auto& extra : options.extraEnv) {
      if (extra.compare(0, extra.find('=') + 1, entry, 0, eq + 1) == 0) {
        replaced = true;
        break;
      }
    }
    if (!replaced) {
      envStore.push_back(std::move(entry));
    }
  }
  for (const auto& extra : options.extraEnv) {
    envStore.push_back(extra);
  }
  std::vector<char*> envp;
  for (auto& e : envStore) {
    envp.push_back(e.data());
  }
  envp.push_back(nullptr);

  int errPipe[2];
  if (::pipe2(errPipe, O_CLOEXEC) != 0) {
    return Error(Status::kInternal, std::string("pipe: ") + std::strerror(errno));
  }
  int outPipe[2] = {-1, -1};
  if (options.pipeStdout && ::pipe2(outPipe, O_CLOEXEC) != 0) {
    ::close(errPipe[0]);
    ::close(errPipe[1]);
    return Error(Status::kInternal, std::string("pipe: ") + std::strerror(errno));
  }
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) {
    int e = errno;
    ::close(errPipe[0]);
    ::close(errPipe[1]);
    if (outPipe[0] >= 0) {
      ::close(outPipe[0]);
      ::close(outPipe[1]);
    }
    return Error(Status::kInternal, std::string("fork: ") + std::strerror(e));
  }
  if (pid == 0) {
    // Child.
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
    redirect(options.stdinPath, STDIN_FILENO, O_RDONLY, errPipe[1]);
    if (options.pipeStdout) {
      if (::dup2(outPipe[1], STDOUT_FILENO) < 0) {
        childFail(errPipe[1]);
      }
    } else if (!options.stdoutPath.empty()) {
      redirect(options.stdoutPath, STDOUT_FILENO, O_WRONLY | O_CREAT | O_APPEND, errPipe[1]);
    }
    if (!options.stderrPath.empty()) {
      redirect(options.stderrPath, STDERR_FILENO, O_WRONLY | O_CREAT | O_APPEND, errPipe[1]);
    }
    ::execvpe(argv[0], argv.data(), envp.data());
    childFail(errPipe[1]);
  }
  ::close(errPipe[1]);
  if (outPipe[1] >= 0) {
    ::close(outPipe[1]);
  }
  int childErrno = 0;
  ssize_t n;
  do {
    n = ::read(errPipe[0], &childErrno, sizeof childErrno);
  } while (n < 0 && errno == EINTR);
  ::close(errPipe[0]);
  Subprocess proc;
  proc.pid_ = pid;
  proc.stdoutFd_ = outPipe[0];
  if (n == static_cast<ssize_t>(sizeof childErrno)) {
    proc.waitFor(-1);
    return Error(Status::kInternal,
                 "cannot start " + options.argv[0] + ": " + std::strerror(childErrno));
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
