#include "core/sd_notify.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "core/strings.h"

namespace edgelink {

SdNotifier::SdNotifier() {
  if (const char* s = std::getenv("NOTIFY_SOCKET"); s && *s) {
    socketPath_ = s;
  }
  const char* usec = std::getenv("WATCHDOG_USEC");
  const char* wpid = std::getenv("WATCHDOG_PID");
  if (usec) {
    auto v = parseUint64(usec);
    bool forUs = true;
    if (wpid) {
      auto p = parseUint64(wpid);
      forUs = p && static_cast<pid_t>(*p) == ::getpid();
    }
    if (v && forUs) {
      watchdogMs_ = static_cast<int64_t>(*v / 1000);
    }
  }
}

bool SdNotifier::send(const std::string& state) const {
  if (socketPath_.empty()) {
    return false;
  }
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socketPath_.size() >= sizeof(addr.sun_path)) {
    return false;
  }
  std::memcpy(addr.sun_path, socketPath_.data(), socketPath_.size());
  if (addr.sun_path[0] == '@') {
    addr.sun_path[0] = '\0';  // abstract namespace
  }
  socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + socketPath_.size());
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return false;
  }
  ssize_t n = ::sendto(fd, state.data(), state.size(), MSG_NOSIGNAL,
                       reinterpret_cast<const sockaddr*>(&addr), len);
  ::close(fd);
  return n == static_cast<ssize_t>(state.size());
}

}  // namespace edgelink
