// edges add (the Kafka admin API: topic and ACLs, then the edges rows), edges list, edges show.

#include <memory>

#include "cli/context.h"
#include "cli/edge_acls.h"
#include "cli/queries.h"
#include "kafka/client.h"

namespace edgelink::dispatcher {
namespace {

struct EdgesArgs {
  std::vector<std::string> ids;
  std::string id;  ///< edges show
  std::string edge;
  bool online = false;
  bool offline = false;
};

/// Creates the edge's topic: "created" or "exists", or a printed failure (kExitKafka).
int createTopic(const Context& c, const std::string& id, std::string& outcome) {
  const Options& o = c.options;
  const std::string topic = o.topicFor(id);
  const int timeoutMs = static_cast<int>(o.kafkaTimeoutSeconds * 1000);
  auto created = kafka::createTopic(o.producerConfig(), topic, o.topicPartitions,
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
                  "creating topic " + topic + ": the broker at " + o.kafkaBrokers +
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

int edgesAdd(const Context& c, const EdgesArgs& a) {
  const Options& o = c.options;
  for (const auto& id : a.ids) {
    if (auto problem = edgeIdProblem(id, "edge id '" + id + "'"); !problem.empty()) {
      return c.fail(kExitUsage, problem);
    }
  }
  std::vector<Record> done;
  for (const auto& id : a.ids) {
    std::string outcome, acls;
    if (int failed = createTopic(c, id, outcome); failed != kExitOk) {
      return failed;
    }
    if (int failed = grantEdgeAcls(c, id, acls); failed != kExitOk) {
      return failed;
    }
    done.push_back({stringField("edge_id", id), stringField("topic", o.topicFor(id)),
                    stringField("topic_state", outcome), stringField("acls", acls),
                    numberField("partitions", o.topicPartitions),
                    numberField("replication", o.topicReplication),
                    numberField("retention_seconds", o.topicRetentionSeconds)});
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
        }
        return c.show(done, {{"edge_id", "EDGE"},
                             {"topic", "TOPIC"},
                             {"topic_state", "TOPIC STATE"},
                             {"acls", "ACLS"},
                             {"partitions", "PARTITIONS"},
                             {"replication", "REPLICATION"},
                             {"retention_seconds", "RETENTION S"}});
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
    auto records = listEdges(db, c.options, f, a.edge, c.limit);
    if (records && c.json) {
      for (auto& r : *records) {
        expandAgentMetrics(r, true);
      }
    }
    return c.show(records, {{"edge_id", "EDGE"},
                            {"online", "ONLINE"},
                            {"last_heartbeat_at", "HEARTBEAT"},
                            {"last_seen_at", "LAST SEEN"},
                            {"agent_version", "VERSION"},
                            {"live_session", "SESSION"}});
  });
}

/// One edge with everything stored about it, its agent's latest metrics included.
int edgesShow(const Context& c, const EdgesArgs& a) {
  return c.withDatabase([&](pg::Connection& db) {
    auto records = listEdges(db, c.options, EdgeFilter::kAll, a.id, 1);
    if (records && records->empty()) {
      return c.fail(kExitNotFound, "no edge " + a.id);
    }
    if (records) {
      expandAgentMetrics(records->front(), c.json);
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
  addEdgesRemoveCommand(cmds, edges);
  auto* list = cmds.add(
      "list", "Edges with online state", "cloud-dispatcher edges list --online --json",
      [&c, a] { return edgesList(c, *a); }, edges);
  list->add_flag("--online", a->online, "Only online edges");
  list->add_flag("--offline", a->offline, "Only offline edges");
  list->add_option("--edge", a->edge, "Only this edge");
  list->add_option("--limit", c.limit, "At most this many")->capture_default_str();
  auto* show = cmds.add(
      "show", "One edge: online state, heartbeat, its agent's metrics (exit 6: not found)",
      "cloud-dispatcher edges show elevator-0042 --json", [&c, a] { return edgesShow(c, *a); },
      edges);
  show->add_option("ID", a->id, "Edge id")->required();
}

}  // namespace edgelink::dispatcher
