#pragma once

// Failed logins, counted per remote address and per user name in a sliding window (pure: the
// time comes in as epoch milliseconds). Past a limit, login is refused until the oldest failure
// in the window leaves it, and the answer says when (HTTP 429, Retry-After). Memory is bounded:
// each table holds at most `maxKeys` keys, the least recently touched evicted first, so a spray
// of distinct addresses or names cannot grow it. Thread-safe (one mutex).

#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace edgelink::dispatcher::web {

struct LoginLimits {
  int maxFailuresPerUser = 5;      ///< per user name in the window
  int maxFailuresPerAddress = 20;  ///< per remote address in the window
  int64_t windowMs = 15 * 60 * 1000;
  size_t maxKeys = 10000;  ///< per table (users, addresses)
};

class LoginLimiter {
 public:
  explicit LoginLimiter(LoginLimits limits = {});

  /// nullopt when a login of `user` from `addr` may be tried now; else the seconds to wait
  /// (at least 1).
  std::optional<int64_t> allow(const std::string& addr, const std::string& user, int64_t nowMs);
  /// A failed login (wrong password or unknown user): counts for the address and the name.
  void recordFailure(const std::string& addr, const std::string& user, int64_t nowMs);
  /// A successful login: the user's failures are forgotten (the address's stay).
  void recordSuccess(const std::string& addr, const std::string& user, int64_t nowMs);

  /// Keys held (users + addresses), for tests and metrics.
  size_t trackedKeys() const;

 private:
  // Failure times of one key, oldest first, at most `limit` kept (older ones cannot matter).
  struct Entry {
    std::vector<int64_t> failures;
    std::list<std::string>::iterator lru;
  };
  class Table {
   public:
    Table(int limit, const LoginLimits& limits) : limit_(limit), limits_(limits) {}
    std::optional<int64_t> retryAfterMs(const std::string& key, int64_t nowMs);
    void fail(const std::string& key, int64_t nowMs);
    void forget(const std::string& key);
    size_t size() const { return entries_.size(); }

   private:
    void prune(Entry& e, int64_t nowMs) const;

    int limit_;
    const LoginLimits& limits_;
    std::unordered_map<std::string, Entry> entries_;
    std::list<std::string> lru_;  ///< most recently touched first
  };

  LoginLimits limits_;
  mutable std::mutex mutex_;
  Table users_;
  Table addresses_;
};

}  // namespace edgelink::dispatcher::web
