#include "web/login_limiter.h"

#include <algorithm>

namespace edgelink::dispatcher::web {
namespace {

// Keys longer than this are cut: a user name is at most 64 bytes, an address (IPv6) less; an
// attacker's long junk name must not cost more memory than that.
constexpr size_t kMaxKeyBytes = 64;

std::string keyOf(const std::string& s) {
  return s.size() <= kMaxKeyBytes ? s : s.substr(0, kMaxKeyBytes);
}

}  // namespace

LoginLimiter::LoginLimiter(LoginLimits limits)
    : limits_(limits),
      users_(std::max(1, limits_.maxFailuresPerUser), limits_),
      addresses_(std::max(1, limits_.maxFailuresPerAddress), limits_) {}

void LoginLimiter::Table::prune(Entry& e, int64_t nowMs) const {
  auto firstLive = std::find_if(e.failures.begin(), e.failures.end(),
                                [&](int64_t at) { return at > nowMs - limits_.windowMs; });
  e.failures.erase(e.failures.begin(), firstLive);
}

std::optional<int64_t> LoginLimiter::Table::retryAfterMs(const std::string& key, int64_t nowMs) {
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    return std::nullopt;
  }
  prune(it->second, nowMs);
  if (it->second.failures.empty()) {
    lru_.erase(it->second.lru);
    entries_.erase(it);
    return std::nullopt;
  }
  if (static_cast<int>(it->second.failures.size()) < limit_) {
    return std::nullopt;
  }
  // Allowed again when the oldest failure counted leaves the window.
  return it->second.failures.front() + limits_.windowMs - nowMs;
}

void LoginLimiter::Table::fail(const std::string& key, int64_t nowMs) {
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    while (!entries_.empty() && entries_.size() >= std::max<size_t>(1, limits_.maxKeys)) {
      entries_.erase(lru_.back());
      lru_.pop_back();
    }
    lru_.push_front(key);
    it = entries_.emplace(key, Entry{{}, lru_.begin()}).first;
  } else {
    lru_.splice(lru_.begin(), lru_, it->second.lru);
  }
  Entry& e = it->second;
  prune(e, nowMs);
  e.failures.push_back(nowMs);
  if (static_cast<int>(e.failures.size()) > limit_) {
    e.failures.erase(e.failures.begin(), e.failures.end() - limit_);
  }
}

void LoginLimiter::Table::forget(const std::string& key) {
  if (auto it = entries_.find(key); it != entries_.end()) {
    lru_.erase(it->second.lru);
    entries_.erase(it);
  }
}

std::optional<int64_t> LoginLimiter::allow(const std::string& addr, const std::string& user,
                                           int64_t nowMs) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto byUser = users_.retryAfterMs(keyOf(user), nowMs);
  auto byAddr = addresses_.retryAfterMs(keyOf(addr), nowMs);
  if (!byUser && !byAddr) {
    return std::nullopt;
  }
  const int64_t ms = std::max(byUser.value_or(0), byAddr.value_or(0));
  return std::max<int64_t>(1, (ms + 999) / 1000);
}

void LoginLimiter::recordFailure(const std::string& addr, const std::string& user, int64_t nowMs) {
  std::lock_guard<std::mutex> lock(mutex_);
  users_.fail(keyOf(user), nowMs);
  addresses_.fail(keyOf(addr), nowMs);
}

void LoginLimiter::recordSuccess(const std::string& addr, const std::string& user, int64_t nowMs) {
  (void)addr;
  (void)nowMs;
  std::lock_guard<std::mutex> lock(mutex_);
  users_.forget(keyOf(user));
}

size_t LoginLimiter::trackedKeys() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return users_.size() + addresses_.size();
}

}  // namespace edgelink::dispatcher::web
