// AgentCore and a move to another Kafka cluster, pure: a remote config naming other
// kafka-brokers asks the shell to move (MoveCluster, nothing applied yet); the shell's report
// then applies it (the old cluster's positions dropped, the outbox sent again, config_applied,
// an early heartbeat and get_config on the new cluster) or refuses it (config_refused naming
// both clusters, the old config kept). No seams: actions are read as returned.

#include <algorithm>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "agent_core.h"
#include "envelope/json_util.h"
#include "unit_util.h"

using namespace edgelink;
using namespace edgelink::agent;

namespace {

using test::sent;

template <typename T>
const T* find(const Actions& actions) {
  for (const Action& a : actions) {
    if (const auto* x = std::get_if<T>(&a)) {
      return x;
    }
  }
  return nullptr;
}

std::optional<envelope::Envelope> message(const Actions& actions, envelope::Kind kind,
                                          const std::string& type) {
  for (auto& e : sent(actions)) {
    if (e.kind == kind && e.type == type) {
      return std::move(e);
    }
  }
  return std::nullopt;
}

struct Board {
  testing::TempDir dir;
  AgentOptions own = makeOwn(dir);
  AgentConfig config = validate(own).config;
  ManualClock clock;
  AgentCore core{config, clock};
  int64_t offset = 40;

  static AgentOptions makeOwn(const testing::TempDir& dir) {
    AgentOptions o = test::validOptions(dir);
    o.kafkaCluster = "a";
    o.clusterMoveTimeout = 90;
    o.configRefresh = 3600;
    o.configRequestTimeout = 10;
    return o;
  }
  Board() { core.setRemoteConfig(own, std::nullopt); }
  envelope::Envelope begin() {
    auto asked = message(core.begin(AgentState{}, StartupFacts{"board", 7}),
                         envelope::Kind::kRequest, "get_config");
    REQUIRE(asked);
    return std::move(*asked);
  }
  Actions onMessage(const std::string& json) {
    return core.onMessage(Inbound{json, 0, offset++, clock.wallMs()});
  }
  Actions answer(const envelope::Envelope& request, int64_t version, const std::string& values) {
    return onMessage(R"({"response":{"id":")" + request.id.str() +
                     R"(","sender":"cloud_dispatcher","timestamp":)" +
                     std::to_string(clock.wallMs()) +
                     R"(,"type":"get_config","overall_status_code":"200","body":{"version":)" +
                     std::to_string(version) + R"(,"config":)" + values + "}}}");
  }
  /// A ping read at the current offset, answered; its response left undelivered.
  void pingUndelivered() {
    Actions out = onMessage(R"({"request":{"id":"p1","sender":"cloud_dispatcher","timestamp":)" +
                            std::to_string(clock.wallMs()) + R"(,"type":"ping","body":{}}})");
    REQUIRE(message(out, envelope::Kind::kResponse, "ping"));
  }
};

const char* const kMoveToB = R"({"kafka-brokers":"kafka-b:9092","kafka-cluster":"b"})";

}  // namespace

TEST_CASE("move: other kafka-brokers asks the shell to move, nothing applied yet",
          "[agent][remote][move]") {
  Board b;
  auto asked = b.begin();
  Actions out = b.answer(asked, 5, kMoveToB);
  const auto* move = find<action::MoveCluster>(out);
  REQUIRE(move);
  CHECK(move->timeoutMs == 90000);
  CHECK(move->config.options.kafkaBrokers == "kafka-b:9092");
  CHECK(move->config.options.kafkaCluster == "b");
  CHECK(move->config.producerConfig.get("bootstrap.servers", "") == "kafka-b:9092");
  CHECK(move->config.consumerConfig.get("bootstrap.servers", "") == "kafka-b:9092");
  CHECK(find<action::ApplyConfig>(out) == nullptr);
  CHECK_FALSE(message(out, envelope::Kind::kEvent, "config_applied"));
  CHECK(b.core.moving());
  CHECK(b.core.configVersion() == 0);
  CHECK(b.core.config().options.kafkaBrokers == "127.0.0.1:9092");

  // Another answer while moving (config_changed, a refresh) changes nothing.
  Actions again = b.onMessage(
      R"({"event":{"id":"e1","sender":"cloud_dispatcher","timestamp":1,"type":"config_changed"}})");
  auto asked2 = message(again, envelope::Kind::kRequest, "get_config");
  REQUIRE(asked2);
  Actions during = b.answer(*asked2, 6, R"({"kafka-brokers":"kafka-c:9092"})");
  CHECK(find<action::MoveCluster>(during) == nullptr);
  CHECK(find<action::ApplyConfig>(during) == nullptr);
}

