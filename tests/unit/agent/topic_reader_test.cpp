// How the agent reads its topic (shell/topic_reader.h) against a fake MessageSource and the real
// AgentCore with fakes: the start plan and assignment, turns of messages, consumer errors, and
// moving past a record batch too large to read.

#include "topic_reader.h"

#include <catch2/catch.hpp>
#include <deque>

#include "core_fakes.h"

using namespace edgelink;
using namespace edgelink::agent;

namespace {

// The topic as a script: answers to the lookups, messages to poll, an oversize report.
struct FakeSource : MessageSource {
  Result<int> partitions = 1;
  std::map<int32_t, Result<std::optional<int64_t>>> byTime;  ///< absent: no such record
  Result<std::pair<int64_t, int64_t>> marks = std::pair<int64_t, int64_t>{0, 0};
  std::deque<std::string> payloads;  ///< owns the queued payloads
  std::deque<Polled> queue;
  std::optional<OversizeFetch> oversize;
  bool reopenFails = false;

  int lookups = 0;
  int watermarkAsks = 0;
  int reopens = 0;
  int polls = 0;
  std::vector<std::vector<std::pair<int32_t, int64_t>>> assigns;

  void message(int32_t partition, int64_t offset, std::string payload, int64_t ts) {
    payloads.push_back(std::move(payload));
    Polled p;
    p.message = Inbound{payloads.back(), partition, offset, ts};
    queue.push_back(p);
  }
  void error(const std::string& text) {
    Polled p;
    p.kind = Polled::Kind::kError;
    p.error = text;
    queue.push_back(p);
  }

  Result<int> partitionCount(int) override { return partitions; }
  Result<std::optional<int64_t>> offsetForTime(int32_t partition, int64_t, int) override {
    ++lookups;
    auto it = byTime.find(partition);
    return it == byTime.end() ? Result<std::optional<int64_t>>(std::optional<int64_t>())
                              : it->second;
  }
  Result<std::pair<int64_t, int64_t>> watermarks(int32_t, int) override {
    ++watermarkAsks;
    return marks;
  }
  VoidResult assign(const std::vector<AssignedPartition>& parts) override {
    std::vector<std::pair<int32_t, int64_t>> a;
    for (const auto& p : parts) {
      a.emplace_back(p.partition, p.offset);
    }
    assigns.push_back(a);
    return {};
  }
  std::optional<Polled> poll() override {
    ++polls;
    if (queue.empty()) {
      return std::nullopt;
    }
    Polled p = queue.front();
    queue.pop_front();
    return p;
  }
  std::optional<OversizeFetch> takeOversizeFetch() override {
    auto f = oversize;
    oversize.reset();
    return f;
  }
  VoidResult reopen() override {
    ++reopens;
    if (reopenFails) {
      return Error(Status::kInternal, "no more consumers");
    }
    return {};
  }
  void close(int) override {}
};

using Assigned = std::vector<std::pair<int32_t, int64_t>>;

struct Rig {
  test::CoreRig core;
  FakeSource source;
  TopicReader reader{source, *core.core, *core.runner, core.config.topic, 600};

  Rig() {
    core.begin();
    core.advance(0);
    core.fresh();
  }
  /// Plans from `stored` and assigns; requires both to succeed.
  void start(const std::map<int32_t, int64_t>& stored = {}) {
    bool warned = false;
    auto plan = reader.plan(stored, core.clock.wallMs(), warned);
    REQUIRE(plan);
    REQUIRE(reader.assign(*plan));
  }
  void ping(int64_t offset, int64_t ageMs = 0) {
    const int64_t ts = core.clock.wallMs() - ageMs;
    source.message(0, offset, test::requestBytes(offset, "ping", ts), ts);
  }
};

}  // namespace

