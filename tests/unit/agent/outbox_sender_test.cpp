#include "shell/outbox_sender.h"

#include <catch2/catch.hpp>

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
  OutboxSender sender{outbox, sink, clock,
                      [this] {
                        ++saves;
                        outboxSizeAtSave.push_back(outbox.size());
                      },
                      [this] { ++dirty; }};
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
  CHECK(*f.sender.retryDueMono() == f.clock.monoMs() + OutboxSender::kRetryDelayMs);
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
  f.clock.advanceMs(OutboxSender::kRetryDelayMs);
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
