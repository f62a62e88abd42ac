#include "harness/test_broker.h"

#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <random>
#include <stdexcept>

#include "core/strings.h"
#include "harness/dev_broker_process.h"
#include "harness/test_util.h"
#include "kafka/client.h"

namespace edgelink::testing {

namespace {

constexpr int kStartTimeoutMs = 120000;

[[noreturn]] void unsupported(const char* what, BrokerKind kind) {
  throw std::logic_error(
      std::string(what) + " is not supported on " +
      (kind == BrokerKind::kMock ? "the mock broker" : "a shared real broker (use privateBroker)"));
}

/// True when the broker at `bootstrap` answers a metadata request within `timeoutMs`.
bool answersMetadata(const std::string& bootstrap, int timeoutMs) {
  kafka::Config c;
  c.set("bootstrap.servers", bootstrap);
  c.set("log_level", "0");
  auto conf = c.build();
  if (!conf) {
    return false;
  }
  char err[256];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf->release(), err, sizeof err);
  if (rk == nullptr) {
    return false;
  }
  const rd_kafka_metadata_t* md = nullptr;
  auto e = rd_kafka_metadata(rk, 0, nullptr, &md, timeoutMs);
  const bool ok = e == RD_KAFKA_RESP_ERR_NO_ERROR && md != nullptr && md->broker_cnt > 0;
  if (md != nullptr) {
    rd_kafka_metadata_destroy(md);
  }
  rd_kafka_destroy(rk);
  return ok;
}

void createOnKafka(const std::string& bootstrap, const std::vector<TopicSpec>& topics) {
  kafka::Config c;
  c.set("bootstrap.servers", bootstrap);
  c.set("log_level", "3");
  std::vector<kafka::NewTopic> specs;
  for (const auto& t : topics) {
    specs.push_back({t.name, t.partitions, 1, t.configs});
  }
  auto results = kafka::createTopics(c, specs, 60000);
  if (!results) {
    throw std::runtime_error("creating topics: " + results.error().describe());
  }
  for (size_t i = 0; i < topics.size(); ++i) {
    const auto& r = (*results)[i];
    if (!r && r.error().status != Status::kConflict) {
      throw std::runtime_error("creating topic " + topics[i].name + ": " + r.error().describe());
    }
  }
}

// -------------------------------------------------------------------------------------------
// The mock.

class MockBroker final : public TestBroker {
 public:
  explicit MockBroker(const BrokerOptions& o) {
    std::vector<std::string> args;
    for (const auto& t : o.topics) {
      args.insert(args.end(), {"--topic", t.name + ":" + std::to_string(t.partitions)});
    }
    proc_ = std::make_unique<DevBrokerProcess>(args);
  }
  BrokerKind kind() const override { return BrokerKind::kMock; }
  std::string bootstrap() const override { return proc_->bootstrap(); }
  void createTopics(const std::vector<TopicSpec>& /*topics*/) override {
    unsupported("creating topics after start", kind());
  }
  std::vector<std::string> clientProperties() const override {
    // The mock never wakes a waiting fetch: answers would wait fetch.wait.max.ms (500 ms).
    return {"fetch.wait.max.ms=10"};
  }
  void setDown(bool down) override { proc_->setDown(down); }
  void stop() override { proc_->stop(); }
  int pid() const override { return proc_->pid(); }

 private:
  std::unique_ptr<DevBrokerProcess> proc_;
};

// -------------------------------------------------------------------------------------------
// Real Kafka.

class RealBroker final : public TestBroker {
 public:
  /// A private broker, or a handle on the shared one (`shared` non-null).
  RealBroker(const BrokerOptions& o, std::shared_ptr<KafkaProcess> shared,
             std::optional<Sasl> sharedSasl, std::string sharedBootstrap)
      : shared_(std::move(shared)),
        sasl_(std::move(sharedSasl)),
        bootstrap_(std::move(sharedBootstrap)) {
    if (o.privateBroker) {
      own_ = std::make_unique<KafkaProcess>("", o.properties, o.scramUsers);
      bootstrap_ = own_->bootstrap();
      sasl_ = own_->sasl();
    }
    if (!o.topics.empty()) {
      createTopics(o.topics);
    }
  }
  BrokerKind kind() const override { return BrokerKind::kKafka; }
  std::string bootstrap() const override { return bootstrap_; }
  void createTopics(const std::vector<TopicSpec>& topics) override {
    createOnKafka(bootstrap_, topics);
  }
  std::vector<std::string> clientProperties() const override { return {}; }
  void kill9() override { self().kill9(); }
  void stop() override { self().stop(); }
  void restart() override { self().start(); }
  int pid() const override { return own_ ? own_->pid() : 0; }
  std::optional<Sasl> sasl() const override { return sasl_; }

