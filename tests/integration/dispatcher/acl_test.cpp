// Kafka identities and ACLs on a real broker with the standard KRaft authorizer: `edges add`
// grants each board's SCRAM principal its own topic and nothing else, `edges remove` takes that
// away, and a board's credentials cannot reach another board's topic (the agent says so once and
// keeps running).
#include "kafka/acl.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <set>
#include <sstream>

#include "acl_test_util.h"
#include "agent_harness.h"
#include "cli/edge_acls.h"
#include "dispatcher_harness.h"
#include "harness/kafka_test_client.h"
#include "kafka/client.h"
#include "test_messages.h"

using namespace edgelink;
using namespace edgelink::testing;
using edgelink::dispatcher::edgeAcls;
using edgelink::dispatcher::Options;

namespace {

/// librdkafka properties for a board's own SCRAM user on the SASL_SSL listener.
std::vector<std::string> boardProperties(TestBroker& broker, const std::string& board) {
  auto sasl = broker.sasl();
  REQUIRE(sasl);
  sasl->user = board;
  for (const auto& [name, password] : kBoards) {
    if (name == board) {
      sasl->password = password;
    }
  }
  return saslProperties(*sasl);
}

/// The first error a consumer with `props` and `board`'s group (as its agent's) meets reading
/// `topic` from its start (partition count, then assign and poll); "" when it reads without one
/// for 5 s.
std::string readError(const std::string& bootstrap, const std::vector<std::string>& props,
                      const std::string& topic, const std::string& board) {
  kafka::Config c;
  c.set("bootstrap.servers", bootstrap);
  c.set("group.id", "edge-agent." + board);  // as the agent's; never joined
  c.set("enable.auto.commit", "false");
  c.set("log_level", "2");
  if (auto r = c.apply(props, "props"); !r) {
    return "bad properties: " + r.error().describe();
  }
  auto consumer = kafka::Consumer::create(c);
  if (!consumer) {
    return consumer.error().describe();
  }
  auto parts = (*consumer)->partitionCount(topic, 10000);
  if (!parts) {
    return parts.error().describe();
  }
  if (auto r = (*consumer)->assign({{topic, 0, kafka::kOffsetBeginning}}); !r) {
    return r.error().describe();
  }
  const int64_t deadline = nowMs() + 5000;
  while (nowMs() < deadline) {
    if (auto m = (*consumer)->poll(100); m && m->isError() && !m->isPartitionEof()) {
      return m->errorText();
    }
  }
  return "";
}

}  // namespace

