#pragma once

// What the ACL tests share: the broker's SCRAM users, a dispatcher harness on a private broker
// that enforces ACLs, the dispatcher's own ACLs and the boards' as the broker describes them.

#include <catch2/catch.hpp>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "agent_harness.h"
#include "dispatcher_harness.h"
#include "kafka/acl.h"

namespace edgelink::testing {

/// The SCRAM users made when the broker is formatted (name, password).
inline const std::vector<std::pair<std::string, std::string>> kBoards = {
    {"board-a", "password-of-board-a"},
    {"board-b", "password-of-board-b"},
    {"dispatcher", "password-of-dispatcher"}};

/// The real agent of kBoards[0] (board-a) on `h`'s broker over SASL_SSL with its own credentials,
/// trusting the dispatcher's signing key.
inline AgentSetup boardAAgent(DispatcherHarness& h) {
  AgentSetup as;
  as.edgeId = "board-a";
  as.sharedBroker = &h.broker();
  as.topicPrefix = h.topicPrefix();
  as.sasl = true;
  as.saslUser = "board-a";
  as.saslPassword = kBoards[0].second;
  as.trustedKeys = {h.signingPublicKey()};  // the dispatcher signs its requests
  return as;
}

/// The least the dispatcher's principal needs, found by taking each away (dispatcher_acl_test.cpp):
/// READ (its daemon consumes), WRITE (the CLI's requests: `send`, `session`), CREATE
/// (`edges add`) and DELETE (`edges remove`) on its edge topics by prefix, READ on its consumer
/// group, and ALTER on the cluster (CreateAcls, DeleteAcls). DESCRIBE is implied by READ, WRITE,
/// DELETE and ALTER; DESCRIBE_CONFIGS is never asked for.
inline std::vector<kafka::AclBinding> dispatcherAcls(const std::string& principal,
                                                     const std::string& prefix,
                                                     const std::string& group) {
  std::vector<kafka::AclBinding> out;
  for (auto op : {kafka::AclOperation::kRead, kafka::AclOperation::kWrite,
                  kafka::AclOperation::kCreate, kafka::AclOperation::kDelete}) {
    out.push_back(
        {kafka::AclResource::kTopic, prefix, kafka::AclPattern::kPrefixed, principal, op});
  }
  out.push_back({kafka::AclResource::kGroup, group, kafka::AclPattern::kLiteral, principal,
                 kafka::AclOperation::kRead});
  out.push_back({kafka::AclResource::kCluster, "kafka-cluster", kafka::AclPattern::kLiteral,
                 principal, kafka::AclOperation::kAlter});
  return out;
}

/// A dispatcher harness on a private broker that enforces ACLs, with the boards' SCRAM users;
/// the dispatcher connects over SASL_SSL as the broker's admin (a super user) unless
/// Setup::saslUser names another.
inline DispatcherHarness::Setup aclSetup(std::vector<std::string> edges) {
  DispatcherHarness::Setup setup(std::move(edges), {"topic-replication = 1"});
  setup.broker = BrokerKind::kKafka;  // the mock has no authorizer
  setup.privateBroker = true;
  setup.brokerProperties = authorizerProperties();
  setup.scramUsers = kBoards;
  setup.sasl = true;
  return setup;
}

/// The ACLs on one resource (name and pattern literal), as AclBinding::describe() prints them.
inline std::set<std::string> describedAcls(
    TestBroker& broker, const std::string& name,
    kafka::AclResource resource = kafka::AclResource::kTopic) {
  kafka::Config admin;
  admin.set("bootstrap.servers", broker.bootstrap());  // PLAINTEXT: ANONYMOUS, a super user
  auto acls = kafka::describeAcls(admin, resource, name, kafka::AclPattern::kLiteral, 15000);
  REQUIRE(acls);
  std::set<std::string> out;
  for (const auto& a : *acls) {
    out.insert(a.describe());
  }
  return out;
}

inline std::set<std::string> boardAcls(const std::string& board, const std::string& topic) {
  std::set<std::string> out;
  for (const std::string op : {"READ", "WRITE", "DESCRIBE"}) {
    out.insert("ALLOW User:" + board + " " + op + " on TOPIC " + topic + " (LITERAL) from *");
  }
  return out;
}

inline std::set<std::string> groupAcls(const std::string& board) {
  return {"ALLOW User:" + board + " DESCRIBE on GROUP edge-agent." + board + " (LITERAL) from *"};
}

}  // namespace edgelink::testing
