#pragma once

#include <atomic>
#include <cstdint>

namespace edgelink {

/// The time source. Pure logic takes a `const Clock&` so tests can drive time by hand.
class Clock {
 public:
  virtual ~Clock() = default;
  /// Wall-clock time, milliseconds since the Unix epoch (can jump: NTP, RTC-less boot).
  virtual int64_t wallMs() const = 0;
  /// Monotonic time in milliseconds from an arbitrary origin (never jumps).
  virtual int64_t monoMs() const = 0;
};

/// The real clocks: CLOCK_REALTIME and CLOCK_MONOTONIC.
class SystemClock final : public Clock {
 public:
  int64_t wallMs() const override;
  int64_t monoMs() const override;
  /// A process-wide instance.
  static const SystemClock& instance();
};

/// A clock that moves only when told to. Wall and monotonic time advance together.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t wallMs = 1'700'000'000'000, int64_t monoMs = 1'000'000)
      : wall_(wallMs), mono_(monoMs) {}
  int64_t wallMs() const override { return wall_.load(); }
  int64_t monoMs() const override { return mono_.load(); }
  void advanceMs(int64_t ms) {
    wall_ += ms;
    mono_ += ms;
  }
  /// Moves only the wall clock (an NTP step).
  void setWallMs(int64_t ms) { wall_ = ms; }

 private:
  std::atomic<int64_t> wall_;
  std::atomic<int64_t> mono_;
};

}  // namespace edgelink
