// edges move: moves an edge to another Kafka cluster of the deployment (docs/DISPATCHER.md,
// docs/REMOTE-CONFIG.md). Its topic is made on the target, its kafka-brokers and kafka-cluster
// are stored as one config version, and config_changed goes to it on the cluster it is on now;
// the board switches once it reads its topic on the target, or rolls back and says
// config_refused. With --wait, the outcome is read from PostgreSQL.

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <chrono>
#include <memory>
#include <optional>
#include <thread>

#include "cli/audit.h"
#include "cli/cluster_route.h"
#include "cli/config_store.h"
#include "cli/context.h"
#include "cli/edge_acls.h"
#include "cli/key_store.h"
#include "config/cli_config.h"
#include "config/remote_keys.h"

namespace edgelink::dispatcher {
namespace {

struct MoveArgs {
  std::string edge;
  std::string cluster;
  int64_t wait = 0;
};

/// How often --wait looks at the edge's row and events.
constexpr int64_t kPollMs = 500;

std::string clusterName(const ClusterRoute& r) {
  return r.name.empty() ? std::string("(unnamed, this dispatcher's)") : r.name;
}

/// `key` = `text` as a remote config value (a JSON string), checked as config set checks it.
Result<ConfigAssignment> textValue(const std::string& key, const std::string& text) {
  rapidjson::StringBuffer sb;
  rapidjson::Writer<rapidjson::StringBuffer> w(sb);
  w.String(text.c_str(), static_cast<rapidjson::SizeType>(text.size()));
  ConfigAssignment a{key, std::string(sb.GetString(), sb.GetSize())};
  if (auto why = config::checkRemoteValue(a.key, a.json); !why.empty()) {
    return Error(Status::kBadRequest, key + ": " + why);
  }
  return a;
}

/// What --wait saw last.
struct MoveState {
  bool moved = false;
  std::optional<std::string> refusal;  ///< the config_refused event's reason
  std::optional<std::string> cluster;  ///< edges.kafka_cluster
  std::optional<std::string> applied;  ///< edges.config_version
};

Result<MoveState> readMoveState(pg::Connection& db, const std::string& edge,
                                const std::string& cluster, int64_t version) {
  auto rows = db.exec(
      "SELECT coalesce(kafka_cluster, '') = $2::text AND coalesce(config_version, 0) >= "
      "$3::bigint, (SELECT coalesce(body->>'reason', '(no reason given)') FROM events"
      " WHERE edge_id = $1 AND type = 'config_refused' AND body->>'version' = $3::text"
      " ORDER BY seq DESC LIMIT 1), kafka_cluster, config_version::text"
      " FROM edges WHERE edge_id = $1",
      {edge, cluster, std::to_string(version)});
  if (!rows) {
    return rows.error();
  }
  MoveState s;
  if (!rows->empty()) {
    s.moved = rows->boolean(0, 0);
    s.refusal = rows->opt(0, 1);
    s.cluster = rows->opt(0, 2);
    s.applied = rows->opt(0, 3);
  }
  return s;
}

/// Polls until the edge is on `target` with `version` applied (kExitOk), refused it
/// (kExitFailed) or --wait passed (kExitTimeout); `line` says which.
int waitForMove(const Context& c, pg::Connection& db, const MoveArgs& a, const ClusterRoute& target,
                int64_t version, Record& r, std::string& line) {
  const int64_t deadline = c.clock.monoMs() + a.wait * 1000;
  const std::string v = std::to_string(version);
  while (true) {
    auto s = readMoveState(db, a.edge, target.name, version);
    if (!s) {
      return c.fail(exitCodeForDbError(s.error()), s.error().describe());
    }
    if (s->moved) {
      r.push_back(stringField("outcome", "moved"));
      line = "edge " + a.edge + ": moved to Kafka cluster " + clusterName(target) +
             ", config version " + v + " applied\n";
      return kExitOk;
    }
    if (s->refusal) {
      r.push_back(stringField("outcome", "refused"));
      r.push_back(stringField("reason", *s->refusal));
      line = "edge " + a.edge + ": refused config version " + v + ": " + *s->refusal + "\n";
      return kExitFailed;
    }
    const int64_t left = deadline - c.clock.monoMs();
    if (left <= 0 || gStop) {
      r.push_back(stringField("outcome", "timeout"));
      line = "edge " + a.edge + ": not moved within " + std::to_string(a.wait) +
             " s (last heard on Kafka cluster " + s->cluster.value_or("(none)") +
             ", config version applied " + s->applied.value_or("none") +
             "); the board rolls back by itself if it cannot read its topic on " +
             clusterName(target) + " within its cluster-move-timeout\n";
      return kExitTimeout;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min(left, kPollMs)));
  }
}

/// Stores the two keys as one version of the edge's scope; the version, or a printed failure.
int storeMove(const Context& c, pg::Connection& db, const MoveArgs& a, const ClusterRoute& target,
              int64_t& version) {
  std::vector<ConfigAssignment> values;
  for (const auto& [key, text] :
       {std::pair<std::string, std::string>{"kafka-brokers", target.bootstrap},
        {"kafka-cluster", target.name}}) {
    auto value = textValue(key, text);
    if (!value) {
      return c.fail(kExitUsage, "--cluster " + a.cluster + ": " + value.error().message);
    }
    values.push_back(*value);
  }
  int64_t removed = 0;
  auto versions = changeScopes(db, {a.edge}, values, {}, c.auditActor().name, removed);
  if (!versions) {
    return c.fail(exitCodeForDbError(versions.error()), versions.error().describe());
  }
  version = versions->front();
  return kExitOk;
}

/// The move once the edge is known: topic, config, push, then --wait.
int moveEdge(const Context& c, pg::Connection& db, const MoveArgs& a, const ClusterRoute& target,
             const security::SigningKey* key) {
  auto from = edgeRoute(db, c.options, a.edge);
  if (!from) {
    return c.fail(from.error().status == Status::kNotFound ? kExitUsage : kExitDatabase,
                  from.error().message + "; nothing changed");
  }
  const std::string topic = c.options.topicFor(a.edge);
  std::string topicState;
  if (int failed = createEdgeTopic(c, a.edge, target, topicState); failed != kExitOk) {
    return failed;
  }
  int64_t version = 0;
  if (int failed = storeMove(c, db, a, target, version); failed != kExitOk) {
    return failed;
  }
  std::vector<Record> sent;
  if (int failed = sendConfigChangedOn(c, db, *from, {a.edge}, key, sent); failed != kExitOk) {
    return c.fail(failed, "config version " + std::to_string(version) +
                              " is stored: the board moves at its next config-refresh, or "
                              "`config push --edge " +
                              a.edge + "` once Kafka is back");
  }
  Record r{stringField("edge_id", a.edge),
           stringField("cluster", target.name),
           stringField("bootstrap", target.bootstrap),
           stringField("from_cluster", from->name),
           stringField("topic", topic),
           stringField("topic_state", topicState),
           numberField("version", version)};
  std::string text = "edge " + a.edge + ": topic " + topic + " " + topicState +
                     " on Kafka cluster " + clusterName(target) + " (" + target.bootstrap +
                     ")\nedge " + a.edge + ": config version " + std::to_string(version) +
                     ": kafka-brokers = " + target.bootstrap + ", kafka-cluster = " + target.name +
                     "\nedge " + a.edge + ": config_changed sent on Kafka cluster " +
                     clusterName(*from) + "\n";
  if (a.wait <= 0) {
    r.push_back(stringField("outcome", "sent"));
    c.showOne(r, text + "edge " + a.edge + ": the board switches once it reads its topic on " +
                     clusterName(target) + " (`edges show " + a.edge + "`; --wait waits)\n");
    return kExitOk;
  }
  c.out(c.json ? "" : text);
  std::string line;
  const int result = waitForMove(c, db, a, target, version, r, line);
  c.showOne(r, line);
  return result;
}

int edgesMove(const Context& c, const MoveArgs& a) {
  if (auto problem = edgeIdProblem(a.edge); !problem.empty()) {
    return c.fail(kExitUsage, problem);
  }
  auto target = c.options.clusters().named(a.cluster, "--cluster");
  if (!target) {
    return c.fail(kExitUsage, target.error().message);
  }
  auto key = publishingKey(c.options.signRequests, c.options.signingKeyDir);
  if (!key) {
    return c.fail(exitCodeForKeyError(key.error()), key.error().describe());
  }
  return c.withDatabase([&](pg::Connection& db) {
    auto known = edgeKnown(db, a.edge);
    if (!known) {
      return c.fail(exitCodeForDbError(known.error()), known.error().describe());
    }
    if (!*known) {
      return c.fail(kExitNotFound, "no edge " + a.edge + " (edges add " + a.edge + ")");
    }
    return moveEdge(c, db, a, *target, *key ? &**key : nullptr);
  });
}

}  // namespace

void addEdgesMoveCommand(Commands& cmds, CLI::App* edges) {
  const Context& c = cmds.context();
  auto a = std::make_shared<MoveArgs>();
  auto* move = cmds.add(
      "move",
      "Move an edge to another Kafka cluster (kafka-clusters): its topic there, its "
      "kafka-brokers and kafka-cluster as one config version, config_changed where it is now "
      "(exit 1: the board refused, 3: not moved within --wait)",
      "cloud-dispatcher edges move --edge elevator-0042 --cluster b --wait 2m",
      [&c, a] { return edgesMove(c, *a); }, edges);
  move->add_option("--edge", a->edge, "Edge id")->required();
  move->add_option("--cluster", a->cluster,
                   "The target cluster: kafka-cluster (this dispatcher's) or a name of "
                   "kafka-clusters")
      ->required();
  config::durationDefault(
      move->add_option("--wait", a->wait,
                       "How long to wait until the board runs on the target (0: do not wait)")
          ->transform(config::durationSeconds()),
      a->wait);
}

}  // namespace edgelink::dispatcher
