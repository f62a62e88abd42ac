// The dispatcher's own Kafka principal with the least ACLs on a real broker with the standard
// KRaft authorizer: a SCRAM user that is no super user adds, serves and removes a board, and each
// of its ACLs is needed (docs/SECURITY.md, "Kafka identities and ACLs").
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "acl_test_util.h"
#include "agent_harness.h"
#include "dispatcher_harness.h"
#include "kafka/acl.h"

using namespace edgelink;
using namespace edgelink::testing;

TEST_CASE(
    "the dispatcher as a SCRAM user that is no super user, with only its own ACLs, adds, serves "
    "and removes a board, and without ALTER on the cluster cannot grant",
    "[dispatcher][agent][kafka][acl]") {
  DispatcherHarness::Setup setup = aclSetup({});
  setup.saslUser = kBoards[2].first;
  setup.saslPassword = kBoards[2].second;
  DispatcherHarness h(setup);

  // No super user: without ACLs of its own it may not even create a board's topic.
  auto bare = h.cli({"edges", "add", "board-a", "--kafka-acls", "on"});
  INFO(bare.out << bare.err);
  CHECK(bare.code == 4);
  CHECK_THAT(bare.err, Catch::Contains("TOPIC_AUTHORIZATION_FAILED"));

  kafka::Config admin;
  admin.set("bootstrap.servers", h.broker().bootstrap());  // PLAINTEXT: ANONYMOUS, a super user
  const auto least = dispatcherAcls("User:dispatcher", h.topicPrefix(), h.group());
  auto granted = kafka::createAcls(admin, least, 15000);
  REQUIRE(granted);
  for (const auto& g : *granted) {
    REQUIRE(g);
  }

  auto added = h.cli({"edges", "add", "board-a", "--kafka-acls", "on"});
  INFO(added.out << added.err);
  REQUIRE(added.code == 0);
  CHECK_THAT(added.out, Catch::Contains("created"));
  CHECK_THAT(added.out, Catch::Contains("granted"));
  CHECK(describedAcls(h.broker(), h.topic("board-a")) == boardAcls("board-a", h.topic("board-a")));
  CHECK(describedAcls(h.broker(), "edge-agent.board-a", kafka::AclResource::kGroup) ==
        groupAcls("board-a"));

  {
    // The daemon, as the same user, reads the board's answers from its topic and stores them.
    const size_t daemon = h.startDaemon();
    AgentUnderTest agent(boardAAgent(h));
    agent.start();
    auto r = h.cli({"send", "--edge", "board-a", "--type", "ping", "--wait", "30"});
    INFO(r.out << r.err << agent.agentLog() << h.daemonLog(daemon));
    CHECK(r.code == 0);
    CHECK_THAT(r.out, Catch::Contains("succeeded 200"));
    CHECK(h.count("SELECT count(*) FROM request_status WHERE state = 'succeeded'") == 1);
    CHECK(h.daemonLog(daemon).find("AUTHORIZATION") == std::string::npos);
    // Both stop before the topic goes (librdkafka 2.0.2's consumer close can hang on a deleted
    // topic, fixed in 2.1.0).
    agent.stop();
    h.daemon(daemon).terminate(10000);
  }

  auto removed = h.cli({"edges", "remove", "board-a"});
  INFO(removed.out << removed.err);
  REQUIRE(removed.code == 0);
  CHECK_THAT(removed.out, Catch::Contains("revoked 4"));
  CHECK_THAT(removed.out, Catch::Contains("deleted"));
  CHECK(describedAcls(h.broker(), h.topic("board-a")).empty());
  CHECK(describedAcls(h.broker(), "edge-agent.board-a", kafka::AclResource::kGroup).empty());

  // Without ALTER on the cluster it cannot manage the boards' ACLs, and says what it lacks.
  kafka::AclBinding alter = least.back();
  REQUIRE(alter.resource == kafka::AclResource::kCluster);
  auto revoked = kafka::deleteAcls(admin, {alter}, 15000);
  REQUIRE(revoked);
  REQUIRE(*revoked == 1);
  auto denied = h.cli({"edges", "add", "board-b", "--kafka-acls", "on"});
  INFO(denied.out << denied.err);
  CHECK(denied.code == 4);
  CHECK_THAT(denied.err, Catch::Contains("ALTER on the cluster"));
  CHECK_THAT(denied.err, Catch::Contains("docs/SECURITY.md"));
  CHECK(denied.err.find(kBoards[2].second) == std::string::npos);
  CHECK(describedAcls(h.broker(), h.topic("board-b")).empty());
  auto notRemoved = h.cli({"edges", "remove", "board-b"});
  INFO(notRemoved.out << notRemoved.err);
  CHECK(notRemoved.code == 4);
  CHECK_THAT(notRemoved.err, Catch::Contains("docs/SECURITY.md"));
}

