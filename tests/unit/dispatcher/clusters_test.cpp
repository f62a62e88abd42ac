// The deployment's Kafka clusters (clusters.h): kafka-clusters' validation, and the resolver the
// CLI publishes and moves edges with.
#include "clusters.h"

#include <catch2/catch.hpp>

#include "options.h"

using namespace edgelink;
using namespace edgelink::dispatcher;

namespace {

bool mentions(const config::Problems& p, const std::string& text) {
  for (const auto& line : p.lines()) {
    if (line.find(text) != std::string::npos) {
      return true;
    }
  }
  return false;
}

ClusterMap twoClusters() {
  return ClusterMap("a", "kafka-a1:9092", {{"b", "kafka-b1:9092,kafka-b2:9092"}});
}

}  // namespace

TEST_CASE("kafka-clusters entries are parsed by name, spaces trimmed", "[dispatcher][clusters]") {
  config::Problems p;
  auto m = parseKafkaClusters({"b=kafka-b1:9092,kafka-b2:9092", " c.eu-1 = kafka-c:9093 "}, "a",
                              "kafka-clusters", p);
  CHECK(p.empty());
  CHECK(m == std::map<std::string, std::string>{{"b", "kafka-b1:9092,kafka-b2:9092"},
                                                {"c.eu-1", "kafka-c:9093"}});
}

TEST_CASE("every bad kafka-clusters entry is reported, naming the key", "[dispatcher][clusters]") {
  config::Problems p;
  auto m = parseKafkaClusters(
      {"no-equals", "=kafka:9092", "b=", "bad name=kafka:9092", std::string(65, 'x') + "=k:1",
       "c=k1:9092", "c=k2:9092", "c=k3:9092", "a=kafka-a:9092"},
      "a", "kafka-clusters", p);
  CHECK(mentions(p, "kafka-clusters: 'no-equals': expected NAME=BOOTSTRAP"));
  CHECK(mentions(p, "kafka-clusters: '=kafka:9092': the name must be 1-64 characters"));
  CHECK(mentions(p, "kafka-clusters: 'b=': empty bootstrap servers"));
  CHECK(mentions(p, "kafka-clusters: 'bad name=kafka:9092': the name must be"));
  CHECK(mentions(p, "kafka-clusters: '" + std::string(65, 'x') + "=k:1': the name must be"));
  CHECK(mentions(p, "kafka-clusters: cluster c is given more than once"));
  CHECK(p.lines().size() == 6);  // c reported once, however often repeated
  // The own cluster may be listed (one list shared by every dispatcher): kafka-brokers wins.
  CHECK(m == std::map<std::string, std::string>{{"c", "k1:9092"}});
}

TEST_CASE("the options validate kafka-cluster and kafka-clusters, and default to none",
          "[dispatcher][clusters]") {
  Options defaults;
  CHECK(defaults.validate().empty());
  CHECK(defaults.clusters().single());
  CHECK(defaults.clusterBootstraps.empty());

  Options o;
  o.kafkaCluster = "a b";
  o.kafkaClusters = {"b=kafka-b:9092", "b=kafka-b2:9092", "x"};
  auto p = o.validate();
  CHECK(mentions(p, "kafka-cluster: expected 1-64 characters from A-Z a-z 0-9 . _ -, got 'a b'"));
  CHECK(mentions(p, "kafka-clusters: cluster b is given more than once"));
  CHECK(mentions(p, "kafka-clusters: 'x': expected NAME=BOOTSTRAP"));

  Options good;
  good.kafkaCluster = "a";
  good.kafkaBrokers = "kafka-a:9092";
  good.kafkaClusters = {"b=kafka-b:9092"};
  CHECK(good.validate().empty());
  CHECK_FALSE(good.clusters().single());
  auto b = good.clusters().named("b", "--cluster");
  REQUIRE(b);
  // The same client settings, another bootstrap; the own cluster's config is producerConfig().
  CHECK(good.producerConfigFor(*b).get("bootstrap.servers") == "kafka-b:9092");
  CHECK(good.producerConfigFor(*good.clusters().resolve(std::nullopt)).get("bootstrap.servers") ==
        "kafka-a:9092");
}

TEST_CASE("an edge's cluster resolves to its bootstrap, the own cluster's to kafka-brokers",
          "[dispatcher][clusters]") {
  const ClusterMap m = twoClusters();
  for (const auto& own : {std::optional<std::string>(), std::optional<std::string>(""),
                          std::optional<std::string>("a")}) {
    auto r = m.resolve(own);
    REQUIRE(r);
    CHECK(r->own);
    CHECK(r->name == "a");
    CHECK(r->bootstrap == "kafka-a1:9092");
  }
  auto b = m.resolve(std::string("b"));
  REQUIRE(b);
  CHECK_FALSE(b->own);
  CHECK(b->name == "b");
  CHECK(b->bootstrap == "kafka-b1:9092,kafka-b2:9092");

  auto unknown = m.resolve(std::string("z"));
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().status == Status::kNotFound);
  CHECK_THAT(unknown.error().message, Catch::Contains("Kafka cluster z"));
  CHECK_THAT(unknown.error().message, Catch::Contains("kafka-clusters"));
  CHECK_THAT(unknown.error().message, Catch::Contains("known: a (this dispatcher), b"));
}

TEST_CASE("a cluster an operator names must be the own one or in kafka-clusters",
          "[dispatcher][clusters]") {
  const ClusterMap m = twoClusters();
  auto a = m.named("a", "--cluster");
  REQUIRE(a);
  CHECK(a->own);
  auto b = m.named("b", "--cluster");
  REQUIRE(b);
  CHECK(b->bootstrap == "kafka-b1:9092,kafka-b2:9092");
  for (const std::string bad : {"z", ""}) {
    auto r = m.named(bad, "--cluster");
    REQUIRE_FALSE(r);
    CHECK(r.error().status == Status::kBadRequest);
    CHECK_THAT(r.error().message, Catch::StartsWith("--cluster: no Kafka cluster '" + bad + "'"));
  }
  // An unnamed own cluster cannot be named, so nothing can be moved onto it by name.
  const ClusterMap unnamed("", "kafka-a:9092", {{"b", "kafka-b:9092"}});
  CHECK_FALSE(unnamed.named("", "--cluster"));
  CHECK(unnamed.resolve(std::string("")).value().own);
  CHECK_THAT(unnamed.known(), Catch::Contains("(unnamed: set kafka-cluster)"));
}
