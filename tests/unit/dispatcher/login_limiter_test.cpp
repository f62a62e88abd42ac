// The login limiter: failures per user and per address in a sliding window, the wait it asks
// for, a success forgetting the user's failures, memory bounded under a spray of addresses.
#include "web/login_limiter.h"

#include <catch2/catch.hpp>
#include <string>
#include <thread>
#include <vector>

using namespace edgelink::dispatcher::web;

namespace {

constexpr int64_t kMinute = 60 * 1000;
constexpr int64_t kT0 = 1'800'000'000'000;  // any epoch ms

LoginLimits smallLimits() {
  LoginLimits l;
  l.maxFailuresPerUser = 3;
  l.maxFailuresPerAddress = 5;
  l.windowMs = 10 * kMinute;
  l.maxKeys = 100;
  return l;
}

}  // namespace

TEST_CASE("the limits' defaults are 5 per user and 20 per address in 15 minutes",
          "[dispatcher][web][limiter]") {
  LoginLimits d;
  CHECK(d.maxFailuresPerUser == 5);
  CHECK(d.maxFailuresPerAddress == 20);
  CHECK(d.windowMs == 15 * kMinute);
  LoginLimiter limiter;
  for (int i = 0; i < 4; ++i) {
    limiter.recordFailure("10.0.0.1", "alice", kT0 + i);
  }
  CHECK_FALSE(limiter.allow("10.0.0.1", "alice", kT0 + 10));
  limiter.recordFailure("10.0.0.1", "alice", kT0 + 10);
  CHECK(limiter.allow("10.0.0.1", "alice", kT0 + 11));
}

TEST_CASE("a user's failures past the limit refuse logins until the oldest leaves the window",
          "[dispatcher][web][limiter]") {
  LoginLimiter limiter(smallLimits());
  CHECK_FALSE(limiter.allow("10.0.0.1", "alice", kT0));
  limiter.recordFailure("10.0.0.1", "alice", kT0);
  limiter.recordFailure("10.0.0.2", "alice", kT0 + kMinute);
  CHECK_FALSE(limiter.allow("10.0.0.3", "alice", kT0 + kMinute));
  limiter.recordFailure("10.0.0.3", "alice", kT0 + 2 * kMinute);

  // Refused from any address, with the time until the first failure is 10 minutes old.
  auto wait = limiter.allow("10.0.0.9", "alice", kT0 + 2 * kMinute);
  REQUIRE(wait);
  CHECK(*wait == 8 * 60);
  auto later = limiter.allow("10.0.0.9", "alice", kT0 + 9 * kMinute + 30500);
  REQUIRE(later);
  CHECK(*later == 30);  // 29.5 s rounds up
  // Another user from the same addresses is not affected.
  CHECK_FALSE(limiter.allow("10.0.0.1", "bob", kT0 + 2 * kMinute));
  // Sliding: once the first failure is out of the window, one more try is allowed ...
  CHECK_FALSE(limiter.allow("10.0.0.9", "alice", kT0 + 10 * kMinute));
  // ... and failing it refuses again until the second one leaves.
  limiter.recordFailure("10.0.0.9", "alice", kT0 + 10 * kMinute);
  auto again = limiter.allow("10.0.0.9", "alice", kT0 + 10 * kMinute);
  REQUIRE(again);
  CHECK(*again == 60);
}

TEST_CASE("an address's failures past its limit refuse every user from it",
          "[dispatcher][web][limiter]") {
  LoginLimiter limiter(smallLimits());
  for (int i = 0; i < 5; ++i) {
    limiter.recordFailure("10.0.0.1", "user" + std::to_string(i), kT0 + i * 1000);
  }
  auto wait = limiter.allow("10.0.0.1", "someone", kT0 + 5000);
  REQUIRE(wait);
  CHECK(*wait == 10 * 60 - 5);
  CHECK_FALSE(limiter.allow("10.0.0.2", "someone", kT0 + 5000));
  // A success does not clear the address: only the user's count.
  limiter.recordSuccess("10.0.0.1", "user0", kT0 + 6000);
  CHECK(limiter.allow("10.0.0.1", "user0", kT0 + 6000));
  // Once the first failure leaves the window, the address may try again.
  CHECK_FALSE(limiter.allow("10.0.0.1", "someone", kT0 + 10 * kMinute));
}

