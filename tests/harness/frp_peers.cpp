#include "harness/frp_peers.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "core/clock.h"

namespace edgelink::testing {
namespace {

std::string requireExecutable(const std::string& path, const std::string& what) {
  if (::access(path.c_str(), X_OK) != 0) {
    throw std::runtime_error("real " + what + " not found at " + path +
                             ": run scripts/bootstrap (it builds frp " + frpVersion() +
                             " into the cache)");
  }
  return path;
}

/// A TOML basic string.
std::string tomlQuote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
    }
    out += c;
  }
  return out + "\"";
}

int connectLoopback(uint16_t port, int timeoutMs, int* error) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    *error = errno;
    return -1;
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    if (errno != EINPROGRESS) {
      *error = errno;
      ::close(fd);
      return -1;
    }
    pollfd p{fd, POLLOUT, 0};
    if (::poll(&p, 1, timeoutMs) <= 0) {
      *error = ETIMEDOUT;
      ::close(fd);
      return -1;
    }
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      *error = err;
      ::close(fd);
      return -1;
    }
  }
  *error = 0;
  return fd;
}

int listenLoopback(uint16_t port, uint16_t* bound) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || ::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(fd, 64) != 0) {
    std::string why = std::strerror(errno);
    if (fd >= 0) {
      ::close(fd);
    }
    throw std::runtime_error("cannot listen on 127.0.0.1:" + std::to_string(port) + ": " + why);
  }
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  *bound = ntohs(addr.sin_port);
  return fd;
}

/// Starts `argv` with output to `logPath`; waits until 127.0.0.1:`port` accepts connections.
Subprocess startListening(const std::vector<std::string>& argv, const std::string& logPath,
                          uint16_t port, const std::string& what) {
  SpawnOptions opts;
  opts.argv = argv;
  opts.stdoutPath = logPath;
  opts.stderrPath = logPath;
  auto p = Subprocess::spawn(opts);
  if (!p) {
    throw std::runtime_error(what + ": " + p.error().describe());
  }
  Subprocess proc = std::move(*p);
  std::optional<int> exited;
  bool up = waitUntil(
      [&] {
        exited = proc.tryWait();
        return exited.has_value() || tcpAccepts(port);
      },
      20000);
  if (exited || !up) {
    std::string why = exited ? describeWaitStatus(*exited) : "not listening within 20 s";
    proc.terminate(2000);
    throw std::runtime_error(what + " did not start (" + why + "):\n" + readText(logPath));
  }
  return proc;
}

}  // namespace

std::string frpVersion() {
  return EDGELINK_FRP_VERSION;
}

std::string frpBinDir() {
  return EDGELINK_FRP_BIN_DIR;
}

std::string realFrpcPath() {
  return requireExecutable(frpBinDir() + "/frpc", "frpc");
}

std::string realFrpsPath() {
  return requireExecutable(frpBinDir() + "/frps", "frps");
}

int CommandResult::exitCode() const {
  if (status < 0) {
    return -1;
  }
  if (WIFEXITED(status)) {
    return WEXITSTATUS(status);
  }
  return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1;
}

CommandResult runCommand(const std::vector<std::string>& argv, int timeoutMs,
                         const std::vector<std::string>& extraEnv) {
  TempDir dir("edgelink-cmd");
  SpawnOptions opts;
  opts.argv = argv;
  opts.extraEnv = extraEnv;
  opts.stdoutPath = dir.file("out");
  opts.stderrPath = dir.file("out");
  auto p = Subprocess::spawn(opts);
  if (!p) {
    throw std::runtime_error(argv.front() + ": " + p.error().describe());
  }
  CommandResult r;
  if (auto status = p->waitFor(timeoutMs)) {
    r.status = *status;
  } else {
    p->terminate(1000);
  }
  r.output = readText(dir.file("out"));
  return r;
}

bool tcpAccepts(uint16_t port) {
  int error = 0;
  int fd = connectLoopback(port, 1000, &error);
  if (fd < 0) {
    return false;
  }
  ::close(fd);
  return true;
}

bool tcpRefused(uint16_t port) {
  int error = 0;
  int fd = connectLoopback(port, 1000, &error);
  if (fd >= 0) {
    ::close(fd);
    return false;
  }
  return error == ECONNREFUSED;
}

