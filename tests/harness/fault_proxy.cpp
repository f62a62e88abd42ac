#include "harness/fault_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <stdexcept>
#include <utility>
#include <vector>

namespace edgelink::testing {
namespace {

sockaddr_in loopback(uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

int connectTo(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a = loopback(port);
  if (fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    return fd;
  }
  if (fd >= 0) {
    ::close(fd);
  }
  return -1;
}

/// Everything of `n` bytes to `fd` (blocking); false when the peer is gone.
bool sendAll(int fd, const char* buf, ssize_t n) {
  for (ssize_t sent = 0; sent < n;) {
    const ssize_t w = ::send(fd, buf + sent, static_cast<size_t>(n - sent), MSG_NOSIGNAL);
    if (w <= 0) {
      return false;
    }
    sent += w;
  }
  return true;
}

}  // namespace

FaultProxy::FaultProxy(uint16_t targetPort) : targetPort_(targetPort) {
  listenFd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a = loopback(0);
  socklen_t len = sizeof a;
  if (listenFd_ < 0 || ::bind(listenFd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::listen(listenFd_, 64) != 0 ||
      ::getsockname(listenFd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    if (listenFd_ >= 0) {
      ::close(listenFd_);
    }
    throw std::runtime_error("fault proxy: cannot listen on 127.0.0.1");
  }
  port_ = ntohs(a.sin_port);
  thread_ = std::thread([this] { run(); });
}

FaultProxy::~FaultProxy() {
  stop_ = true;
  thread_.join();
  ::close(listenFd_);
}

void FaultProxy::set(Mode mode, int delayMs) {
  std::lock_guard<std::mutex> lock(mutex_);
  delayMs_ = delayMs;
  mode_ = mode;
  if (mode == Mode::kCut) {
    closeAll();
  }
}

void FaultProxy::closeAll() {
  for (auto [c, s] : links_) {
    ::close(c);
    ::close(s);
  }
  links_.clear();
  ++generation_;
}

void FaultProxy::run() {
  while (!stop_) {
    std::vector<pollfd> fds = {{listenFd_, POLLIN, 0}};
    uint64_t generation = 0;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      generation = generation_;
      for (auto [c, s] : links_) {
        fds.push_back({c, POLLIN, 0});
        fds.push_back({s, POLLIN, 0});
      }
    }
    if (::poll(fds.data(), fds.size(), 100) > 0) {
      forward(fds, generation);
    }
  }
  std::lock_guard<std::mutex> lock(mutex_);
  closeAll();
}

void FaultProxy::forward(std::vector<pollfd>& fds, uint64_t generation) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (generation != generation_) {
    return;  // set() closed the links polled (their fds may be reused already)
  }
  std::vector<std::pair<int, int>> open;
  for (size_t i = 0; i < links_.size(); ++i) {
    const auto [c, s] = links_[i];
    bool ok = true;
    for (int side = 0; side < 2 && ok; ++side) {
      if (fds[1 + 2 * i + side].revents == 0) {
        continue;
      }
      char buf[16384];
      const ssize_t n = ::recv(side == 0 ? c : s, buf, sizeof buf, 0);
      if (n > 0 && mode_ == Mode::kSlow) {
        std::this_thread::sleep_for(std::chrono::milliseconds(delayMs_.load()));
      }
      ok = n > 0 && sendAll(side == 0 ? s : c, buf, n);
    }
    if (ok) {
      open.emplace_back(c, s);
    } else {
      ::close(c);
      ::close(s);
    }
  }
  links_ = std::move(open);
  if (fds[0].revents != 0) {
    const int c = ::accept4(listenFd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (c >= 0) {
      ++connections_;
      const int s = mode_ == Mode::kCut ? -1 : connectTo(targetPort_);
      if (s < 0) {
        ::close(c);
      } else {
        links_.emplace_back(c, s);
      }
    }
  }
}

}  // namespace edgelink::testing