TEST_CASE("a successful login clears the user's failures", "[dispatcher][web][limiter]") {
  LoginLimiter limiter(smallLimits());
  limiter.recordFailure("10.0.0.1", "alice", kT0);
  limiter.recordFailure("10.0.0.2", "alice", kT0 + 1);
  limiter.recordSuccess("10.0.0.3", "alice", kT0 + 2);
  limiter.recordFailure("10.0.0.4", "alice", kT0 + 3);
  limiter.recordFailure("10.0.0.5", "alice", kT0 + 4);
  CHECK_FALSE(limiter.allow("10.0.0.6", "alice", kT0 + 5));  // 2 since the success
  limiter.recordFailure("10.0.0.6", "alice", kT0 + 5);
  CHECK(limiter.allow("10.0.0.7", "alice", kT0 + 6));
}

TEST_CASE("a spray of distinct addresses and names keeps the limiter's memory bounded",
          "[dispatcher][web][limiter]") {
  LoginLimiter limiter(smallLimits());  // 100 keys per table
  // A user pushed to its limit, then 10000 other addresses and names failing once each.
  for (int i = 0; i < 3; ++i) {
    limiter.recordFailure("10.1.0.1", "alice", kT0 + i);
  }
  REQUIRE(limiter.allow("10.1.0.1", "alice", kT0 + 3));
  for (int i = 0; i < 10000; ++i) {
    limiter.recordFailure("192.0.2." + std::to_string(i), "n" + std::to_string(i), kT0 + 10 + i);
    CHECK(limiter.trackedKeys() <= 200);
  }
  CHECK(limiter.trackedKeys() == 200);
  // The oldest keys went first: alice's failures were evicted, the newest are still counted.
  CHECK_FALSE(limiter.allow("10.1.0.1", "alice", kT0 + 20000));
  limiter.recordFailure("192.0.2.9999", "n9999", kT0 + 20001);
  limiter.recordFailure("192.0.2.9999", "n9999", kT0 + 20002);
  CHECK(limiter.allow("192.0.2.9999", "n9999", kT0 + 20003));
  // Long junk names cost no more than 64 bytes of key each, and count as the same key.
  limiter.recordFailure("10.2.0.1", std::string(100000, 'x'), kT0 + 30000);
  limiter.recordFailure("10.2.0.2", std::string(100000, 'x') + "y", kT0 + 30001);
  limiter.recordFailure("10.2.0.3", std::string(70, 'x'), kT0 + 30002);
  CHECK(limiter.allow("10.2.0.4", std::string(64, 'x'), kT0 + 30003));
  CHECK(limiter.trackedKeys() == 200);
}

TEST_CASE("keys whose failures all left the window are dropped", "[dispatcher][web][limiter]") {
  LoginLimiter limiter(smallLimits());
  limiter.recordFailure("10.0.0.1", "alice", kT0);
  CHECK(limiter.trackedKeys() == 2);
  CHECK_FALSE(limiter.allow("10.0.0.1", "alice", kT0 + 10 * kMinute));
  CHECK(limiter.trackedKeys() == 0);
}

TEST_CASE("the limiter is safe to use from several threads", "[dispatcher][web][limiter]") {
  LoginLimits l = smallLimits();
  l.maxFailuresPerUser = 1000000;
  l.maxFailuresPerAddress = 1000000;
  LoginLimiter limiter(l);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&limiter, t] {
      for (int i = 0; i < 2000; ++i) {
        limiter.recordFailure("10.0.0." + std::to_string(t), "u" + std::to_string(i % 50), kT0 + i);
        (void)limiter.allow("10.0.0." + std::to_string(t), "u0", kT0 + i);
      }
    });
  }
  for (auto& th : threads) {
    th.join();
  }
  CHECK(limiter.trackedKeys() == 54);
}