std::optional<std::string> exchange(uint16_t port, const std::string& payload, int timeoutMs) {
  const auto& clock = SystemClock::instance();
  const int64_t deadline = clock.monoMs() + timeoutMs;
  int error = 0;
  int fd = connectLoopback(port, timeoutMs, &error);
  if (fd < 0) {
    return std::nullopt;
  }
  size_t sent = 0;
  std::string got;
  while (got.size() < payload.size()) {
    int64_t left = deadline - clock.monoMs();
    if (left <= 0) {
      break;
    }
    pollfd p{fd, static_cast<short>(POLLIN | (sent < payload.size() ? POLLOUT : 0)), 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0) {
      continue;
    }
    if ((p.revents & POLLOUT) != 0 && sent < payload.size()) {
      ssize_t n = ::send(fd, payload.data() + sent, payload.size() - sent, MSG_NOSIGNAL);
      if (n > 0) {
        sent += static_cast<size_t>(n);
      } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
        break;
      }
    }
    if ((p.revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      char buf[4096];
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n > 0) {
        got.append(buf, static_cast<size_t>(n));
      } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        break;  // closed by the peer (frps does so when frpc cannot reach the local service)
      }
    }
  }
  ::close(fd);
  return got;
}

std::vector<int> processesWithArg(const std::string& arg) {
  std::vector<int> out;
  DIR* d = ::opendir("/proc");
  if (d == nullptr) {
    return out;
  }
  while (dirent* e = ::readdir(d)) {
    char* end = nullptr;
    long pid = std::strtol(e->d_name, &end, 10);
    if (pid <= 0 || *end != '\0') {
      continue;
    }
    std::string cmdline = readText("/proc/" + std::string(e->d_name) + "/cmdline");
    std::string stat = readText("/proc/" + std::string(e->d_name) + "/stat");
    auto close = stat.rfind(')');
    if (close == std::string::npos || close + 2 >= stat.size() || stat[close + 2] == 'Z') {
      continue;  // gone, or a zombie (exited, not reaped yet)
    }
    size_t start = 0;
    while (start < cmdline.size()) {
      size_t nul = cmdline.find('\0', start);
      if (nul == std::string::npos) {
        nul = cmdline.size();
      }
      if (cmdline.compare(start, nul - start, arg) == 0) {
        out.push_back(static_cast<int>(pid));
        break;
      }
      start = nul + 1;
    }
  }
  ::closedir(d);
  return out;
}

// ---------------------------------------------------------------------------------------------
// PortSquatter, EchoServer

PortSquatter::PortSquatter(uint16_t port) {
  fd_ = listenLoopback(port, &port_);
}

PortSquatter::~PortSquatter() {
  ::close(fd_);
}

EchoServer::EchoServer() {
  listenFd_ = listenLoopback(0, &port_);
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    ::close(listenFd_);
    throw std::runtime_error("pipe2 failed");
  }
  wakeRead_ = fds[0];
  wakeWrite_ = fds[1];
  thread_ = std::thread([this] { run(); });
}

EchoServer::~EchoServer() {
  char b = 'q';
  ssize_t ignored = ::write(wakeWrite_, &b, 1);
  (void)ignored;
  thread_.join();
  for (int fd : {listenFd_, wakeRead_, wakeWrite_}) {
    ::close(fd);
  }
}

void EchoServer::run() {
  std::vector<int> clients;
  for (;;) {
    std::vector<pollfd> fds = {{wakeRead_, POLLIN, 0}, {listenFd_, POLLIN, 0}};
    for (int c : clients) {
      fds.push_back({c, POLLIN, 0});
    }
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) {
        continue;
      }
      break;
    }
    if (fds[0].revents != 0) {
      break;
    }
    std::vector<int> open;
    if (fds[1].revents != 0) {
      int c = ::accept4(listenFd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c >= 0) {
        open.push_back(c);
        ++connections_;
      }
    }
    for (size_t i = 2; i < fds.size(); ++i) {
      int c = fds[i].fd;
      if (fds[i].revents == 0) {
        open.push_back(c);
        continue;
      }
      char buf[16384];
      ssize_t n = ::recv(c, buf, sizeof buf, 0);
      bool ok = n > 0;
      for (ssize_t sent = 0; ok && sent < n;) {
        ssize_t w = ::send(c, buf + sent, static_cast<size_t>(n - sent), MSG_NOSIGNAL);
        ok = w > 0;
        sent += ok ? w : 0;
      }
      if (ok) {
        open.push_back(c);
      } else {
        ::close(c);
      }
    }
    clients.swap(open);
  }
  for (int c : clients) {
    ::close(c);
  }
}

// ---------------------------------------------------------------------------------------------
// FrpsProcess