 private:
  KafkaProcess& self() {
    if (!own_) {
      unsupported("killing or restarting", kind());
    }
    return *own_;
  }

  std::shared_ptr<KafkaProcess> shared_;  ///< keeps a process-wide broker alive
  std::optional<Sasl> sasl_;
  std::unique_ptr<KafkaProcess> own_;
  std::string bootstrap_;
};

/// The broker shared by this process: the ctest fixture's, else one started on first use (and
/// stopped when the last test using it is done, or at exit).
struct Shared {
  std::shared_ptr<KafkaProcess> process;  ///< null for the fixture's broker
  TestBroker::Sasl sasl;
  std::string bootstrap;
};

Shared sharedKafka() {
  static std::mutex mutex;
  static std::weak_ptr<KafkaProcess> started;
  std::lock_guard<std::mutex> lock(mutex);
  if (const char* fixtures = std::getenv("EDGELINK_TEST_FIXTURES"); fixtures && *fixtures) {
    const std::string env = std::string(fixtures) + "/kafka/broker.env";
    Shared s;
    for (const auto& [k, v] : readEnvFile(env)) {
      if (k == "KAFKA_BOOTSTRAP") {
        s.bootstrap = v;
      } else if (k == "KAFKA_SASL_BOOTSTRAP") {
        s.sasl.bootstrap = v;
      } else if (k == "KAFKA_SASL_USER") {
        s.sasl.user = v;
      } else if (k == "KAFKA_SASL_PASSWORD") {
        s.sasl.password = v;
      } else if (k == "KAFKA_CA") {
        s.sasl.caFile = v;
      }
    }
    if (s.bootstrap.empty()) {
      throw std::runtime_error("no KAFKA_BOOTSTRAP in " + env +
                               ": did the kafka fixture (kafka_fixture_start) fail?");
    }
    return s;
  }
  auto p = started.lock();
  if (!p) {
    p = std::make_shared<KafkaProcess>();
    started = p;
  }
  return {p, p->sasl(), p->bootstrap()};
}

}  // namespace

// ---------------------------------------------------------------------------------------------

std::string uniqueName(const std::string& prefix) {
  static std::atomic<unsigned> counter{0};
  static const unsigned salt = std::random_device{}() % 46656;  // 3 base-36 digits
  auto base36 = [](unsigned v) {
    std::string s;
    do {
      s.insert(s.begin(), "0123456789abcdefghijklmnopqrstuvwxyz"[v % 36]);
      v /= 36;
    } while (v != 0);
    return s;
  };
  return prefix + base36(static_cast<unsigned>(::getpid())) + "x" + base36(counter++) +
         base36(salt);
}

kafka::Config TestBroker::clientConfig() const {
  kafka::Config c;
  c.set("bootstrap.servers", bootstrap());
  for (const auto& kv : clientProperties()) {
    auto eq = kv.find('=');
    c.set(kv.substr(0, eq), kv.substr(eq + 1));
  }
  return c;
}

void TestBroker::setDown(bool /*down*/) {
  unsupported("an outage at will", kind());
}
void TestBroker::kill9() {
  unsupported("kill -9", kind());
}
void TestBroker::stop() {
  unsupported("stopping", kind());
}
void TestBroker::restart() {
  unsupported("restarting", kind());
}

const char* brokerKindName(BrokerKind kind) {
  return kind == BrokerKind::kKafka ? "real Kafka broker" : "dev broker (mock)";
}

std::optional<std::vector<BrokerKind>> brokerKindsNamed(const std::string& name) {
  if (name == "real") {
    return std::vector<BrokerKind>{BrokerKind::kKafka};
  }
  if (name == "mock") {
    return std::vector<BrokerKind>{BrokerKind::kMock};
  }
  if (name == "both") {
    return std::vector<BrokerKind>{BrokerKind::kKafka, BrokerKind::kMock};
  }
  return std::nullopt;
}

