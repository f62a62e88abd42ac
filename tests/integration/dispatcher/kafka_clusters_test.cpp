// Several Kafka clusters on one database (docs/DISPATCHER.md, "Several Kafka clusters"): one
// dispatcher per cluster, each naming it (kafka-cluster). Offsets start at 0 on every cluster, so
// they are keys only together with it; edges.kafka_cluster says where each edge was last heard.
#include <catch2/catch.hpp>
#include <regex>

#include "db/migrations.h"
#include "dispatcher_harness.h"
#include "domain/model.h"
#include "envelope/envelope.h"
#include "envelope/types.h"
#include "harness/kafka_test_client.h"
#include "harness/pg_cluster.h"
#include "ingest/store.h"
#include "test_messages.h"

using namespace edgelink;
using namespace edgelink::dispatcher;
using namespace edgelink::testing;

namespace {

/// A database of the shared PostgreSQL and a connection to it, not migrated.
struct Db {
  std::string conninfo = sharedPg().createDatabase("clusters");
  std::unique_ptr<pg::Connection> conn;
  envelope::Decoder decoder;

  Db() {
    auto c = pg::Connection::open(conninfo, "clusters-test");
    REQUIRE(c);
    conn = std::move(*c);
  }

  std::string one(const std::string& sql) {
    auto r = conn->exec(sql);
    INFO(sql);
    REQUIRE(r);
    return r->empty() || r->isNull(0, 0) ? "" : r->str(0, 0);
  }

