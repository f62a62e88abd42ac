#pragma once

// A TCP proxy on 127.0.0.1 that can fail the link it carries: pass bytes through, cut the link
// (every connection closed, new ones closed at once) or slow it down (each chunk held a while).
// For faults between two real peers that neither can be pushed into, e.g. a dispatcher and
// PostgreSQL (libpq connects where it is told; a Kafka client follows the broker's advertised
// listeners, so a proxy in front of a broker needs the broker to advertise the proxy).

#include <atomic>
#include <cstdint>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

struct pollfd;

namespace edgelink::testing {

class FaultProxy {
 public:
  enum class Mode { kPass, kCut, kSlow };

  /// Listens on a free port of 127.0.0.1 and forwards to 127.0.0.1:`targetPort`.
  explicit FaultProxy(uint16_t targetPort);
  ~FaultProxy();
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  uint16_t port() const { return port_; }
  /// kCut closes every open connection before it returns (no byte passes after it) and closes
  /// new ones at once; kSlow holds each chunk `delayMs` before passing it; kPass passes.
  void set(Mode mode, int delayMs = 0);
  /// Connections accepted so far.
  int connections() const { return connections_; }

 private:
  void run();
  /// One round of bytes after a poll of `fds` (taken at generation `generation`).
  void forward(std::vector<struct pollfd>& fds, uint64_t generation);
  void closeAll();

  uint16_t targetPort_;
  uint16_t port_ = 0;
  int listenFd_ = -1;
  std::atomic<Mode> mode_{Mode::kPass};
  std::atomic<int> delayMs_{0};
  std::atomic<int> connections_{0};
  std::mutex mutex_;  ///< guards links_ and generation_; held while bytes pass
  std::vector<std::pair<int, int>> links_;  ///< client, server
  uint64_t generation_ = 0;                 ///< bumped when set() closes links_
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace edgelink::testing