TEST_CASE("edges add grants a board its own topic only, edges remove takes it away",
          "[dispatcher][kafka][acl]") {
  DispatcherHarness h(aclSetup({}));
  auto added = h.cli({"edges", "add", "board-a", "board-b", "--kafka-acls", "on"});
  INFO(added.out << added.err);
  REQUIRE(added.code == 0);
  CHECK_THAT(added.out, Catch::Contains("granted"));
  CHECK(describedAcls(h.broker(), h.topic("board-a")) == boardAcls("board-a", h.topic("board-a")));
  CHECK(describedAcls(h.broker(), h.topic("board-b")) == boardAcls("board-b", h.topic("board-b")));
  CHECK(describedAcls(h.broker(), "edge-agent.board-a", kafka::AclResource::kGroup) ==
        groupAcls("board-a"));
  // Again: nothing changes.
  auto again = h.cli({"edges", "add", "board-a"});
  INFO(again.out << again.err);
  CHECK(again.code == 0);
  CHECK_THAT(again.out, Catch::Contains("exists"));
  CHECK(describedAcls(h.broker(), h.topic("board-a")) == boardAcls("board-a", h.topic("board-a")));

  {
    // A board's credentials reach its own topic and no other.
    const auto a = boardProperties(h.broker(), "board-a");
    const std::string saslBootstrap = h.broker().sasl()->bootstrap;
    KafkaTestClient boardA(saslBootstrap, a);
    boardA.produce(h.topic("board-a"), "board-a", requestJson("on-a"));
    auto read = boardA.readFromStart(h.topic("board-a"), 1, 15000);
    REQUIRE(read.size() == 1);
    CHECK_THAT(read[0].value, Catch::Contains("on-a"));

    try {
      boardA.produce(h.topic("board-b"), "board-b", requestJson("a-on-b"));
      FAIL("board-a produced to board-b's topic");
    } catch (const ProduceRefused& e) {
      CHECK_THAT(e.what(), Catch::Contains("TOPIC_AUTHORIZATION_FAILED"));
    }
    CHECK_THAT(readError(saslBootstrap, a, h.topic("board-b"), "board-a"),
               Catch::Contains("TOPIC_AUTHORIZATION_FAILED"));
    const std::string ownError = readError(saslBootstrap, a, h.topic("board-a"), "board-a");
    INFO(ownError);
    CHECK(ownError.empty());
    // Nothing of board-a's reached board-b's topic.
    KafkaTestClient admin(h.broker().bootstrap());
    CHECK(admin.readFromStart(h.topic("board-b"), 1, 2000).empty());
  }

  {
    // edges remove revokes the ACLs, deletes the topic and forgets the board's key.
    auto setKey = h.cli({"edges", "set-key", "board-b", h.signingPublicKey()});
    INFO(setKey.out << setKey.err);
    REQUIRE(setKey.code == 0);
    REQUIRE(h.sql("SELECT key_id IS NOT NULL FROM edges WHERE edge_id = 'board-b'") == "t");
    auto removed = h.cli({"edges", "remove", "board-b"});
    INFO(removed.out << removed.err);
    REQUIRE(removed.code == 0);
    CHECK_THAT(removed.out, Catch::Contains("revoked 4"));
    CHECK_THAT(removed.out, Catch::Contains("deleted"));
    CHECK(describedAcls(h.broker(), h.topic("board-b")).empty());
    CHECK(describedAcls(h.broker(), "edge-agent.board-b", kafka::AclResource::kGroup).empty());
    CHECK(describedAcls(h.broker(), h.topic("board-a")) ==
          boardAcls("board-a", h.topic("board-a")));
    CHECK(h.sql("SELECT provisioned_at IS NULL FROM edges WHERE edge_id = 'board-b'") == "t");
    CHECK(h.sql("SELECT public_key IS NULL AND key_id IS NULL FROM edges"
                " WHERE edge_id = 'board-b'") == "t");
    // Again: nothing left to remove, and says so.
    auto removeAgain = h.cli({"edges", "remove", "board-b"});
    INFO(removeAgain.out << removeAgain.err);
    CHECK(removeAgain.code == 0);
    CHECK_THAT(removeAgain.out, Catch::Contains("revoked 0"));
    CHECK_THAT(removeAgain.out, Catch::Contains("absent"));
  }

  {
    // board-a's credentials as the dispatcher's: it may not create topics (nor ACLs).
    // Secrets only from files (never the command line): a config of its own, 0600.
    std::string conf;
    std::istringstream in(readText(h.configPath()));
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("kafka-brokers", 0) != 0 && line.rfind("kafka-property", 0) != 0) {
        conf += line + "\n";
      }
    }
    conf += "kafka-brokers = \"" + h.broker().sasl()->bootstrap + "\"\nkafka-property = [";
    bool first = true;
    for (const auto& kv : boardProperties(h.broker(), "board-a")) {
      conf += (first ? "\"" : ", \"") + kv + "\"";
      first = false;
    }
    conf += "]\n";
    const std::string path = h.dir().file("board-a-as-dispatcher.conf");
    writeText(path, conf);
    ::chmod(path.c_str(), 0600);
    int status =
        std::system(("'" + dispatcherPath() + "' --config '" + path + "' edges add board-c >'" +
                     h.dir().file("c.out") + "' 2>'" + h.dir().file("c.err") + "'")
                        .c_str());
    struct {
      int code;
      std::string out, err;
    } refused{WIFEXITED(status) ? WEXITSTATUS(status) : -1, readText(h.dir().file("c.out")),
              readText(h.dir().file("c.err"))};
    INFO(refused.out << refused.err);
    CHECK(refused.code == 4);
    CHECK_THAT(refused.err, Catch::Contains("TOPIC_AUTHORIZATION_FAILED"));
    CHECK(refused.err.find("password-of-board-a") == std::string::npos);
  }
}