  /// Migrations 1..`version` as `db migrate` of that release applied them.
  void migrateTo(int version) {
    REQUIRE(
        conn->run("CREATE TABLE schema_migrations (version integer PRIMARY KEY,"
                  " name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"));
    for (const auto& m : migrations()) {
      if (m.version <= version) {
        INFO("migration " << m.version);
        REQUIRE(conn->run(m.sql));
        REQUIRE(conn->exec("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                           {std::to_string(m.version), std::string(m.name)}));
      }
    }
  }

  /// Stores `payloads` of edge e1 (topic edge.e1, partition 0) from offset `first`, as a
  /// dispatcher of `options` (its kafka-cluster) ingests them, with Kafka timestamp `atMs`.
  void ingest(const Options& options, const std::vector<std::string>& payloads, int64_t first,
              int64_t atMs = nowMs()) {
    Batch b(options);
    for (size_t i = 0; i < payloads.size(); ++i) {
      RawMessage m;
      m.topic = "edge.e1";
      m.key = "e1";
      m.offset = first + static_cast<int64_t>(i);
      m.payload = payloads[i];
      m.kafkaTimestampMs = atMs;
      b.add(m, decoder, nowMs());
    }
    Store store(options);
    REQUIRE(store.prepare(*conn));
    REQUIRE(store.write(*conn, b));
  }
};

Options onCluster(const std::string& name) {
  Options o;
  o.kafkaCluster = name;
  REQUIRE(o.validate().empty());
  return o;
}

std::string heartbeatJson() {
  auto e = envelope::Envelope::event(envelope::Id::generate(), "edge_board", nowMs(),
                                     envelope::event_type::kHeartbeat);
  e.set("agent_version", "1.2.3");
  e.set("interval_seconds", 60);
  e.set("uptime_seconds", 42.5);
  e.set("frp_running", false);
  return envelope::encode(e);
}

}  // namespace

TEST_CASE("a database migrated from 13 to 14 keeps its rows and takes another cluster's offsets",
          "[dispatcher][clusters][migrations]") {
  Db db;
  db.migrateTo(13);
  db.one("INSERT INTO edges (edge_id, first_seen_at, last_seen_at) VALUES ('e1', now(), now())");
  db.one(
      "INSERT INTO events (edge_id, kafka_partition, kafka_offset, id, type, sender,"
      " sent_at, received_at, body) VALUES ('e1', 0, 0, 'ev-old', 'agent_stopping',"
      " 'edge_board', now(), now(), '{}')");
  db.one(
      "INSERT INTO rejected_messages (topic, kafka_partition, kafka_offset, received_at,"
      " status_code, reason, payload, payload_bytes) VALUES ('edge.e1', 0, 1, now(), 400,"
      " 'not JSON', 'x', 1)");
  auto applied = migrate(*db.conn);
  REQUIRE(applied);
  CHECK(applied->from == 13);
  CHECK(applied->to == latestSchemaVersion());
  // Rows stored before came from the one, unnamed, cluster; the edge's cluster is not known.
  CHECK(db.one("SELECT kafka_cluster || '|' || id FROM events") == "|ev-old");
  CHECK(db.one("SELECT kafka_cluster || '|' || reason FROM rejected_messages") == "|not JSON");
  CHECK(db.one("SELECT kafka_cluster IS NULL AND kafka_cluster_at IS NULL FROM edge_status") ==
        "t");
  // The same places on another cluster are new; on the unnamed one, redelivered.
  db.ingest(onCluster("two"), {eventJson("agent_stopping", "ev-two"), "not JSON"}, 0);
  db.ingest(onCluster(""), {eventJson("agent_stopping", "ev-again"), "not JSON"}, 0);
  CHECK(db.one("SELECT string_agg(kafka_cluster || ':' || kafka_offset || ':' || id, ','"
               " ORDER BY seq) FROM events") == ":0:ev-old,two:0:ev-two");
  CHECK(db.one("SELECT string_agg(kafka_cluster || ':' || kafka_offset, ',' ORDER BY"
               " kafka_cluster, kafka_offset) FROM rejected_messages") == ":1,two:1");
}

TEST_CASE("an edge's cluster is the one of the newest message heard from it",
          "[dispatcher][clusters]") {
  Db db;
  REQUIRE(migrate(*db.conn));
  const int64_t now = nowMs();
  db.ingest(onCluster("old"), {heartbeatJson()}, 0, now - 60000);
  CHECK(db.one("SELECT kafka_cluster FROM edges") == "old");
  // The board moved: heard on the new cluster...
  db.ingest(onCluster("new"), {heartbeatJson()}, 0, now);
  CHECK(db.one("SELECT kafka_cluster || ' ' || (kafka_cluster_at = last_seen_at) FROM edges") ==
        "new true");
  // ...while the old cluster's dispatcher still reads its older messages: no move back.
  db.ingest(onCluster("old"), {eventJson("agent_stopping", "ev-late")}, 1, now - 30000);
  CHECK(db.one("SELECT kafka_cluster FROM edges") == "new");
  // A request to the edge is not the edge heard from.
  db.ingest(onCluster("cli"), {requestJson("r1")}, 2, now + 1000);
  CHECK(db.one("SELECT kafka_cluster FROM edges") == "new");
  // An unnamed cluster is known, and named "".
  db.ingest(onCluster(""), {heartbeatJson()}, 3, now + 2000);
  CHECK(db.one("SELECT kafka_cluster IS NOT NULL AND kafka_cluster = '' FROM edges") == "t");
}

TEST_CASE("two clusters' events and rejected messages at the same offsets are all stored, once",
          "[dispatcher][clusters]") {
  DispatcherHarness h({{"e1"}, {"kafka-cluster = \"one\""}});
  BrokerOptions bo;
  bo.privateBroker = true;
  bo.topics.emplace_back(h.topic("e1"));  // the same topic name on the second cluster
  auto second = makeBroker(bo);
  KafkaTestClient one(h.broker().bootstrap());
  KafkaTestClient two(second->bootstrap(), second->clientProperties());
  // Offsets 0 and 1 on each cluster: an event, then a message that is not JSON.
  one.produce(h.topic("e1"), "e1", eventJson("agent_stopping", "ev-one"));
  one.produce(h.topic("e1"), "e1", "not JSON");
  two.produce(h.topic("e1"), "e1", eventJson("agent_stopping", "ev-two"));
  two.produce(h.topic("e1"), "e1", "not JSON");
  h.startDaemon();
  h.startDaemon({"--kafka-brokers", second->bootstrap(), "--kafka-cluster", "two"});
  REQUIRE(h.waitFor("SELECT count(*) FROM rejected_messages", "2"));
  CHECK(h.waitForLog(1, "cluster 'two'"));
  REQUIRE(
      h.waitFor("SELECT string_agg(kafka_cluster || ':' || kafka_offset || ':' || id, ','"
                " ORDER BY kafka_cluster) FROM events",
                "one:0:ev-one,two:0:ev-two"));
  CHECK(h.sql("SELECT string_agg(kafka_cluster || ':' || kafka_offset, ',' ORDER BY"
              " kafka_cluster) FROM rejected_messages") == "one:1,two:1");
  // Both clusters read again from the start (new consumer groups): nothing stored twice. A new
  // event behind the old ones shows when they have been read.
  h.daemon(0).terminate(5000);
  h.daemon(1).terminate(5000);
  h.startDaemon({"--consumer-group", h.group() + "-again"});
  h.startDaemon({"--kafka-brokers", second->bootstrap(), "--kafka-cluster", "two",
                 "--consumer-group", h.group() + "-again"});
  one.produce(h.topic("e1"), "e1", eventJson("agent_stopping", "ev-one-2"));
  two.produce(h.topic("e1"), "e1", eventJson("agent_stopping", "ev-two-2"));
  REQUIRE(h.waitFor("SELECT count(*) FROM events", "4"));
  CHECK(h.sql("SELECT string_agg(kafka_cluster || ':' || kafka_offset || ':' || id, ','"
              " ORDER BY kafka_cluster, kafka_offset) FROM events") ==
        "one:0:ev-one,one:2:ev-one-2,two:0:ev-two,two:2:ev-two-2");
  CHECK(h.count("SELECT count(*) FROM rejected_messages") == 2);
}

TEST_CASE("a heartbeat records the cluster the edge was heard on and edges show prints it",
          "[dispatcher][clusters]") {
  DispatcherHarness h({{"e1", "e2"}, {"kafka-cluster = \"eu-1\""}});
  KafkaTestClient kafka(h.broker().bootstrap());
  h.startDaemon();
  kafka.produce(h.topic("e1"), "e1", heartbeatJson());
  kafka.produce(h.topic("e2"), "e2", requestJson("to-e2"));  // known, never heard from
  REQUIRE(h.waitFor("SELECT kafka_cluster FROM edge_status WHERE edge_id = 'e1'", "eu-1"));
  REQUIRE(h.waitFor("SELECT count(*) FROM requests WHERE id = 'to-e2'", "1"));
  CHECK(h.sql("SELECT kafka_cluster_at = last_heartbeat_at FROM edges WHERE edge_id = 'e1'") ==
        "t");
  auto shown = h.cli({"edges", "show", "e1"});
  CHECK(shown.code == 0);
  // "cluster:" and its value aligned with the other lines, the time as they show theirs.
  CHECK(std::regex_search(shown.out,
                          std::regex("\ncluster: +eu-1 \\(heard 20[0-9-]+T[0-9:.]+Z\\)\n")));
  auto json = h.cli({"edges", "show", "e1", "--json"});
  CHECK_THAT(json.out, Catch::Contains("\"kafka_cluster\":\"eu-1\""));
  CHECK_THAT(json.out, Catch::Contains("\"kafka_cluster_at\":\"20"));
  // A dispatcher without a kafka-cluster name stores "": known, unnamed.
  h.sql("UPDATE edges SET kafka_cluster = '' WHERE edge_id = 'e1' RETURNING 1");
  CHECK_THAT(h.cli({"edges", "show", "e1"}).out, Catch::Contains("(unnamed) (heard 20"));
  auto unheard = h.cli({"edges", "show", "e2"});
  CHECK(unheard.code == 0);
  CHECK_THAT(unheard.out, !Catch::Contains("cluster:"));
  auto unheardJson = h.cli({"edges", "show", "e2", "--json"});
  CHECK_THAT(unheardJson.out, Catch::Contains("\"kafka_cluster\":null"));
}