TEST_CASE("move: done, the config is applied on the new cluster", "[agent][remote][move]") {
  Board b;
  auto asked = b.begin();
  b.pingUndelivered();
  REQUIRE_FALSE(b.core.state().outbox.empty());
  REQUIRE(find<action::MoveCluster>(b.answer(asked, 5, kMoveToB)));

  Actions out = b.core.onClusterMove({});
  CHECK_FALSE(b.core.moving());
  const auto* apply = find<action::ApplyConfig>(out);
  REQUIRE(apply);
  CHECK(apply->remote.version == 5);
  CHECK(apply->config.options.kafkaBrokers == "kafka-b:9092");
  CHECK(b.core.configVersion() == 5);
  CHECK(b.core.config().options.kafkaCluster == "b");
  // The state (positions dropped) is written before remote-config.json names the new cluster.
  auto persist = std::find_if(out.begin(), out.end(), [](const Action& a) {
    return std::holds_alternative<action::PersistState>(a);
  });
  auto applyAt = std::find_if(out.begin(), out.end(), [](const Action& a) {
    return std::holds_alternative<action::ApplyConfig>(a);
  });
  CHECK(persist < applyAt);
  CHECK(b.core.state().positions.empty());
  CHECK(b.core.nextOffset(0) == -1);
  // The undelivered ping answer is sent again (on the new producer), no longer tied to the old
  // cluster's offset; config_applied and a new get_config go out there too.
  auto resent = message(out, envelope::Kind::kResponse, "ping");
  REQUIRE(resent);
  CHECK(resent->id.str() == "p1");
  for (const auto& entry : b.core.state().outbox.entries()) {
    CHECK(entry.second.offset == -1);
  }
  auto applied = message(out, envelope::Kind::kEvent, "config_applied");
  REQUIRE(applied);
  CHECK(json::member(applied->body(), "version")->GetInt64() == 5);
  CHECK(message(out, envelope::Kind::kRequest, "get_config"));
  // A heartbeat is due at once: the new cluster's dispatcher hears of the board.
  CHECK(b.core.nextDueMono() <= b.clock.monoMs());
  CHECK(message(b.core.onTimers(), envelope::Kind::kEvent, "heartbeat"));
}

TEST_CASE("move: failed, the board stays and says why once", "[agent][remote][move]") {
  Board b;
  auto asked = b.begin();
  REQUIRE(find<action::MoveCluster>(b.answer(asked, 5, kMoveToB)));
  Actions out = b.core.onClusterMove(
      Error(Status::kUnavailable, "cannot read topic edge.x on the new cluster within 90 s"));
  CHECK_FALSE(b.core.moving());
  CHECK(find<action::ApplyConfig>(out) == nullptr);
  auto refused = message(out, envelope::Kind::kEvent, "config_refused");
  REQUIRE(refused);
  CHECK(json::member(refused->body(), "version")->GetInt64() == 5);
  const std::string reason = json::member(refused->body(), "reason")->GetString();
  CHECK(reason ==
        "kafka-brokers: cannot read topic edge.x on the new cluster within 90 s; staying on "
        "Kafka cluster 'a' (127.0.0.1:9092)");
  CHECK(b.core.configVersion() == 0);
  CHECK(b.core.config().options.kafkaBrokers == "127.0.0.1:9092");

  // The next refresh brings the same config: the move is tried again; failing again is not
  // reported twice.
  std::optional<envelope::Envelope> asked2;
  for (int i = 0; i < 200 && !asked2; ++i) {
    b.clock.advanceMs(std::max<int64_t>(1, b.core.nextDueMono() - b.clock.monoMs()));
    asked2 = message(b.core.onTimers(), envelope::Kind::kRequest, "get_config");
  }
  REQUIRE(asked2);
  CHECK(b.clock.monoMs() >= 3600 * 1000);
  REQUIRE(find<action::MoveCluster>(b.answer(*asked2, 5, kMoveToB)));
  Actions again = b.core.onClusterMove(Error(Status::kUnavailable, "still down"));
  CHECK_FALSE(message(again, envelope::Kind::kEvent, "config_refused"));
  // A report with no move under way changes nothing.
  CHECK(b.core.onClusterMove({}).empty());
}

TEST_CASE("move: a config naming only kafka-cluster is no move", "[agent][remote][move]") {
  Board b;
  auto asked = b.begin();
  Actions out = b.answer(asked, 3, R"({"kafka-cluster":"renamed"})");
  CHECK(find<action::MoveCluster>(out) == nullptr);
  REQUIRE(find<action::ApplyConfig>(out));
  CHECK(b.core.config().options.kafkaCluster == "renamed");
}
