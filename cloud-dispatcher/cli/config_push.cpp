// config push: a config_changed event (body {"version": V}, the edge's desired version) to each
// edge's topic, so its agent asks for its config (get_config) at once.

#include <memory>
#include <optional>

#include "cli/cluster_route.h"
#include "cli/config_store.h"
#include "cli/context.h"
#include "cli/key_store.h"
#include "core/logging.h"
#include "envelope/envelope.h"
#include "kafka/client.h"
#include "security/signature.h"

namespace edgelink::dispatcher {
namespace {

struct PushArgs {
  std::string edge;
  std::string label;
  bool fleet = false;
};

struct Target {
  std::string edge;
  int64_t version = 0;
  std::string bytes;
};

/// The event for one edge, checked against the schemas as the edge will check it.
Result<std::string> changedEvent(const Context& c, const std::string& edge, int64_t version) {
  auto event = envelope::Envelope::event(envelope::Id::generate(), c.options.sender,
                                         c.clock.wallMs(), "config_changed",
                                         "remote config version " + std::to_string(version));
  event.body().AddMember("version", version, event.allocator());
  std::string bytes = envelope::encode(event);
  envelope::Decoder decoder(envelope::Limits{c.options.maxMessageBytes, 32});
  if (auto check = decoder.decode(bytes); !check) {
    return Error(Status::kBadRequest, "the config_changed event for " + edge +
                                          " would not be valid: " + check.error().describe());
  }
  return bytes;
}

/// Produces every target's event and waits for their delivery reports: how many were delivered,
/// or the first failure.
Result<size_t> produceAll(const Context& c, const std::vector<Target>& targets,
                          const security::SigningKey* key, const ClusterRoute& route) {
  const Options& o = c.options;
  size_t delivered = 0;
  std::optional<Error> failure;
  auto producer =
      kafka::Producer::create(o.producerConfigFor(route), [&](const kafka::DeliveryReport& r) {
        if (r.delivered()) {
          ++delivered;
        } else if (!failure) {
          failure = kafka::toError(r.err, "delivering config_changed");
        }
      });
  if (!producer) {
    return producer.error();
  }
  for (const auto& t : targets) {
    const std::string topic = o.topicFor(t.edge);
    std::vector<std::pair<std::string, std::string>> headers;
    if (key != nullptr) {
      headers = security::signatureHeaders(*key, topic, t.bytes);
    }
    if (auto r = (*producer)->produce(topic, t.edge, t.bytes, headers, 1); !r) {
      return r.error();
    }
  }
  (void)(*producer)->flush(static_cast<int>(o.kafkaTimeoutSeconds * 1000) + 1000);
  if (failure) {
    failure->message += " (Kafka at " + route.bootstrap + ")";
    return *failure;
  }
  if (delivered < targets.size()) {
    return Error(Status::kUnavailable, std::to_string(targets.size() - delivered) + " of " +
                                           std::to_string(targets.size()) +
                                           " config_changed events not delivered within " +
                                           std::to_string(o.kafkaTimeoutSeconds) +
                                           " s: is Kafka at " + route.bootstrap + " reachable?");
  }
  return delivered;
}

/// The edges the push names, or a printed failure.
int pushEdges(const Context& c, pg::Connection& db, const PushArgs& a,
              std::vector<std::string>& edges) {
  Result<std::vector<std::string>> found = std::vector<std::string>{};
  if (a.fleet) {
    found = fleetEdges(db);
  } else if (!a.label.empty()) {
    found = edgesWithLabel(db, a.label);
  } else {
    auto known = edgeKnown(db, a.edge);
    if (known && !*known) {
      return c.fail(kExitNotFound, "no edge " + a.edge + " (edges add " + a.edge + ")");
    }
    found = known ? Result<std::vector<std::string>>(std::vector<std::string>{a.edge})
                  : Result<std::vector<std::string>>(known.error());
  }
  if (!found) {
    return c.fail(exitCodeForDbError(found.error()), found.error().describe());
  }
  if (found->empty()) {
    return c.fail(kExitFailed, a.fleet ? std::string("no edges to push to (edges add)")
                                       : "--label " + a.label + ": no edge carries this label");
  }
  edges = *found;
  return kExitOk;
}

}  // namespace

int sendConfigChangedOn(const Context& c, pg::Connection& db, const ClusterRoute& route,
                        const std::vector<std::string>& edges, const security::SigningKey* key,
                        std::vector<Record>& sent) {
  std::vector<Target> targets;
  std::vector<Record> records;
  for (const auto& edge : edges) {
    auto versions = configVersions(db, edge);
    if (!versions) {
      return c.fail(exitCodeForDbError(versions.error()), versions.error().describe());
    }
    auto bytes = changedEvent(c, edge, versions->desired);
    if (!bytes) {
      return c.fail(kExitUsage, bytes.error().message);
    }
    targets.push_back({edge, versions->desired, *bytes});
    records.push_back({stringField("edge_id", edge), stringField("topic", c.options.topicFor(edge)),
                       numberField("version", versions->desired)});
  }
  auto delivered = produceAll(c, targets, key, route);
  if (!delivered) {
    return c.fail(kExitKafka, "config push: " + delivered.error().describe());
  }
  log::get("cli")->info("config push: config_changed sent to {} edge(s){}", *delivered,
                        route.own ? "" : " on Kafka cluster " + route.name);
  sent.insert(sent.end(), records.begin(), records.end());
  return kExitOk;
}

int sendConfigChanged(const Context& c, pg::Connection& db, const std::vector<std::string>& edges,
                      const security::SigningKey* key, std::vector<Record>& sent) {
  auto grouped = groupByCluster(db, c.options, edges);
  if (!grouped) {
    return c.fail(exitCodeForDbError(grouped.error()), grouped.error().describe());
  }
  int result = kExitOk;
  for (const auto& e : grouped->unknown) {
    result = c.fail(kExitUsage, "config push: " + e.message + "; nothing sent to it");
  }
  for (const auto& [route, members] : grouped->groups) {
    if (int failed = sendConfigChangedOn(c, db, route, members, key, sent); failed != kExitOk) {
      result = failed;
    }
  }
  return result;
}

namespace {

int configPush(const Context& c, const PushArgs& a) {
  const int given = (a.edge.empty() ? 0 : 1) + (a.fleet ? 1 : 0) + (a.label.empty() ? 0 : 1);
  if (given != 1) {
    return c.fail(kExitUsage, "expected exactly one of --edge ID, --label L or --fleet");
  }
  if (auto problem = a.edge.empty() ? "" : edgeIdProblem(a.edge); !problem.empty()) {
    return c.fail(kExitUsage, problem);
  }
  auto key = publishingKey(c.options.signRequests, c.options.signingKeyDir);
  if (!key) {
    return c.fail(exitCodeForKeyError(key.error()), key.error().describe());
  }
  return c.withDatabase([&](pg::Connection& db) {
    std::vector<std::string> edges;
    if (int failed = pushEdges(c, db, a, edges); failed != kExitOk) {
      return failed;
    }
    std::vector<Record> records;
    const int sent = sendConfigChanged(c, db, edges, *key ? &**key : nullptr, records);
    if (records.empty()) {
      return sent;
    }
    if (c.json) {
      c.out(renderJsonArray(records));
    } else {
      c.out(
          renderTable(records, {{"edge_id", "EDGE"}, {"topic", "TOPIC"}, {"version", "VERSION"}}) +
          "config_changed sent to " + std::to_string(records.size()) + " edge(s)\n");
    }
    return sent;
  });
}

}  // namespace

void addConfigPushCommand(Commands& cmds, CLI::App* config) {
  Context& c = cmds.context();
  auto a = std::make_shared<PushArgs>();
  auto* push = cmds.add(
      "push", "Send config_changed to edges: their agents fetch their config at once",
      "cloud-dispatcher config push --label building-7", [&c, a] { return configPush(c, *a); },
      config);
  push->add_option("--edge", a->edge, "One edge");
  push->add_option("--label", a->label, "Every edge carrying this label");
  push->add_flag("--fleet", a->fleet, "Every edge provisioned or heard from");
}

}  // namespace edgelink::dispatcher
