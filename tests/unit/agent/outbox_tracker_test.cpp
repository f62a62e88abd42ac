// The outbox's bookkeeping (decisions/outbox_tracker.h), its actions performed here against a
// fake producer as the ActionRunner would: a refused produce comes back as onRefused.

#include "decisions/outbox_tracker.h"

#include <catch2/catch.hpp>

#include "core/clock.h"
#include "decisions/repeat_filter.h"
#include "shell/message_sink.h"

using namespace edgelink;
using namespace edgelink::agent;

namespace {

// The producer's place: records what is produced; refuses while `refuse` is set.
struct FakeSink : MessageSink {
  std::vector<std::pair<std::string, uint64_t>> produced;
  bool refuse = false;
  VoidResult produce(std::string_view value, uint64_t opaque) override {
    if (refuse) {
      return Error(Status::kUnavailable, "queue full");
    }
    produced.emplace_back(std::string(value), opaque);
    return {};
  }
};

struct Fixture {
  ManualClock clock;
  Outbox outbox{3};
  FakeSink sink;
  int saves = 0;
  int dirty = 0;
  std::vector<size_t> outboxSizeAtSave;
  OutboxTracker tracker{outbox};

  /// The tracker's actions, performed in order.
  void perform(const Actions& actions) {
    for (const Action& a : actions) {
      if (std::holds_alternative<action::PersistState>(a)) {
        ++saves;
        outboxSizeAtSave.push_back(outbox.size());
      } else if (const auto* send = std::get_if<action::Send>(&a)) {
        if (auto r = sink.produce(send->value, send->opaque); !r) {
          tracker.onRefused(send->opaque, r.error().describe(), clock.monoMs());
        }
      }
    }
  }

  /// The tracker with its actions performed at once.
  struct Sender {
    Fixture& f;
    void queue(const std::string& what, const std::string& value, int32_t partition = -1,
               int64_t offset = -1) {
      Actions out;
      f.tracker.queue(out, what, value, partition, offset);
      f.perform(out);
    }
    void resendAll() {
      Actions out;
      f.tracker.resendAll(out);
      f.perform(out);
    }
    void retryIfDue() {
      Actions out;
      f.tracker.retryIfDue(out, f.clock.monoMs());
      f.perform(out);
    }
    bool sendPerishable(const std::string& value) {
      Actions out;
      bool sent = f.tracker.sendPerishable(out, value);
      f.perform(out);
      return sent;
    }
    std::optional<Released> onDelivery(const Delivery& d) {
      bool changed = false;
      auto released = f.tracker.onDelivery(d, f.clock.monoMs(), changed);
      f.dirty += changed ? 1 : 0;
      return released;
    }
    std::optional<int64_t> retryDueMono() const { return f.tracker.retryDueMono(); }
  } sender{*this};
};

Delivery delivered(uint64_t opaque) {
  return Delivery{opaque, Delivery::Outcome::kDelivered, {}, "t[0] offset 1"};
}

}  // namespace

TEST_CASE("an answer is stored and persisted before it is sent, and released once delivered",
          "[agent][outbox]") {
  Fixture f;
  f.sender.queue("response 1 (ping)", "{r1}", 0, 41);
  REQUIRE(f.saves == 1);
  CHECK(f.outboxSizeAtSave == std::vector<size_t>{1});  // durable before the produce
  REQUIRE(f.sink.produced.size() == 1);
  const uint64_t seq = f.sink.produced[0].second;
  CHECK(seq != 0);
  auto released = f.sender.onDelivery(delivered(seq));
  REQUIRE(released);
  CHECK(released->partition == 0);
  CHECK(released->offset == 41);
  CHECK(f.outbox.empty());
  CHECK(f.dirty == 1);
  // An event releases nothing.
  f.sender.queue("event heartbeat", "{e}");
  CHECK_FALSE(f.sender.onDelivery(delivered(f.sink.produced.back().second)));
}