TEST_CASE(
    "an agent with another board's credentials is denied, says so once and keeps running "
    "while the board on its own topic answers",
    "[dispatcher][agent][kafka][acl]") {
  // The dispatcher as its own principal, with only its own ACLs (dispatcherAcls).
  DispatcherHarness::Setup setup = aclSetup({});
  setup.saslUser = kBoards[2].first;
  setup.saslPassword = kBoards[2].second;
  DispatcherHarness h(setup);
  kafka::Config admin;
  admin.set("bootstrap.servers", h.broker().bootstrap());  // PLAINTEXT: ANONYMOUS, a super user
  auto granted = kafka::createAcls(
      admin, dispatcherAcls("User:dispatcher", h.topicPrefix(), h.group()), 15000);
  REQUIRE(granted);
  for (const auto& g : *granted) {
    REQUIRE(g);
  }
  auto added = h.cli({"edges", "add", "board-a", "board-b", "board-c"});
  INFO(added.out << added.err);
  REQUIRE(added.code == 0);
  CHECK_THAT(added.out, Catch::Contains("granted"));
  // The dispatcher's principal may also take a board away (before anything consumes its topic:
  // librdkafka 2.0.2's consumer close can hang on a deleted topic, fixed in 2.1.0).
  auto removed = h.cli({"edges", "remove", "board-c"});
  INFO(removed.out << removed.err);
  CHECK(removed.code == 0);
  CHECK_THAT(removed.out, Catch::Contains("revoked 4"));
  CHECK_THAT(removed.out, Catch::Contains("deleted"));
  h.startDaemon();

  const AgentSetup as = boardAAgent(h);
  AgentUnderTest own(as);
  own.start();

  // Misconfigured: board-a's credentials, board-b's topic.
  AgentSetup wrong = as;
  wrong.edgeId = "board-b";
  AgentUnderTest denied(wrong);
  denied.start();

  auto r = h.cli({"send", "--edge", "board-a", "--type", "ping", "--wait", "30"});
  INFO(r.out << r.err << own.agentLog());
  CHECK(r.code == 0);
  CHECK_THAT(r.out, Catch::Contains("succeeded 200"));

  REQUIRE(waitUntil([&] { return denied.agentLog().find("not authorized") != std::string::npos; },
                    30000));
  const std::string deniedLog = denied.agentLog();
  INFO(deniedLog);
  CHECK_THAT(deniedLog, Catch::Contains(h.topic("board-b")));
  CHECK_THAT(deniedLog, Catch::Contains("TOPIC_AUTHORIZATION_FAILED"));
  // Still running, and still saying it once, while it keeps trying.
  auto nothingOnB = h.cli({"send", "--edge", "board-b", "--type", "ping", "--wait", "5"});
  CHECK(nothingOnB.code == 3);
  CHECK(denied.running());
  const std::string later = denied.agentLog();
  size_t lines = 0;
  for (size_t at = later.find("not authorized"); at != std::string::npos;
       at = later.find("not authorized", at + 1)) {
    ++lines;
  }
  CHECK(lines == 1);
  // Its event, retried every second against the same refusal, is not a line a second either.
  size_t retries = 0;
  for (size_t at = later.find("agent_started cannot be queued yet"); at != std::string::npos;
       at = later.find("agent_started cannot be queued yet", at + 1)) {
    ++retries;
  }
  CHECK(retries == 1);
  CHECK(later.find(kBoards[0].second) == std::string::npos);
  CHECK(own.running());
  // What the dispatcher received from board-a's agent (its answer) is stored.
  CHECK(h.count("SELECT count(*) FROM request_status WHERE state = 'succeeded'") == 1);

  // Once the ACLs allow it (here: board-a's principal granted board-b's topic and group), the
  // same process starts reading and answering by itself: no restart needed.
  kafka::Config super;
  super.set("bootstrap.servers", h.broker().bootstrap());
  Options grant;
  grant.topicPrefix = h.topicPrefix();
  grant.edgePrincipal = "User:board-a";
  auto fixed = kafka::createAcls(super, edgeAcls(grant, "board-b"), 15000);
  REQUIRE(fixed);
  for (const auto& f : *fixed) {
    REQUIRE(f);
  }
  REQUIRE(waitUntil(
      [&] {
        return denied.agentLog().find("consuming " + h.topic("board-b")) != std::string::npos;
      },
      30000));
  CHECK(denied.running());
  auto answered = h.cli({"send", "--edge", "board-b", "--type", "ping", "--wait", "30"});
  INFO(answered.out << answered.err << denied.agentLog());
  CHECK(answered.code == 0);
}
