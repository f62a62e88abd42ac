#include "core/clock.h"

#include <time.h>

namespace edgelink {
namespace {

int64_t readMs(clockid_t id) {
  timespec ts{};
  clock_gettime(id, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
}

}  // namespace

int64_t SystemClock::wallMs() const {
  return readMs(CLOCK_REALTIME);
}
int64_t SystemClock::monoMs() const {
  return readMs(CLOCK_MONOTONIC);
}

const SystemClock& SystemClock::instance() {
  static const SystemClock kClock;
  return kClock;
}

}  // namespace edgelink