BrokerKind defaultBrokerKind() {
  const char* v = std::getenv("EDGELINK_TEST_BROKER");
  return v != nullptr && std::string(v) == "mock" ? BrokerKind::kMock : BrokerKind::kKafka;
}

BrokerOptions::BrokerOptions() : kind(defaultBrokerKind()) {}

std::unique_ptr<TestBroker> makeBroker(const BrokerOptions& options) {
  if (options.kind == BrokerKind::kMock) {
    return std::make_unique<MockBroker>(options);
  }
  if (options.privateBroker) {
    return std::make_unique<RealBroker>(options, nullptr, std::nullopt, "");
  }
  Shared shared = sharedKafka();
  return std::make_unique<RealBroker>(options, std::move(shared.process), shared.sasl,
                                      shared.bootstrap);
}

// ---------------------------------------------------------------------------------------------

std::vector<std::string> saslProperties(const TestBroker::Sasl& sasl) {
  return {"security.protocol=SASL_SSL", "sasl.mechanism=SCRAM-SHA-512",
          "sasl.username=" + sasl.user, "sasl.password=" + sasl.password,
          "ssl.ca.location=" + sasl.caFile};
}

std::vector<std::string> authorizerProperties() {
  return {"authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
          "super.users=User:edgelink;User:ANONYMOUS", "allow.everyone.if.no.acl.found=false"};
}

std::map<std::string, std::string> describeTopic(const std::string& bootstrap,
                                                 const std::string& topic) {
  kafka::Config c;
  c.set("bootstrap.servers", bootstrap);
  c.set("log_level", "3");
  auto conf = c.build();
  if (!conf) {
    throw std::runtime_error(conf.error().describe());
  }
  char err[256];
  std::unique_ptr<rd_kafka_t, decltype(&rd_kafka_destroy)> rk(
      rd_kafka_new(RD_KAFKA_PRODUCER, conf->release(), err, sizeof err), &rd_kafka_destroy);
  if (!rk) {
    throw std::runtime_error(err);
  }
  std::map<std::string, std::string> out;
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk.get(), topic.c_str(), nullptr);
  const rd_kafka_metadata_t* md = nullptr;
  auto e = rd_kafka_metadata(rk.get(), 0, rkt, &md, 10000);
  rd_kafka_topic_destroy(rkt);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR || md == nullptr || md->topic_cnt != 1 ||
      md->topics[0].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    if (md != nullptr) {
      rd_kafka_metadata_destroy(md);
    }
    throw std::runtime_error("no metadata for topic " + topic);
  }
  out["partitions"] = std::to_string(md->topics[0].partition_cnt);
  out["replicas"] = std::to_string(md->topics[0].partitions[0].replica_cnt);
  rd_kafka_metadata_destroy(md);

  rd_kafka_ConfigResource_t* res =
      rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic.c_str());
  std::unique_ptr<rd_kafka_queue_t, decltype(&rd_kafka_queue_destroy)> q(
      rd_kafka_queue_new(rk.get()), &rd_kafka_queue_destroy);
  rd_kafka_DescribeConfigs(rk.get(), &res, 1, nullptr, q.get());
  rd_kafka_ConfigResource_destroy(res);
  std::unique_ptr<rd_kafka_event_t, decltype(&rd_kafka_event_destroy)> ev(
      rd_kafka_queue_poll(q.get(), 15000), &rd_kafka_event_destroy);
  if (!ev || rd_kafka_event_error(ev.get()) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    throw std::runtime_error("DescribeConfigs for " + topic + " failed");
  }
  const rd_kafka_DescribeConfigs_result_t* result = rd_kafka_event_DescribeConfigs_result(ev.get());
  size_t nres = 0;
  const rd_kafka_ConfigResource_t** rs = rd_kafka_DescribeConfigs_result_resources(result, &nres);
  for (size_t i = 0; i < nres; ++i) {
    size_t n = 0;
    const rd_kafka_ConfigEntry_t** entries = rd_kafka_ConfigResource_configs(rs[i], &n);
    for (size_t j = 0; j < n; ++j) {
      const char* v = rd_kafka_ConfigEntry_value(entries[j]);
      out[rd_kafka_ConfigEntry_name(entries[j])] = v != nullptr ? v : "";
    }
  }
  return out;
}

