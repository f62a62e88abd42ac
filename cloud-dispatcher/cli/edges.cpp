// edges add (the Kafka admin API: topic and ACLs, then the edges rows), edges list, edges show.

#include <unistd.h>

#include <memory>
#include <optional>

#include "cli/config_store.h"
#include "cli/context.h"
#include "cli/edge_acls.h"
#include "cli/queries.h"
#include "kafka/client.h"
#include "security/ed25519.h"

namespace edgelink::dispatcher {
namespace {

struct EdgesArgs {
  std::vector<std::string> ids;
  std::string id;  ///< edges show
  std::string edge;
  std::string label;  ///< edges list --label
  bool online = false;
  bool offline = false;
  std::string key;  ///< edges add --key, edges set-key KEY: base64 or a PEM file's path
};

/// The board's public key from --key / KEY: base64 of the raw key, PEM text, or a PEM file.
Result<security::PublicKey> parseBoardKey(const std::string& text, const std::string& what) {
  auto key = security::PublicKey::parse(text);
  if (!key && ::access(text.c_str(), F_OK) == 0) {
    key = security::PublicKey::loadFile(text);
  }
  if (!key) {
    return Error(Status::kBadRequest,
                 what +
                     ": expected the board's Ed25519 public key (`edge-agent key` prints it: "
                     "base64 of 32 bytes, or a PEM file): " +
                     key.error().message);
  }
  return key;
}

}  // namespace

int createEdgeTopic(const Context& c, const std::string& id, const ClusterRoute& route,
                    std::string& outcome) {
  const Options& o = c.options;
  const std::string topic = o.topicFor(id);
  const int timeoutMs = static_cast<int>(o.kafkaTimeoutSeconds * 1000);
  auto created = kafka::createTopic(o.producerConfigFor(route), topic, o.topicPartitions,
                                    o.topicReplication, o.topicConfigMap(), timeoutMs);
  outcome = "created";
  if (created) {
    return kExitOk;
  }
  const Error& e = created.error();
  if (e.status == Status::kConflict) {
    outcome = "exists";
    return kExitOk;
  }
  if (e.status == Status::kTimeout) {
    return c.fail(kExitKafka,
                  "creating topic " + topic + ": the broker at " + route.bootstrap +
                      " did not answer the admin request CreateTopics within " +
                      std::to_string(o.kafkaTimeoutSeconds) +
                      " s. It may not support the Kafka admin API (the dev broker, librdkafka's "
                      "mock cluster, does not: it creates topics on first produce) or it is "
                      "unreachable. Create the topic with your Kafka tooling: 1 partition, "
                      "replication " +
                      std::to_string(o.topicReplication) + ", retention.ms " +
                      std::to_string(o.topicRetentionSeconds * 1000) + ".");
  }
  return c.fail(kExitKafka, "creating topic " + topic + ": " + e.describe());
}

namespace {

int edgesAdd(const Context& c, const EdgesArgs& a) {
  const Options& o = c.options;
  for (const auto& id : a.ids) {
    if (auto problem = edgeIdProblem(id, "edge id '" + id + "'"); !problem.empty()) {
      return c.fail(kExitUsage, problem);
    }
  }
  std::optional<security::PublicKey> key;
  if (!a.key.empty()) {
    if (a.ids.size() != 1) {
      return c.fail(kExitUsage, "--key: each board has its own key: add one edge per --key");
    }
    auto parsed = parseBoardKey(a.key, "--key");
    if (!parsed) {
      return c.fail(kExitUsage, parsed.error().message);
    }
    key = *parsed;
  }
  std::vector<Record> done;
  for (const auto& id : a.ids) {
    std::string outcome, acls;
    if (int failed = createEdgeTopic(c, id, o.clusters().resolve(std::nullopt).value(), outcome);
        failed != kExitOk) {
      return failed;
    }
    if (int failed = grantEdgeAcls(c, id, acls); failed != kExitOk) {
      return failed;
    }
    done.push_back({stringField("edge_id", id), stringField("topic", o.topicFor(id)),
                    stringField("topic_state", outcome), stringField("acls", acls),
                    numberField("partitions", o.topicPartitions),
                    numberField("replication", o.topicReplication),
                    numberField("retention_seconds", o.topicRetentionSeconds),
                    key ? stringField("key_id", key->keyId()) : nullField("key_id")});
  }
  return c.withDatabase(
      [&](pg::Connection& db) {
        for (const auto& r : done) {
          auto up = db.exec(
              "INSERT INTO edges (edge_id, first_seen_at, provisioned_at) VALUES ($1, now(), now())"
              " ON CONFLICT (edge_id) DO UPDATE SET provisioned_at ="
              " COALESCE(edges.provisioned_at, now())",
              {fieldText(r, "edge_id")});
          if (!up) {
            return c.fail(kExitDatabase, up.error().describe());
          }
          if (key) {
            if (int failed = storeEdgeKey(c, db, fieldText(r, "edge_id"), &*key);
                failed != kExitOk) {
              return failed;
            }
          }
        }
        std::vector<Column> columns = edgeTopicColumns();
        columns.insert(columns.end(), {{"partitions", "PARTITIONS"},
                                       {"replication", "REPLICATION"},
                                       {"retention_seconds", "RETENTION S"},
                                       {"key_id", "KEY ID"}});
        return c.show(done, columns);
      },
      false, "the topics exist, but the edges could not be recorded");
}

int edgesList(const Context& c, const EdgesArgs& a) {
  if (a.online && a.offline) {
    return c.fail(kExitUsage, "--online and --offline exclude each other");
  }
  EdgeFilter f = a.online    ? EdgeFilter::kOnline
                 : a.offline ? EdgeFilter::kOffline
                             : EdgeFilter::kAll;
  return c.withDatabase([&](pg::Connection& db) {
    auto records = listEdges(db, c.options, f, a.edge, c.limit, a.label);
    if (records) {
      for (auto& r : *records) {
        addClockField(r);
        if (c.json) {
          expandAgentMetrics(r, true);
        }
      }
    }
    return c.show(records, {{"edge_id", "EDGE"},
                            {"online", "ONLINE"},
                            {"last_heartbeat_at", "HEARTBEAT"},
                            {"last_seen_at", "LAST SEEN"},
                            {"agent_version", "VERSION"},
                            {"clock", "CLOCK"},
                            {"live_session", "SESSION"},
                            {"key_id", "KEY ID"}});
  });
}

/// A replaced board's new key (or a key for an edge added without one).
int edgesSetKey(const Context& c, const EdgesArgs& a) {
  if (auto problem = edgeIdProblem(a.id, "ID"); !problem.empty()) {
    return c.fail(kExitUsage, problem);
  }
  auto key = parseBoardKey(a.key, "KEY");
  if (!key) {
    return c.fail(kExitUsage, key.error().message);
  }
  return c.withDatabase([&](pg::Connection& db) {
    auto known = db.exec("SELECT 1 FROM edges WHERE edge_id = $1", {a.id});
    if (!known) {
      return c.fail(kExitDatabase, known.error().describe());
    }
    if (known->size() == 0) {
      return c.fail(kExitNotFound, "no edge " + a.id + " (edges add " + a.id + " --key ...)");
    }
    if (int failed = storeEdgeKey(c, db, a.id, &*key); failed != kExitOk) {
      return failed;
    }
    c.showOne({stringField("edge_id", a.id), stringField("key_id", key->keyId())},
              "edge " + a.id + ": key " + key->keyId() + "\n");
    return static_cast<int>(kExitOk);
  });
}

/// The remote config versions (docs/REMOTE-CONFIG.md): with --json config_version_applied and
/// config_version_desired, else "config: applied 3, desired 4".
int addConfigVersionFields(const Context& c, pg::Connection& db, Record& r) {
  auto v = configVersions(db, fieldText(r, "edge_id"));
  if (!v) {
    return c.fail(exitCodeForDbError(v.error()), v.error().describe());
  }
  if (c.json) {
    r.push_back(v->applied ? numberField("config_version_applied", *v->applied)
                           : nullField("config_version_applied"));
    r.push_back(numberField("config_version_desired", v->desired));
  } else {
    r.push_back(stringField(
        "config", "applied " +
                      (v->applied ? std::to_string(*v->applied) : std::string("none reported")) +
                      ", desired " + std::to_string(v->desired)));
  }
  return kExitOk;
}

/// The Kafka cluster the edge was last heard on (docs/DISPATCHER.md, "Several Kafka clusters"):
/// with --json kafka_cluster and kafka_cluster_at (null: not known), else, when known,
/// "cluster: eu-1 (heard 2026-11-21T08:00:00.123Z)" ("(unnamed)": a kafka-cluster of "").
int addClusterFields(const Context& c, pg::Connection& db, Record& r) {
  auto rows = db.exec(
      "SELECT kafka_cluster, kafka_cluster_at FROM edges"
      " WHERE edge_id = $1 AND kafka_cluster IS NOT NULL",
      {fieldText(r, "edge_id")});
  if (!rows) {
    return c.fail(exitCodeForDbError(rows.error()), rows.error().describe());
  }
  const bool known = rows->size() == 1;
  const std::string name = known ? rows->str(0, 0) : "";
  const std::string at = known && !rows->isNull(0, 1) ? pgTimestampToRfc3339(rows->str(0, 1)) : "";
  if (c.json) {
    r.push_back(known ? stringField("kafka_cluster", name) : nullField("kafka_cluster"));
    r.push_back(at.empty() ? nullField("kafka_cluster_at")
                           : Field{"kafka_cluster_at", FieldKind::kTimestamp, at});
  } else if (known) {
    r.push_back(stringField("cluster", (name.empty() ? std::string("(unnamed)") : name) +
                                           (at.empty() ? "" : " (heard " + at + ")")));
  }
  return kExitOk;
}

/// One edge with everything stored about it, its agent's latest metrics included.
int edgesShow(const Context& c, const EdgesArgs& a) {
  return c.withDatabase([&](pg::Connection& db) {
    auto records = listEdges(db, c.options, EdgeFilter::kAll, a.id, 1);
    if (records && records->empty()) {
      return c.fail(kExitNotFound, "no edge " + a.id);
    }
    if (records) {
      addClockField(records->front());
      expandAgentMetrics(records->front(), c.json);
      if (int failed = addConfigVersionFields(c, db, records->front()); failed != kExitOk) {
        return failed;
      }
      if (int failed = addClusterFields(c, db, records->front()); failed != kExitOk) {
        return failed;
      }
    }
    return c.show(records, {}, true);
  });
}

}  // namespace

void addEdgesCommands(Commands& cmds) {
  Context& c = cmds.context();
  auto a = std::make_shared<EdgesArgs>();
  auto* edges =
      cmds.group("edges", "Provision, list or show edges", "cloud-dispatcher edges list --offline");
  auto* add = cmds.add(
      "add", "Create edge topics (and their ACLs) with the Kafka admin API",
      "cloud-dispatcher edges add elevator-0042 elevator-0043", [&c, a] { return edgesAdd(c, *a); },
      edges);
  add->add_option("ID", a->ids, "Edge ids")->required();
  add->add_option("--key", a->key,
                  "The board's Ed25519 public key (`edge-agent key`: base64, or a PEM file's "
                  "path); its responses and events must be signed with it");
  auto* setKey = cmds.add(
      "set-key", "Register a board's new public key (a replaced board)",
      "cloud-dispatcher edges set-key elevator-0042 MCowBQYDK2VwAyEA...",
      [&c, a] { return edgesSetKey(c, *a); }, edges);
  setKey->add_option("ID", a->id, "Edge id")->required();
  setKey->add_option("KEY", a->key, "Public key: base64, or a PEM file's path")->required();
  addEdgesRemoveCommand(cmds, edges);
  addEdgesMoveCommand(cmds, edges);
  auto* list = cmds.add(
      "list", "Edges with online state", "cloud-dispatcher edges list --online --json",
      [&c, a] { return edgesList(c, *a); }, edges);
  list->add_flag("--online", a->online, "Only online edges");
  list->add_flag("--offline", a->offline, "Only offline edges");
  list->add_option("--edge", a->edge, "Only this edge");
  list->add_option("--label", a->label, "Only the edges carrying this label (edges label)");
  list->add_option("--limit", c.limit, "At most this many")->capture_default_str();
  auto* show = cmds.add(
      "show", "One edge: online state, heartbeat, its agent's metrics (exit 6: not found)",
      "cloud-dispatcher edges show elevator-0042 --json", [&c, a] { return edgesShow(c, *a); },
      edges);
  show->add_option("ID", a->id, "Edge id")->required();
  addEdgesLabelCommands(cmds, edges);
}

}  // namespace edgelink::dispatcher