TEST_CASE(
    "reader: a first start reads from the first request younger than max age, and skips "
    "older ones silently",
    "[agent][reader]") {
  Rig r;
  r.source.byTime.insert_or_assign(0, TimeLookup(std::optional<int64_t>(3)));
  r.start();
  CHECK(r.source.lookups == 1);
  CHECK(r.source.assigns == std::vector<Assigned>{{{0, 3}}});
  CHECK(r.reader.assigned());
  CHECK(r.reader.backlog());
  r.ping(3, 700'000);  // older than max age: no answer (the time lookup is approximate)
  r.ping(4);
  r.reader.consume(false);
  CHECK_FALSE(r.reader.backlog());
  auto out = r.core.fresh();
  REQUIRE(test::kinds(out) == std::vector<std::string>{"ping 200"});
  CHECK(out[0].id.str() == "4");
}

TEST_CASE(
    "reader: a stored position is used without a lookup, and with none found, from the "
    "beginning",
    "[agent][reader]") {
  {
    Rig r;
    r.start({{0, 7}});
    CHECK(r.source.lookups == 0);
    CHECK(r.source.assigns == std::vector<Assigned>{{{0, 7}}});
  }
  {
    Rig r;
    r.start();
    CHECK(r.source.lookups == 1);
    CHECK(r.source.assigns == std::vector<Assigned>{{{0, kFromBeginning}}});
  }
}

TEST_CASE("reader: no plan while the topic or a lookup is not answered", "[agent][reader]") {
  Rig r;
  bool warned = false;
  r.source.partitions = Error(Status::kNotFound, "unknown topic");
  CHECK_FALSE(r.reader.plan({}, r.core.clock.wallMs(), warned));
  CHECK(warned);
  r.source.partitions = 2;
  r.source.byTime.insert_or_assign(0, TimeLookup(Error(Status::kUnavailable, "broker down")));
  CHECK_FALSE(r.reader.plan({}, r.core.clock.wallMs(), warned));
  CHECK(r.source.lookups == 1);  // stopped at the first failure
  r.source.byTime.insert_or_assign(0, TimeLookup(std::optional<int64_t>(5)));
  auto plan = r.reader.plan({}, r.core.clock.wallMs(), warned);
  REQUIRE(plan);
  CHECK(plan->partitions.size() == 2);
  CHECK_FALSE(r.reader.assigned());  // nothing is read before the plan is assigned
  r.ping(0);
  r.reader.consume(false);
  CHECK(r.source.polls == 0);
}

TEST_CASE("reader: a turn takes at most 16 messages, and none while the core is busy",
          "[agent][reader]") {
  Rig r;
  r.start({{0, 0}});
  for (int64_t i = 0; i < 20; ++i) {
    r.ping(i);
  }
  r.reader.consume(false);
  CHECK(r.core.fresh().size() == 16);
  CHECK(r.reader.backlog());
  r.reader.consume(false);
  CHECK(r.core.fresh().size() == 4);
  CHECK_FALSE(r.reader.backlog());

  const int64_t ts = r.core.clock.wallMs();
  r.source.message(0, 20, test::requestBytes(20, "system_info", ts), ts);
  r.ping(21);
  r.reader.consume(false);
  CHECK(r.core.core->busy());
  CHECK(r.reader.backlog());
  CHECK(r.source.queue.size() == 1);  // the ping waits
  r.reader.consume(false);
  CHECK(r.source.queue.size() == 1);
  r.core.advance(250);
  CHECK(test::kinds(r.core.fresh()) == std::vector<std::string>{"system_info 200"});
  r.reader.consume(true);  // shutting down: nothing more is taken
  CHECK(r.source.queue.size() == 1);
  r.reader.consume(false);
  CHECK(test::kinds(r.core.fresh()) == std::vector<std::string>{"ping 200"});
}

TEST_CASE("reader: consumer errors and the end of a partition are not messages",
          "[agent][reader]") {
  Rig r;
  r.start({{0, 0}});
  r.source.error("Broker: transport failure");
  r.source.error("Broker: transport failure");  // logged once
  Polled eof;
  eof.kind = Polled::Kind::kEndOfPartition;
  r.source.queue.push_back(eof);
  r.ping(0);
  r.reader.consume(false);
  CHECK(test::kinds(r.core.fresh()) == std::vector<std::string>{"ping 200"});
  CHECK(r.core.core->nextOffset(0) == 1);
}

TEST_CASE("reader: an unreadable batch on the only partition is moved past with a new consumer",
          "[agent][reader][oversize]") {
  Rig r;
  r.start({{0, 10}});
  r.ping(10);
  r.ping(11);
  r.reader.consume(false);
  CHECK(r.core.fresh().size() == 2);
  r.core.deliverAll();
  CHECK(r.core.core->state().positions.at(0) == 12);
  r.source.oversize = OversizeFetch{2'000'000, 1'000'000};
  REQUIRE(r.reader.recoverOversize());
  CHECK(r.source.watermarkAsks == 0);
  CHECK(r.source.reopens == 1);
  CHECK(r.source.assigns.back() == Assigned{{0, 13}});  // past the batch at 12
  CHECK(r.core.core->nextOffset(0) == 13);
  CHECK(r.core.core->state().positions.at(0) == 13);
  CHECK(r.core.fresh().empty());  // not read, not answered
  // Nothing reported: nothing done.
  REQUIRE(r.reader.recoverOversize());
  CHECK(r.source.reopens == 1);
}

TEST_CASE("reader: an unreadable first batch read from the beginning is at the low watermark",
          "[agent][reader][oversize]") {
  Rig r;
  r.start();  // no stored position, no record younger than max age: from the beginning
  r.source.marks = Error(Status::kUnavailable, "broker down");
  r.source.oversize = OversizeFetch{2'000'000, 1'000'000};
  REQUIRE(r.reader.recoverOversize());  // tried again at the next report
  CHECK(r.source.watermarkAsks == 1);
  CHECK(r.source.reopens == 0);
  r.source.marks = std::pair<int64_t, int64_t>{40, 50};
  r.source.oversize = OversizeFetch{2'000'000, 1'000'000};
  REQUIRE(r.reader.recoverOversize());
  CHECK(r.source.reopens == 1);
  CHECK(r.source.assigns.back() == Assigned{{0, 41}});
  CHECK(r.core.core->nextOffset(0) == 41);
}

TEST_CASE(
    "reader: with several partitions an unreadable batch is left where it is, and a consumer "
    "that cannot be re-created is an error",
    "[agent][reader][oversize]") {
  {
    Rig r;
    r.source.partitions = 2;
    r.start({{0, 1}, {1, 2}});
    r.source.oversize = OversizeFetch{2'000'000, 1'000'000};
    REQUIRE(r.reader.recoverOversize());
    CHECK(r.source.reopens == 0);
    CHECK(r.source.assigns.size() == 1);
  }
  {
    Rig r;
    r.start({{0, 5}});
    r.source.reopenFails = true;
    r.source.oversize = OversizeFetch{2'000'000, 1'000'000};
    CHECK_FALSE(r.reader.recoverOversize());
    CHECK(r.core.core->nextOffset(0) == 6);  // the position moved past it all the same
  }
}