TEST_CASE("a retriable failure is sent again a second later, a permanent one is dropped",
          "[agent][outbox]") {
  Fixture f;
  f.sender.queue("response 1 (ping)", "{r1}", 0, 1);
  f.sender.queue("response 2 (ping)", "{r2}", 0, 2);
  const uint64_t first = f.sink.produced[0].second;
  const uint64_t second = f.sink.produced[1].second;
  CHECK_FALSE(f.sender.onDelivery(
      Delivery{first, Delivery::Outcome::kRetriable, "Local: Message timed out", {}}));
  REQUIRE(f.sender.retryDueMono());
  CHECK(*f.sender.retryDueMono() == f.clock.monoMs() + OutboxTracker::kRetryDelayMs);
  f.clock.advanceMs(999);
  f.sender.retryIfDue();
  CHECK(f.sink.produced.size() == 2);
  f.clock.advanceMs(1);
  f.sender.retryIfDue();
  REQUIRE(f.sink.produced.size() == 3);
  CHECK(f.sink.produced[2] == std::make_pair(std::string("{r1}"), first));
  CHECK_FALSE(f.sender.retryDueMono());

  auto released = f.sender.onDelivery(
      Delivery{second, Delivery::Outcome::kPermanent, "Broker: Message size too large", {}});
  REQUIRE(released);  // never deliverable: dropped, and the request's position moves on
  CHECK(released->offset == 2);
  CHECK(f.outbox.size() == 1);
}

TEST_CASE(
    "a message the producer cannot queue is retried, and nothing is sent twice while in flight",
    "[agent][outbox]") {
  Fixture f;
  f.sink.refuse = true;
  f.sender.queue("event agent_started", "{e}");
  CHECK(f.sink.produced.empty());
  CHECK(f.outbox.size() == 1);  // kept
  REQUIRE(f.sender.retryDueMono());
  f.sink.refuse = false;
  f.clock.advanceMs(OutboxTracker::kRetryDelayMs);
  f.sender.retryIfDue();
  CHECK(f.sink.produced.size() == 1);
  f.sender.resendAll();  // already in flight
  CHECK(f.sink.produced.size() == 1);
}

TEST_CASE("a full outbox drops its oldest event to take an answer", "[agent][outbox]") {
  Fixture f;
  f.sink.refuse = true;
  f.sender.queue("event a", "{a}");
  f.sender.queue("response 1 (ping)", "{r1}", 0, 1);
  f.sender.queue("event b", "{b}");
  f.sender.queue("response 2 (ping)", "{r2}", 0, 2);
  REQUIRE(f.outbox.size() == 3);
  std::vector<std::string> whats;
  for (const auto& [seq, e] : f.outbox.entries()) {
    whats.push_back(e.what);
  }
  CHECK(whats == std::vector<std::string>{"response 1 (ping)", "event b", "response 2 (ping)"});
}

TEST_CASE("heartbeats are perishable: never stored, one at a time", "[agent][outbox]") {
  Fixture f;
  CHECK(f.sender.sendPerishable("{hb1}"));
  CHECK_FALSE(f.sender.sendPerishable("{hb2}"));  // the first is not delivered yet
  CHECK(f.outbox.empty());
  CHECK(f.saves == 0);
  REQUIRE(f.sink.produced.size() == 1);
  CHECK_FALSE(f.sender.onDelivery(
      Delivery{f.sink.produced[0].second, Delivery::Outcome::kRetriable, "timed out", {}}));
  CHECK_FALSE(f.sender.retryDueMono());  // not retried
  CHECK(f.sender.sendPerishable("{hb3}"));
}

TEST_CASE("a warning repeated every retry is let through once per interval, with a count",
          "[agent][outbox]") {
  RepeatFilter f(60000);
  CHECK(f.admit("TOPIC_AUTHORIZATION_FAILED", 0) == std::optional<int>(0));
  for (int64_t t = 1000; t < 60000; t += 1000) {
    CHECK_FALSE(f.admit("TOPIC_AUTHORIZATION_FAILED", t));
  }
  // Another failure is news: said at once.
  CHECK(f.admit("queue full", 59500) == std::optional<int>(0));
  CHECK_FALSE(f.admit("queue full", 60000));
  // The first again: news too (it was not the last one said).
  CHECK(f.admit("TOPIC_AUTHORIZATION_FAILED", 60500) == std::optional<int>(0));
  CHECK_FALSE(f.admit("TOPIC_AUTHORIZATION_FAILED", 61500));
  CHECK_FALSE(f.admit("TOPIC_AUTHORIZATION_FAILED", 62500));
  // A minute on: said again, with how many were held back.
  CHECK(f.admit("TOPIC_AUTHORIZATION_FAILED", 120500) == std::optional<int>(2));
}