TEST_CASE(
    "every ACL the dispatcher is granted is needed: without one the CLI or the daemon is refused",
    "[dispatcher][kafka][acl]") {
  DispatcherHarness::Setup setup = aclSetup({});
  setup.saslUser = kBoards[2].first;
  setup.saslPassword = kBoards[2].second;
  DispatcherHarness h(setup);
  kafka::Config admin;
  admin.set("bootstrap.servers", h.broker().bootstrap());  // PLAINTEXT: ANONYMOUS, a super user
  const auto least = dispatcherAcls("User:dispatcher", h.topicPrefix(), h.group());
  REQUIRE(least.size() == 6);
  auto grant = [&](const kafka::AclBinding& b) {
    auto r = kafka::createAcls(admin, {b}, 15000);
    REQUIRE(r);
    REQUIRE(r->size() == 1);
    REQUIRE((*r)[0]);
  };
  auto revoke = [&](const kafka::AclBinding& b) {
    auto r = kafka::deleteAcls(admin, {b}, 15000);
    REQUIRE(r);
    REQUIRE(*r == 1);
  };
  for (const auto& b : least) {
    grant(b);
  }
  auto added = h.cli({"edges", "add", "board-a", "--kafka-acls", "on"});
  INFO(added.out << added.err);
  REQUIRE(added.code == 0);
  const kafka::AclBinding& read = least[0];
  const kafka::AclBinding& write = least[1];
  const kafka::AclBinding& create = least[2];
  const kafka::AclBinding& del = least[3];
  const kafka::AclBinding& group = least[4];
  REQUIRE(read.operation == kafka::AclOperation::kRead);
  REQUIRE(write.operation == kafka::AclOperation::kWrite);
  REQUIRE(create.operation == kafka::AclOperation::kCreate);
  REQUIRE(del.operation == kafka::AclOperation::kDelete);
  REQUIRE(group.resource == kafka::AclResource::kGroup);
  // (ALTER on the cluster: the test above.)

  // Each taken away in turn (and granted again): what it is for fails, and says why.
  {
    // WRITE on the edge topics: the CLI's requests.
    revoke(write);
    auto r = h.cli({"send", "--edge", "board-a", "--type", "ping", "--wait", "0"});
    INFO(r.out << r.err);
    CHECK(r.code == 4);
    CHECK_THAT(r.err, Catch::Contains("TOPIC_AUTHORIZATION_FAILED"));
    grant(write);
    auto again = h.cli({"send", "--edge", "board-a", "--type", "ping", "--wait", "0"});
    INFO(again.out << again.err);
    CHECK(again.code == 0);
  }
  {
    // CREATE on the edge topics: edges add.
    revoke(create);
    auto r = h.cli({"edges", "add", "board-b", "--kafka-acls", "on"});
    INFO(r.out << r.err);
    CHECK(r.code == 4);
    CHECK_THAT(r.err, Catch::Contains("creating topic " + h.topic("board-b")));
    CHECK_THAT(r.err, Catch::Contains("TOPIC_AUTHORIZATION_FAILED"));
    grant(create);
  }
  {
    // READ on the edge topics: the daemon's fetch.
    revoke(read);
    const size_t d = h.startDaemon();
    CHECK(h.waitForLog(d, "TOPIC_AUTHORIZATION_FAILED: Fetch"));
    h.daemon(d).terminate(10000);
    grant(read);
  }
  {
    // READ on its consumer group: the daemon finds no coordinator.
    revoke(group);
    const size_t d = h.startDaemon();
    CHECK(h.waitForLog(d, "GROUP_AUTHORIZATION_FAILED"));
    h.daemon(d).terminate(10000);
    grant(group);
  }
  {
    // DELETE on the edge topics: edges remove.
    revoke(del);
    auto r = h.cli({"edges", "remove", "board-a"});
    INFO(r.out << r.err);
    CHECK(r.code == 4);
    CHECK_THAT(r.err, Catch::Contains("deleting topic " + h.topic("board-a")));
    CHECK_THAT(r.err, Catch::Contains("TOPIC_AUTHORIZATION_FAILED"));
  }
}
