// Proves the integration harness: the dev broker as a real process carries envelopes over TCP
// between independent librdkafka clients, survives an outage, and the throwaway PostgreSQL
// answers queries; real Kafka takes a fleet's topics through the admin API.
#include <catch2/catch.hpp>
#include <chrono>
#include <pqxx/pqxx>
#include <thread>

#include "envelope/envelope.h"
#include "harness/dev_broker_process.h"
#include "harness/fault_proxy.h"
#include "harness/kafka_test_client.h"
#include "harness/pg_cluster.h"
#include "harness/test_broker.h"
#include "harness/test_util.h"
#include "kafka/client.h"

using namespace edgelink;
using namespace edgelink::testing;

TEST_CASE("envelopes produced to edge.test-1 are read back through the dev broker",
          "[harness][kafka]") {
  DevBrokerProcess broker({"--topic", "edge.test-1:1"});
  KafkaTestClient client(broker.bootstrap());
  envelope::Decoder decoder;
  std::vector<std::string> sent;
  for (int i = 0; i < 5; ++i) {
    auto req = envelope::Envelope::request(envelope::Id::number(static_cast<uint64_t>(i)),
                                           "web_backend", 1795248000000 + i, "ping");
    sent.push_back(envelope::encode(req));
    client.produce("edge.test-1", "test-1", sent.back());
  }
  auto records = client.readFromStart("edge.test-1", 5, 20000);
  REQUIRE(records.size() == 5);
  for (size_t i = 0; i < records.size(); ++i) {
    CHECK(records[i].key == "test-1");
    CHECK(records[i].partition == 0);
    CHECK(records[i].offset == static_cast<int64_t>(i));
    CHECK(records[i].value == sent[i]);
    auto decoded = decoder.decode(records[i].value);
    REQUIRE(decoded.ok());
    CHECK(decoded->id.str() == std::to_string(i));
  }
}

TEST_CASE("the dev broker can be taken down and brought back", "[harness][kafka]") {
  DevBrokerProcess broker({"--topic", "edge.outage:1"});
  KafkaTestClient client(broker.bootstrap(), {"message.timeout.ms=30000"});
  client.produce("edge.outage", "k", "before");
  broker.setDown(true);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  broker.setDown(false);
  client.produce("edge.outage", "k", "after");
  auto records = client.readFromStart("edge.outage", 2, 20000);
  REQUIRE(records.size() == 2);
  CHECK(records[1].value == "after");
}

TEST_CASE("the throwaway PostgreSQL runs queries in a fresh database", "[harness][pg]") {
  std::string conninfo = sharedPg().createDatabase("harness");
  pqxx::connection conn(conninfo);
  pqxx::work tx(conn);
  tx.exec("CREATE TABLE t (id int PRIMARY KEY, body jsonb)");
  tx.exec("INSERT INTO t VALUES (1, '{\"pong\": true}')");
  auto row = tx.exec1("SELECT body->>'pong', current_setting('server_version_num')::int FROM t");
  CHECK(row[0].as<std::string>() == "true");
  CHECK(row[1].as<int>() >= 150000);
  tx.commit();
}

TEST_CASE("a fault proxy passes a link, cuts it, slows it and passes again", "[harness][pg]") {
  PgCluster& pg = sharedPg();
  FaultProxy proxy(pg.port());
  std::string conninfo = pg.conninfo();
  const std::string direct = "port=" + std::to_string(pg.port());
  conninfo.replace(conninfo.find(direct), direct.size(), "port=" + std::to_string(proxy.port()));
  auto selectOne = [](pqxx::connection& c) { return pqxx::work(c).exec1("SELECT 1")[0].as<int>(); };
  pqxx::connection before(conninfo);
  CHECK(selectOne(before) == 1);
  proxy.set(FaultProxy::Mode::kCut);
  CHECK_THROWS(selectOne(before));           // the open link is cut
  CHECK_THROWS(pqxx::connection(conninfo));  // and no new one gets through
  proxy.set(FaultProxy::Mode::kSlow, 20);
  pqxx::connection slow(conninfo);
  CHECK(selectOne(slow) == 1);
  proxy.set(FaultProxy::Mode::kPass);
  pqxx::connection after(conninfo);
  CHECK(selectOne(after) == 1);
  CHECK(proxy.connections() == 4);
}

