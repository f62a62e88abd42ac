// The write path against PostgreSQL alone: redelivery changes nothing, notifications, the edge
// row cache.
#include "ingest/store.h"

#include <catch2/catch.hpp>

#include "db/migrations.h"
#include "dispatcher_harness.h"
#include "domain/model.h"
#include "harness/pg_cluster.h"
#include "test_messages.h"

using namespace edgelink;
using namespace edgelink::dispatcher;
using namespace edgelink::testing;

namespace {

struct Db {
  Options options;
  std::string conninfo = sharedPg().createDatabase("store");
  std::unique_ptr<pg::Connection> conn;
  envelope::Decoder decoder;
  std::vector<std::string> payloads;

  Db() {
    REQUIRE(options.validate().empty());
    auto c = pg::Connection::open(conninfo, "store-test");
    REQUIRE(c);
    conn = std::move(*c);
    REQUIRE(migrate(*conn));
  }

  /// A batch of `messages` on edge e1 from offset `first`.
  Batch batch(const std::vector<std::string>& messages, int64_t first) {
    Batch b(options);
    for (size_t i = 0; i < messages.size(); ++i) {
      payloads.push_back(messages[i]);
    }
    for (size_t i = 0; i < messages.size(); ++i) {
      RawMessage m;
      m.topic = "edge.e1";
      m.key = "e1";
      m.offset = first + static_cast<int64_t>(i);
      m.payload = payloads[payloads.size() - messages.size() + i];
      m.kafkaTimestampMs = nowMs();
      b.add(m, decoder, nowMs());
    }
    return b;
  }

  std::string one(const std::string& sql) {
    auto r = conn->exec(sql);
    REQUIRE(r);
    return r->empty() || r->isNull(0, 0) ? "" : r->str(0, 0);
  }
};

}  // namespace

TEST_CASE("a redelivered batch changes nothing and is reported as such", "[dispatcher][store]") {
  Db db;
  Store store(db.options);
  REQUIRE(store.prepare(*db.conn));
  std::vector<std::string> first = {requestJson("r1"), responseJson("r1", 200),
                                    eventJson("agent_stopping", "ev1")};
  auto b1 = db.batch(first, 0);
  auto w1 = store.write(*db.conn, b1);
  REQUIRE(w1);
  CHECK_FALSE(w1->redelivered);
  const std::string before =
      db.one("SELECT string_agg(edge_id || id || seen_at::text, ',') FROM requests");
  // The same messages again (a crash before the offsets were committed), plus new ones.
  std::vector<std::string> again = first;
  again.push_back(requestJson("r2"));
  again.push_back(responseJson("r1", 500));  // another answer to r1: the first one stays
  auto b2 = db.batch(again, 0);
  auto w2 = store.write(*db.conn, b2);
  REQUIRE(w2);
  CHECK(w2->redelivered);
  CHECK(db.one("SELECT count(*) FROM requests") == "2");
  CHECK(db.one("SELECT count(*) FROM responses") == "1");
  CHECK(db.one("SELECT count(*) FROM events") == "1");
  CHECK(db.one("SELECT status_code FROM responses WHERE id = 'r1'") == "200");
  CHECK(db.one("SELECT string_agg(edge_id || id || seen_at::text, ',') FROM requests"
               " WHERE id = 'r1'") == before);
}

TEST_CASE("an event sent again at another offset is stored once", "[dispatcher][store]") {
  Db db;
  Store store(db.options);
  REQUIRE(store.prepare(*db.conn));
  // The agent's outbox sends an event again when no delivery report came (a broker killed
  // mid-send): the same sender and id at a later offset, in a later batch and in the same one.
  const std::string stopped = eventJson("agent_stopping", "ev-once");
  REQUIRE(store.write(*db.conn, db.batch({stopped, eventJson("agent_stopping", "ev-other")}, 0)));
  auto again = store.write(*db.conn, db.batch({stopped, stopped}, 7));
  REQUIRE(again);
  CHECK(db.one("SELECT count(*) FROM events") == "2");
  CHECK(db.one("SELECT kafka_offset FROM events WHERE id = 'ev-once'") == "0");
  // Another sender may use the same id: ids are unique per sender only.
  std::string other = stopped;
  const std::string from = "\"sender\":\"edge_board\"";
  REQUIRE(other.find(from) != std::string::npos);
  other.replace(other.find(from), from.size(), "\"sender\":\"other_board\"");
  REQUIRE(store.write(*db.conn, db.batch({other}, 9)));
  CHECK(db.one("SELECT count(*) FROM events WHERE id = 'ev-once'") == "2");
}

