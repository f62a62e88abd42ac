#pragma once

// An estimate of the Kafka broker's clock against this process's monotonic clock, so that a
// request's age can be judged without trusting the board's wall clock (no battery-backed clock:
// after a power cut it boots in 1970 or at the image's build date until NTP syncs). The agent's
// own heartbeats are its probes: it notes the monotonic time each is sent, and when one comes
// back on its topic with a broker-assigned timestamp (message.timestamp.type=LogAppendTime) the
// broker appended it somewhere between that send and the read. The midpoint gives the offset
// (broker time - monotonic time), half the round trip its uncertainty. Pure: times are given.

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <utility>

namespace edgelink::agent {

class BrokerClock {
 public:
  /// Samples whose round trip (send to read back) is longer than `maxRoundTripMs` are not used:
  /// a heartbeat held back by an outage says little about when it was appended.
  explicit BrokerClock(int64_t maxRoundTripMs = 30'000) : maxRoundTripMs_(maxRoundTripMs) {}

  /// The heartbeat `id` was handed to the producer at monotonic `monoMs`.
  void sent(const std::string& id, int64_t monoMs);
  /// A record of ours came back: `id`, appended by the broker at `brokerMs` (LogAppendTime),
  /// read at monotonic `readMonoMs`. True when it was a heartbeat sent by this process and its
  /// sample is now the estimate (a closer sample than the last, or the last has grown old).
  bool echoed(const std::string& id, int64_t brokerMs, int64_t readMonoMs);

  bool known() const { return offsetMs_.has_value(); }
  /// The broker's time now (epoch ms), estimated; nullopt until a heartbeat has come back.
  std::optional<int64_t> brokerNowMs(int64_t monoNowMs) const;
  /// How far the board's wall clock is ahead of the broker's (negative: behind); nullopt until
  /// known.
  std::optional<int64_t> wallOffsetMs(int64_t wallNowMs, int64_t monoNowMs) const;
  /// Half the round trip of the sample in use (ms), 0 until known.
  int64_t uncertaintyMs() const { return uncertaintyMs_; }

  /// A sample older than this (monotonic) is replaced by any new one, however wide.
  static constexpr int64_t kRefreshAfterMs = 600'000;
  /// Heartbeats remembered while waiting for them to come back.
  static constexpr size_t kMaxPending = 16;

 private:
  int64_t maxRoundTripMs_;
  std::deque<std::pair<std::string, int64_t>> pending_;  ///< (id, monotonic ms at send)
  std::optional<int64_t> offsetMs_;                      ///< broker ms - monotonic ms
  int64_t uncertaintyMs_ = 0;
  int64_t sampledAtMono_ = 0;
};

}  // namespace edgelink::agent