FrpsProcess::FrpsProcess(FrpsOptions options) : options_(std::move(options)), dir_("frps") {
  port_ = freeTcpPort();
  std::string conf = "# written by tests/harness/frp_peers.cpp\n";
  conf += "bindAddr = \"127.0.0.1\"\n";
  conf += "bindPort = " + std::to_string(port_) + "\n";
  conf += "auth.method = \"token\"\n";
  conf += "auth.token = " + tomlQuote(options_.token) + "\n";
  if (!options_.allowPorts.empty()) {
    conf += "allowPorts = " + options_.allowPorts + "\n";
  }
  if (!options_.tls.certFile.empty()) {
    conf += "transport.tls.force = true\n";
    conf += "transport.tls.certFile = " + tomlQuote(options_.tls.certFile) + "\n";
    conf += "transport.tls.keyFile = " + tomlQuote(options_.tls.keyFile) + "\n";
  }
  conf += "log.disablePrintColor = true\n";
  if (!options_.pluginAddr.empty()) {
    conf += "\n[[httpPlugins]]\nname = \"edgelink\"\n";
    conf += "addr = " + tomlQuote(options_.pluginAddr) + "\n";
    conf += "path = " + tomlQuote(options_.pluginPath) + "\n";
    conf += "ops = [\"Login\", \"NewProxy\"]\n";
  }
  writeText(dir_.file("frps.toml"), conf);
  start();
}

FrpsProcess::~FrpsProcess() {
  stop();
}

void FrpsProcess::start() {
  if (proc_.valid() && !proc_.tryWait()) {
    return;
  }
  proc_ = startListening({realFrpsPath(), "-c", dir_.file("frps.toml")}, dir_.file("frps.log"),
                         port_, "frps on 127.0.0.1:" + std::to_string(port_));
}

void FrpsProcess::stop() {
  if (proc_.valid()) {
    proc_.terminate(5000);
  }
}

// ---------------------------------------------------------------------------------------------
// SshServer

SshServer::SshServer() : dir_("sshd") {
  const std::string sshd = "/usr/sbin/sshd";
  if (::access(sshd.c_str(), X_OK) != 0) {
    throw std::runtime_error(sshd + " not found: install openssh-server (scripts/bootstrap)");
  }
  // sshd refuses to start without its privilege separation directory (its systemd unit's
  // RuntimeDirectory); an ad-hoc sshd makes it itself.
  struct stat st {};
  if (::stat("/run/sshd", &st) != 0 && ::mkdir("/run/sshd", 0755) != 0 && errno != EEXIST) {
    throw std::runtime_error(std::string("cannot create /run/sshd for sshd: ") +
                             std::strerror(errno));
  }
  for (const char* key : {"host_key", "client_key"}) {
    auto r = runCommand({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "edgelink-test", "-f",
                         dir_.file(key)});
    if (!r.ok()) {
      throw std::runtime_error("ssh-keygen failed: " + r.output);
    }
  }
  writeText(dir_.file("authorized_keys"), readText(dir_.file("client_key.pub")));
  port_ = freeTcpPort();
  writeText(dir_.file("sshd_config"),
            "# written by tests/harness/frp_peers.cpp: a throwaway sshd for one test\n"
            "Port " +
                std::to_string(port_) +
                "\n"
                "ListenAddress 127.0.0.1\n"
                "HostKey " +
                dir_.file("host_key") +
                "\n"
                "AuthorizedKeysFile " +
                dir_.file("authorized_keys") +
                "\n"
                "PidFile none\n"
                "StrictModes no\n"
                "UsePAM no\n"
                "PermitRootLogin prohibit-password\n"
                "PubkeyAuthentication yes\n"
                "PasswordAuthentication no\n"
                "KbdInteractiveAuthentication no\n"
                "UseDNS no\n"
                "PrintMotd no\n");
  proc_ = startListening({sshd, "-D", "-e", "-f", dir_.file("sshd_config")}, dir_.file("sshd.log"),
                         port_, "sshd on 127.0.0.1:" + std::to_string(port_));
}

SshServer::~SshServer() {
  if (proc_.valid()) {
    proc_.terminate(5000);
  }
}

CommandResult SshServer::ssh(uint16_t port, const std::string& command, int timeoutMs) const {
  return runCommand({"ssh",
                     "-F",
                     "/dev/null",
                     "-p",
                     std::to_string(port),
                     "-i",
                     clientKey(),
                     "-o",
                     "IdentitiesOnly=yes",
                     "-o",
                     "BatchMode=yes",
                     "-o",
                     "StrictHostKeyChecking=no",
                     "-o",
                     "UserKnownHostsFile=/dev/null",
                     "-o",
                     "LogLevel=ERROR",
                     "-o",
                     "ConnectTimeout=10",
                     "root@127.0.0.1",
                     command},
                    timeoutMs);
}

}  // namespace edgelink::testing