TEST_CASE("a redelivered batch numbers its new events in Kafka order", "[dispatcher][store]") {
  Db db;
  Store store(db.options);
  REQUIRE(store.prepare(*db.conn));
  REQUIRE(store.write(*db.conn, db.batch({eventJson("agent_stopping", "ev0")}, 0)));
  // Offset 0 again (redelivered: the batch goes through the stage) with new events whose rows
  // reach the stage in another order than Kafka's: their seq must still follow the offsets
  // (the chaos run once saw an edge's events numbered out of order on that path).
  Batch b(db.options);
  const std::vector<std::pair<int64_t, std::string>> messages = {
      {3, eventJson("agent_stopping", "ev3")},
      {0, eventJson("agent_stopping", "ev0")},
      {1, eventJson("agent_stopping", "ev1")},
      {2, eventJson("agent_stopping", "ev2")}};
  for (const auto& [offset, json] : messages) {
    db.payloads.push_back(json);
  }
  for (size_t i = 0; i < messages.size(); ++i) {
    RawMessage m;
    m.topic = "edge.e1";
    m.key = "e1";
    m.offset = messages[i].first;
    m.payload = db.payloads[db.payloads.size() - messages.size() + i];
    m.kafkaTimestampMs = nowMs();
    b.add(m, db.decoder, nowMs());
  }
  auto w = store.write(*db.conn, b);
  REQUIRE(w);
  CHECK(w->redelivered);
  CHECK(db.one("SELECT string_agg(kafka_offset::text, ',' ORDER BY seq) FROM events") == "0,1,2,3");
}

TEST_CASE("each new response is notified, a large batch once", "[dispatcher][store]") {
  Db db;
  Store store(db.options);
  REQUIRE(store.prepare(*db.conn));
  auto listener = pg::Connection::open(db.conninfo, "listener");
  REQUIRE(listener);
  REQUIRE((*listener)->listen(kResponseChannel));
  auto small = db.batch({responseJson("n1", 200), responseJson("n2", 500)}, 0);
  REQUIRE(store.write(*db.conn, small));
  std::vector<std::string> payloads;
  while (auto n = (*listener)->waitNotification(2000)) {
    if (!*n) {
      break;
    }
    payloads.push_back((*n)->payload);
    if (payloads.size() == 2) {
      break;
    }
  }
  REQUIRE(payloads.size() == 2);
  CHECK(payloads[0] ==
        "{\"edge_id\":\"e1\",\"id\":\"n1\",\"status_code\":200,\"state\":\"succeeded\"}");
  CHECK(payloads[1] ==
        "{\"edge_id\":\"e1\",\"id\":\"n2\",\"status_code\":500,\"state\":\"failed\"}");
  std::vector<std::string> many;
  for (size_t i = 0; i < kNotifyEachUpTo + 1; ++i) {
    many.push_back(responseJson("bulk-" + std::to_string(i), 200));
  }
  REQUIRE(store.write(*db.conn, db.batch(many, 10)));
  auto n = (*listener)->waitNotification(5000);
  REQUIRE(n);
  REQUIRE(*n);
  CHECK((*n)->payload == "{\"batch\":true,\"responses\":257}");
  auto none = (*listener)->waitNotification(200);
  REQUIRE(none);
  CHECK_FALSE(*none);
}

TEST_CASE("edge rows are written when they change, not for every message", "[dispatcher][store]") {
  Db db;
  Store store(db.options);
  REQUIRE(store.prepare(*db.conn));
  auto w1 = store.write(*db.conn, db.batch({responseJson("a", 200)}, 0));
  REQUIRE(w1);
  CHECK(w1->edgesWritten == 1);
  auto w2 = store.write(*db.conn, db.batch({responseJson("b", 200)}, 1));  // seconds later
  REQUIRE(w2);
  CHECK(w2->edgesWritten == 0);
  auto w3 = store.write(*db.conn, db.batch({eventJson("agent_stopping")}, 2));  // news
  REQUIRE(w3);
  CHECK(w3->edgesWritten == 1);
  CHECK(db.one("SELECT stopped_at IS NOT NULL FROM edges WHERE edge_id = 'e1'") == "t");
}

TEST_CASE("a COMMIT that PostgreSQL turned into a rollback is an error, not a success",
          "[dispatcher][store]") {
  Db db;
  {
    auto tx = pg::Transaction::begin(*db.conn);
    REQUIRE(tx);
    REQUIRE(
        db.conn->run("INSERT INTO dispatcher_settings (key, value, updated_at)"
                     " VALUES ('kept', '1', now())"));
    REQUIRE((*tx)->commit());
  }
  auto tx = pg::Transaction::begin(*db.conn);
  REQUIRE(tx);
  REQUIRE(
      db.conn->run("INSERT INTO dispatcher_settings (key, value, updated_at)"
                   " VALUES ('lost', '1', now())"));
  CHECK_FALSE(db.conn->run("SELECT 1/0"));  // fails; the transaction is aborted
  auto committed = (*tx)->commit();
  REQUIRE_FALSE(committed);
  CHECK_THAT(committed.error().message, Catch::Contains("rolled the transaction back at COMMIT"));
  CHECK(db.one("SELECT string_agg(key, ',') FROM dispatcher_settings WHERE key IN"
               " ('kept', 'lost')") == "kept");
}
