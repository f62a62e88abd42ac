#pragma once

// When the agent asks the cloud for its remote configuration (get_config), decided without I/O
// on the monotonic clock: at start, every config-refresh, and at once on a config_changed event;
// each ask waits config-request-timeout for its answer (correlated by id), is asked again up to
// kRetries times with a new id, then the agent waits for the next trigger. An answer to an id
// no longer awaited (late, duplicate, another agent's) is not ours to apply.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

namespace edgelink::agent {

class ConfigFetch {
 public:
  static constexpr int kRetries = 3;

  /// `refreshMs` 0: only at start and on config_changed.
  ConfigFetch(std::string edgeId, int64_t refreshMs, int64_t timeoutMs)
      : edgeId_(std::move(edgeId)), refreshMs_(refreshMs), timeoutMs_(timeoutMs) {}

  /// A get_config to send now: its id and which try it is (1 = first).
  struct Ask {
    std::string id;
    int attempt = 1;
  };

  /// At start, and on config_changed: asks at once (a request still waiting is given up).
  Ask askNow(int64_t monoMs, int64_t wallMs);
  /// Due timers: a timed-out ask asked again (or given up after kRetries), or the refresh.
  std::optional<Ask> onTimer(int64_t monoMs, int64_t wallMs);
  /// An answer with `id` came: true when it is the one awaited (then the next ask is the
  /// refresh); false for anything else (ignored).
  bool answered(const std::string& id, int64_t monoMs);

  /// When onTimer next has something to do (INT64_MAX: nothing).
  int64_t nextDueMono() const;
  /// The id awaited ("" when none).
  const std::string& awaiting() const { return awaiting_; }
  /// The asks given up after every retry timed out.
  uint64_t givenUp() const { return givenUp_; }

 private:
  Ask ask(int attempt, int64_t monoMs, int64_t wallMs);
  void scheduleRefresh(int64_t monoMs);

  std::string edgeId_;
  int64_t refreshMs_;
  int64_t timeoutMs_;
  std::string awaiting_;
  int attempt_ = 0;
  int64_t timeoutMono_ = 0;
  std::optional<int64_t> refreshMono_;
  uint64_t counter_ = 0;
  uint64_t givenUp_ = 0;
};

}  // namespace edgelink::agent
