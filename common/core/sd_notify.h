#pragma once

#include <cstdint>
#include <string>

namespace edgelink {

/// Speaks systemd's notify protocol directly (one datagram to $NOTIFY_SOCKET), so the daemons
/// need no libsystemd and run unchanged under BusyBox init, where every call is a no-op.
class SdNotifier {
 public:
  /// Reads $NOTIFY_SOCKET and $WATCHDOG_USEC (honouring $WATCHDOG_PID).
  SdNotifier();

  bool enabled() const { return !socketPath_.empty(); }
  /// The watchdog interval systemd expects pings within, in ms (0: no watchdog).
  int64_t watchdogIntervalMs() const { return watchdogMs_; }

  void ready() const { send("READY=1"); }
  void stopping() const { send("STOPPING=1"); }
  void watchdog() const { send("WATCHDOG=1"); }
  void status(const std::string& text) const { send("STATUS=" + text); }
  /// Sends a raw state string; returns false when not under systemd or on error.
  bool send(const std::string& state) const;

 private:
  std::string socketPath_;
  int64_t watchdogMs_ = 0;
};

}  // namespace edgelink
