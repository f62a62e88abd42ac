#pragma once

// Keeps a warning that repeats (the same failure retried every second: a board whose
// credentials may not use its topic) to one line per interval.

#include <cstdint>
#include <optional>
#include <string>

namespace edgelink::agent {

class RepeatFilter {
 public:
  explicit RepeatFilter(int64_t intervalMs) : intervalMs_(intervalMs) {}

  /// Whether to log the warning `key` now: the first of its kind, or the same one again once
  /// the interval has passed since it was last logged. Returns how many like it were held back
  /// since then; nullopt: hold this one back too.
  std::optional<int> admit(const std::string& key, int64_t nowMono) {
    if (key == key_ && nowMono - loggedMono_ < intervalMs_) {
      ++heldBack_;
      return std::nullopt;
    }
    const int held = key == key_ ? heldBack_ : 0;
    key_ = key;
    loggedMono_ = nowMono;
    heldBack_ = 0;
    return held;
  }

 private:
  int64_t intervalMs_;
  std::string key_;
  int64_t loggedMono_ = 0;
  int heldBack_ = 0;
};

}  // namespace edgelink::agent
