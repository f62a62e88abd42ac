// Each board's ACLs (edges add grants them) and `edges remove` (revokes them, deletes the topic).

#include "cli/edge_acls.h"

#include <memory>

#include "cli/queries.h"
#include "ingest/edge_keys.h"
#include "kafka/client.h"

namespace edgelink::dispatcher {

std::vector<kafka::AclBinding> edgeAcls(const Options& o, const std::string& edgeId) {
  std::vector<kafka::AclBinding> out;
  for (auto op :
       {kafka::AclOperation::kRead, kafka::AclOperation::kWrite, kafka::AclOperation::kDescribe}) {
    kafka::AclBinding b;
    b.resource = kafka::AclResource::kTopic;
    b.name = o.topicFor(edgeId);
    b.pattern = kafka::AclPattern::kLiteral;
    b.principal = o.principalFor(edgeId);
    b.operation = op;
    out.push_back(std::move(b));
  }
  // librdkafka's consumer looks up its group's coordinator (FindCoordinator: DESCRIBE on the
  // group) even when it only assigns partitions; without it, the agent's consumer reports
  // GROUP_AUTHORIZATION_FAILED. DESCRIBE only: the agent joins no group and commits nothing.
  kafka::AclBinding group;
  group.resource = kafka::AclResource::kGroup;
  group.name = kAgentGroupPrefix + edgeId;
  group.pattern = kafka::AclPattern::kLiteral;
  group.principal = o.principalFor(edgeId);
  group.operation = kafka::AclOperation::kDescribe;
  out.push_back(std::move(group));
  return out;
}

namespace {

int timeoutMs(const Options& o) {
  return static_cast<int>(o.kafkaTimeoutSeconds * 1000);
}

/// A failed ACL request as the CLI prints it; auto on a cluster without an authorizer is no
/// failure (`outcome` "no authorizer").
int aclFailure(const Context& c, const Error& e, const std::string& edgeId, std::string& outcome) {
  if (kafka::isNoAuthorizer(e)) {
    if (c.options.kafkaAcls == "auto") {
      outcome = "no authorizer";
      return kExitOk;
    }
    return c.fail(kExitKafka, "edge " + edgeId + ": " + e.describe() +
                                  ". Configure an authorizer on the brokers, or set kafka-acls = "
                                  "\"off\" (or \"auto\") to manage ACLs without EdgeLink");
  }
  std::string hint;
  if (e.status == Status::kForbidden) {
    hint =
        ". The dispatcher's own principal needs ALTER on the cluster to manage ACLs "
        "(docs/SECURITY.md)";
  }
  return c.fail(kExitKafka, "edge " + edgeId + ": " + e.describe() + hint);
}

/// Revokes the edge's ACLs; `outcome`: "revoked N", "off" or "no authorizer".
int revokeEdgeAcls(const Context& c, const std::string& edgeId, std::string& outcome) {
  const Options& o = c.options;
  outcome = "off";
  if (o.kafkaAcls == "off") {
    return kExitOk;
  }
  auto deleted = kafka::deleteAcls(o.producerConfig(), edgeAcls(o, edgeId), timeoutMs(o));
  if (!deleted) {
    return aclFailure(c, deleted.error(), edgeId, outcome);
  }
  outcome = "revoked " + std::to_string(*deleted);
  return kExitOk;
}

/// Deletes the edge's topic; `outcome` "deleted" or "absent".
int deleteEdgeTopic(const Context& c, const std::string& edgeId, std::string& outcome) {
  const Options& o = c.options;
  auto r = kafka::deleteTopic(o.producerConfig(), o.topicFor(edgeId), timeoutMs(o));
  outcome = "deleted";
  if (r) {
    return kExitOk;
  }
  if (r.error().status == Status::kNotFound) {
    outcome = "absent";
    return kExitOk;
  }
  return c.fail(kExitKafka, "deleting topic " + o.topicFor(edgeId) + ": " + r.error().describe());
}

int edgesRemove(const Context& c, const std::vector<std::string>& ids) {
  const Options& o = c.options;
  for (const auto& id : ids) {
    if (auto problem = edgeIdProblem(id, "edge id '" + id + "'"); !problem.empty()) {
      return c.fail(kExitUsage, problem);
    }
  }
  std::vector<Record> done;
  for (const auto& id : ids) {
    std::string acls, topic;
    if (int failed = revokeEdgeAcls(c, id, acls); failed != kExitOk) {
      return failed;
    }
    if (int failed = deleteEdgeTopic(c, id, topic); failed != kExitOk) {
      return failed;
    }
    done.push_back({stringField("edge_id", id), stringField("topic", o.topicFor(id)),
                    stringField("topic_state", topic), stringField("acls", acls)});
  }
  return c.withDatabase(
      [&](pg::Connection& db) {
        for (const auto& r : done) {
          auto up = db.exec("UPDATE edges SET provisioned_at = NULL WHERE edge_id = $1",
                            {fieldText(r, "edge_id")});
          if (!up) {
            return c.fail(kExitDatabase, up.error().describe());
          }
          // A removed board's key signs nothing any more (a board added again registers anew).
          if (int failed = storeEdgeKey(c, db, fieldText(r, "edge_id"), nullptr);
              failed != kExitOk) {
            return failed;
          }
        }
        return c.show(done, edgeTopicColumns());
      },
      false, "the topics and ACLs are gone, but the edges (and their keys) could not be updated");
}

}  // namespace

std::vector<Column> edgeTopicColumns() {
  return {
      {"edge_id", "EDGE"}, {"topic", "TOPIC"}, {"topic_state", "TOPIC STATE"}, {"acls", "ACLS"}};
}

int storeEdgeKey(const Context& c, pg::Connection& db, const std::string& id,
                 const security::PublicKey* key) {
  auto up = key != nullptr
                ? db.exec(
                      "INSERT INTO edges (edge_id, first_seen_at, public_key, key_id, key_set_at)"
                      " VALUES ($1, now(), $2, $3, now()) ON CONFLICT (edge_id) DO UPDATE SET"
                      " public_key = EXCLUDED.public_key, key_id = EXCLUDED.key_id,"
                      " key_set_at = now()",
                      {id, key->base64(), key->keyId()})
                : db.exec(
                      "UPDATE edges SET public_key = NULL, key_id = NULL, key_set_at = now()"
                      " WHERE edge_id = $1",
                      {id});
  if (!up) {
    return c.fail(kExitDatabase, up.error().describe());
  }
  // The daemons read this once per poll and forget the keys they hold (ingest/edge_keys.h).
  auto changed = db.exec(
      "INSERT INTO dispatcher_settings (key, value) VALUES ($1, clock_timestamp()::text)"
      " ON CONFLICT (key) DO UPDATE SET value = clock_timestamp()::text, updated_at = now()",
      {std::string(kEdgeKeysChangedSetting)});
  if (!changed) {
    return c.fail(kExitDatabase, changed.error().describe());
  }
  return kExitOk;
}

int grantEdgeAcls(const Context& c, const std::string& edgeId, std::string& outcome) {
  const Options& o = c.options;
  outcome = "off";
  if (o.kafkaAcls == "off") {
    return kExitOk;
  }
  auto results = kafka::createAcls(o.producerConfig(), edgeAcls(o, edgeId), timeoutMs(o));
  if (!results) {
    return aclFailure(c, results.error(), edgeId, outcome);
  }
  for (const auto& r : *results) {
    if (!r) {
      return aclFailure(c, r.error(), edgeId, outcome);
    }
  }
  outcome = "granted";
  return kExitOk;
}

void addEdgesRemoveCommand(Commands& cmds, CLI::App* edges) {
  Context& c = cmds.context();
  auto ids = std::make_shared<std::vector<std::string>>();
  auto* remove = cmds.add(
      "remove",
      "Revoke the edges' Kafka ACLs, delete their topics and forget their keys (the edges' "
      "history stays)",
      "cloud-dispatcher edges remove elevator-0042", [&c, ids] { return edgesRemove(c, *ids); },
      edges);
  remove->add_option("ID", *ids, "Edge ids")->required();
}

}  // namespace edgelink::dispatcher