std::string kafkaLauncherPath() {
  return std::string(EDGELINK_SOURCE_DIR_FOR_TESTS) + "/tools/kafka/edgelink-kafka";
}

std::vector<std::pair<std::string, std::string>> readEnvFile(const std::string& path) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& line : split(readText(path), '\n')) {
    auto eq = line.find('=');
    if (eq != std::string::npos && !line.empty() && line[0] != '#') {
      out.emplace_back(line.substr(0, eq), line.substr(eq + 1));
    }
  }
  return out;
}

KafkaProcess::KafkaProcess(std::string dir, std::vector<std::string> properties,
                           std::vector<std::pair<std::string, std::string>> scramUsers)
    : dir_(std::move(dir)), properties_(std::move(properties)) {
  if (dir_.empty()) {
    char tmpl[] = "/tmp/edgelink-kafka-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) {
      throw std::runtime_error("mkdtemp failed");
    }
    dir_ = tmpl;
    ownsDir_ = true;
  }
  if (!scramUsers.empty()) {
    // The launcher makes them when it formats DIR/data (tools/kafka/edgelink-kafka).
    std::string lines;
    for (const auto& [name, password] : scramUsers) {
      lines += name + " " + password + "\n";
    }
    writeText(dir_ + "/scram-users", lines);
  }
  start();
}

KafkaProcess::~KafkaProcess() {
  if (proc_.valid()) {
    proc_.terminate(20000);
  }
  if (ownsDir_) {
    removeTree(dir_);
  }
}

std::string KafkaProcess::log() const {
  return readText(dir_ + "/broker.log");
}

void KafkaProcess::start() {
  if (running()) {
    return;
  }
  ::unlink((dir_ + "/broker.env").c_str());
  SpawnOptions opts;
  // `run` prepares the directory, then execs the JVM: the pid we hold is the broker's.
  opts.argv = {kafkaLauncherPath(), "run", dir_};
  opts.argv.insert(opts.argv.end(), properties_.begin(), properties_.end());
  opts.stdoutPath = dir_ + "/broker.log";
  opts.stderrPath = dir_ + "/broker.log";
  if (std::getenv("KAFKA_JVM_OPTS") == nullptr) {
    opts.extraEnv.push_back(std::string("KAFKA_JVM_OPTS=") + EDGELINK_TEST_KAFKA_JVM_OPTS);
  }
  auto p = Subprocess::spawn(opts);
  if (!p) {
    throw std::runtime_error("starting " + kafkaLauncherPath() + ": " + p.error().describe());
  }
  proc_ = std::move(*p);
  waitReady(kStartTimeoutMs);
}

void KafkaProcess::waitReady(int timeoutMs) {
  const bool ok = waitUntil(
      [&] {
        if (!running()) {
          return true;  // reported below
        }
        if (::access((dir_ + "/broker.env").c_str(), R_OK) != 0) {
          return false;  // written once the data dir is formatted
        }
        for (const auto& [k, v] : readEnvFile(dir_ + "/broker.env")) {
          if (k == "KAFKA_BOOTSTRAP") {
            bootstrap_ = v;
          } else if (k == "KAFKA_SASL_BOOTSTRAP") {
            saslBootstrap_ = v;
          } else if (k == "KAFKA_SASL_USER") {
            saslUser_ = v;
          } else if (k == "KAFKA_SASL_PASSWORD") {
            saslPassword_ = v;
          } else if (k == "KAFKA_CA") {
            caFile_ = v;
          }
        }
        return !bootstrap_.empty() && answersMetadata(bootstrap_, 1000);
      },
      timeoutMs, 100);
  if (!running()) {
    throw std::runtime_error("the Kafka broker in " + dir_ + " exited during start-up (" +
                             describeWaitStatus(proc_.exitStatus().value_or(0)) + "):\n" + log());
  }
  if (!ok) {
    throw std::runtime_error("the Kafka broker in " + dir_ + " did not answer within " +
                             std::to_string(timeoutMs) + " ms:\n" + log());
  }
}

void KafkaProcess::kill9() {
  proc_.signal(SIGKILL);
  proc_.waitFor(-1);
}

void KafkaProcess::stop() {
  if (proc_.valid()) {
    proc_.terminate(30000);
  }
}

}  // namespace edgelink::testing