TEST_CASE("createTopics makes a fleet's topics in batched requests and reports each one",
          "[harness][kafka]") {
  BrokerOptions o;
  o.kind = BrokerKind::kKafka;
  auto broker = makeBroker(o);
  const std::string prefix = uniqueName("fleet") + ".";
  kafka::Config c = broker->clientConfig();
  REQUIRE(kafka::createTopic(c, prefix + "existing", 1, 1, {}, 30000).ok());

  // More than one request's worth, one topic already there, one name Kafka refuses, one with
  // a config.
  std::vector<kafka::NewTopic> topics;
  const size_t n = kafka::kCreateTopicsBatch + 10;
  for (size_t i = 0; i < n; ++i) {
    topics.push_back({prefix + std::to_string(i), 1, 1, {}});
  }
  topics[3].name = prefix + "existing";
  topics[kafka::kCreateTopicsBatch + 2].name = prefix + "bad/name";
  topics[kafka::kCreateTopicsBatch + 5].configs = {{"retention.ms", "3600000"}};
  auto results = kafka::createTopics(c, topics, 60000);
  REQUIRE(results.ok());
  REQUIRE(results->size() == n);
  for (size_t i = 0; i < n; ++i) {
    INFO(topics[i].name);
    if (i == 3) {
      REQUIRE_FALSE((*results)[i].ok());
      CHECK((*results)[i].error().status == Status::kConflict);
    } else if (i == kafka::kCreateTopicsBatch + 2) {
      REQUIRE_FALSE((*results)[i].ok());
      CHECK((*results)[i].error().describe().find("bad/name") != std::string::npos);
    } else {
      CHECK((*results)[i].ok());
    }
  }
  auto listed = kafka::Producer::create(c);
  REQUIRE(listed.ok());
  // CreateTopics answers once the controller made them; brokers' metadata follows shortly.
  size_t seen = 0;
  CHECK(waitUntil(
      [&] {
        auto names = kafka::listTopics((*listed)->handle(), prefix, 30000);
        seen = names ? names->size() : 0;
        return seen == n - 1;  // all but the bad name ("existing" was there before)
      },
      20000));
  CHECK(seen == n - 1);
  CHECK(describeTopic(broker->bootstrap(), topics[kafka::kCreateTopicsBatch + 5].name)
            .at("retention.ms") == "3600000");
}

TEST_CASE("a batch poll returns at its first message and takes what is queued behind it",
          "[harness][kafka]") {
  BrokerOptions o;
  o.kind = BrokerKind::kKafka;
  const std::string topic = uniqueName("batch-poll-");
  o.topics = {{topic, 1}};
  auto broker = makeBroker(o);
  KafkaTestClient client(broker->bootstrap());
  kafka::Config cc = broker->clientConfig();
  cc.set("group.id", uniqueName("batch-poll-"));
  auto consumer = kafka::Consumer::create(cc);
  REQUIRE(consumer.ok());
  REQUIRE((*consumer)->assign({{topic, 0, RD_KAFKA_OFFSET_BEGINNING}}).ok());
  const auto elapsedMs = [](auto t0) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                 t0)
        .count();
  };

  // A lone message: the poll does not wait out its 30 s for a batch of 100 to fill.
  client.produce(topic, "k", "one");
  auto t0 = std::chrono::steady_clock::now();
  auto first = (*consumer)->pollBatch(100, 30000);
  REQUIRE(first.size() == 1);
  CHECK(first[0].payload() == "one");
  CHECK(elapsedMs(t0) < 15000);

  // Fifty queued while nobody polls: one poll takes them all, at once.
  for (int i = 0; i < 50; ++i) {
    client.produce(topic, "k", "m" + std::to_string(i));
  }
  std::this_thread::sleep_for(std::chrono::seconds(2));  // the fetcher queues them
  t0 = std::chrono::steady_clock::now();
  auto rest = (*consumer)->pollBatch(100, 30000);
  CHECK(elapsedMs(t0) < 15000);
  REQUIRE(rest.size() == 50);
  CHECK(rest.front().payload() == "m0");
  CHECK(rest.back().payload() == "m49");
}
