#include "web/stcp_visitor.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>

namespace edgelink::dispatcher::web {
namespace {

/// A port on 127.0.0.1 that was free a moment ago (frpc binds it right after).
Result<int> freePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return Error(Status::kInternal, std::string("cannot make a socket: ") + std::strerror(errno));
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  if (port == 0) {
    return Error(Status::kInternal, "cannot find a free port on 127.0.0.1");
  }
  return port;
}

bool accepts(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return false;
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

bool writePrivate(const std::string& path, const std::string& text) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    return false;
  }
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  return ::close(fd) == 0 && ok;
}

std::string lastLines(const std::string& path, size_t maxBytes = 600) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return "";
  }
  std::string text;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) {
    text.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  if (text.size() > maxBytes) {
    text = text.substr(text.size() - maxBytes);
  }
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) {
    text.pop_back();
  }
  return text;
}

void removeDir(const std::string& dir) {
  if (dir.empty()) {
    return;
  }
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d)) {
      std::string name = e->d_name;
      if (name != "." && name != "..") {
        ::unlink((dir + "/" + name).c_str());
      }
    }
    ::closedir(d);
  }
  ::rmdir(dir.c_str());
}

}  // namespace

Result<std::unique_ptr<StcpVisitor>> StcpVisitor::start(const StcpVisitorSettings& settings,
                                                        const std::string& edgeId,
                                                        int64_t sessionId,
                                                        const std::string& secret,
                                                        const std::string& service) {
  std::unique_ptr<StcpVisitor> v(new StcpVisitor());
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern =
      std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/edgelink-visitor-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {  // mkdtemp makes it 0700
    return Error(Status::kInternal, "cannot make a directory for the frpc visitor: " +
                                        std::string(std::strerror(errno)));
  }
  v->dir_ = pattern;
  auto port = freePort();
  if (!port) {
    return port.error();
  }
  v->port_ = *port;
  VisitorSettings vs = settings.visitor;
  vs.firstBindPort = v->port_;
  const std::string config = v->dir_ + "/visitor.toml";
  const std::string log = v->dir_ + "/frpc.log";
  if (!writePrivate(config, visitorConfig(vs, edgeId, sessionId, {{service, 0}}, secret))) {
    return Error(Status::kInternal, "cannot write the frpc visitor config in " + v->dir_);
  }
  SpawnOptions spawn;
  spawn.argv = {settings.frpcPath, "-c", config};
  spawn.stdoutPath = log;
  spawn.stderrPath = log;
  auto proc = Subprocess::spawn(spawn);
  if (!proc) {
    return Error(Status::kInternal,
                 "cannot start frpc (" + settings.frpcPath + "): " + proc.error().message);
  }
  v->proc_ = std::move(*proc);
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(settings.startTimeoutMs);
  for (;;) {
    if (auto status = v->proc_.tryWait()) {
      return Error(Status::kUnavailable, "the frpc visitor for session " +
                                             std::to_string(sessionId) + " " +
                                             describeWaitStatus(*status) + ": " + lastLines(log));
    }
    if (accepts(v->port_)) {
      return v;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return Error(Status::kUnavailable,
                   "the frpc visitor for session " + std::to_string(sessionId) +
                       " did not listen on 127.0.0.1:" + std::to_string(v->port_) + " within " +
                       std::to_string(settings.startTimeoutMs) + " ms: " + lastLines(log));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

StcpVisitor::~StcpVisitor() {
  if (proc_.valid()) {
    proc_.terminate(3000);
  }
  removeDir(dir_);
}

}  // namespace edgelink::dispatcher::web
