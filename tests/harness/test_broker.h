#pragma once

// The Kafka broker a test runs against, behind one interface with two implementations:
//  - real Apache Kafka (tools/kafka/edgelink-kafka; the default), either the broker shared by
//    the ctest run (the `kafka` fixture: $EDGELINK_TEST_FIXTURES/kafka) or, without the fixture,
//    one started on first use for this test process; or a private one for tests that kill or
//    restart it;
//  - the dev broker (librdkafka's mock cluster as a process: tools/devbroker), for fast runs and
//    for faults a real broker cannot be pushed into (an outage at will). Tests that need it say
//    "(mock)" in their names.
// EDGELINK_TEST_BROKER=mock runs every default-broker test on the mock instead.
//
// A broker may be shared between tests: each test gets its own topics (`Namespace`).

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/subprocess.h"
#include "kafka/config.h"

namespace edgelink::testing {

enum class BrokerKind { kKafka, kMock };

/// Unique per call across processes: "<prefix><pid>x<counter><random>", [a-z0-9] after prefix.
std::string uniqueName(const std::string& prefix);

/// A topic to create.
struct TopicSpec {
  TopicSpec(std::string n, int p = 1, std::map<std::string, std::string> c = {})
      : name(std::move(n)), partitions(p), configs(std::move(c)) {}
  std::string name;
  int partitions;
  std::map<std::string, std::string> configs;  ///< topic configs (real Kafka only)
};

class TestBroker {
 public:
  virtual ~TestBroker() = default;
  virtual BrokerKind kind() const = 0;
  bool isMock() const { return kind() == BrokerKind::kMock; }
  /// bootstrap.servers for clients.
  virtual std::string bootstrap() const = 0;
  /// Creates topics (real: the admin API; idempotent). Throws on failure.
  virtual void createTopics(const std::vector<TopicSpec>& topics) = 0;
  /// librdkafka properties clients of this broker should use in tests, as key=value (the mock
  /// never wakes a waiting fetch: a small fetch.wait.max.ms).
  virtual std::vector<std::string> clientProperties() const = 0;
  /// The same for a kafka::Config: bootstrap.servers plus clientProperties().
  kafka::Config clientConfig() const;

  /// Faults. The mock: an outage at will (connections refused, the process stays). A private
  /// real broker: kill -9, SIGTERM and start again (same data, same ports). Others throw.
  virtual void setDown(bool down);
  virtual void kill9();
  virtual void stop();
  virtual void restart();
  /// The broker's pid (0 when not a process of ours).
  virtual int pid() const { return 0; }

  /// The SASL_SSL listener of a real broker (SCRAM-SHA-512 over TLS); nullopt on the mock.
  struct Sasl {
    std::string bootstrap, user, password, caFile;
  };
  virtual std::optional<Sasl> sasl() const { return std::nullopt; }
};

/// The librdkafka properties for a SASL_SSL listener, as the docs give them (docs/AGENT.md).
std::vector<std::string> saslProperties(const TestBroker::Sasl& sasl);

/// Broker properties for a private real broker with Kafka's standard KRaft authorizer (ACLs
/// enforced, nothing allowed without one). Super users: the launcher's SASL user (the tests'
/// admin) and ANONYMOUS, the principal of the PLAINTEXT listeners, which carry the
/// broker-to-controller traffic and the harness's own calls (a board never uses them: ACL tests
/// connect boards over SASL_SSL with their own SCRAM users, BrokerOptions::scramUsers).
std::vector<std::string> authorizerProperties();

/// A topic's configuration as the broker describes it (real Kafka: DescribeConfigs), with its
/// partition count under "partitions". Throws on failure.
std::map<std::string, std::string> describeTopic(const std::string& bootstrap,
                                                 const std::string& topic);

struct BrokerOptions {
  BrokerKind kind;
  /// A broker of this test's own, not the shared one (tests that kill or restart it).
  bool privateBroker = false;
  /// Created before the broker is handed out (the mock creates them at start: it has no
  /// CreateTopics).
  std::vector<TopicSpec> topics;
  /// Extra broker properties (real Kafka: key=value for server.properties).
  std::vector<std::string> properties;
  /// Extra SCRAM-SHA-512 users (name, password) made at format time (a private real broker).
  std::vector<std::pair<std::string, std::string>> scramUsers;

  BrokerOptions();
};

/// The default kind: real Kafka unless EDGELINK_TEST_BROKER=mock.
BrokerKind defaultBrokerKind();

/// "real Kafka broker" / "dev broker (mock)", for reports.
const char* brokerKindName(BrokerKind kind);
/// The brokers a benchmark's --broker names: "real", "mock" or "both" (real first); nullopt
/// for anything else.
std::optional<std::vector<BrokerKind>> brokerKindsNamed(const std::string& name);

/// A broker as asked. Real shared brokers are reference-counted handles to one broker.
std::unique_ptr<TestBroker> makeBroker(const BrokerOptions& options);

/// A real Apache Kafka broker as a process of ours (tools/kafka/edgelink-kafka run DIR).
class KafkaProcess {
 public:
  /// Starts a broker with its data in `dir` (empty: a fresh temp dir, removed at the end) and
  /// waits until it answers metadata. Throws with the broker's log on failure.
  /// `scramUsers`: extra SCRAM-SHA-512 users (name, password) made when DIR is formatted.
  explicit KafkaProcess(std::string dir = "", std::vector<std::string> properties = {},
                        std::vector<std::pair<std::string, std::string>> scramUsers = {});
  ~KafkaProcess();
  KafkaProcess(const KafkaProcess&) = delete;
  KafkaProcess& operator=(const KafkaProcess&) = delete;

  const std::string& bootstrap() const { return bootstrap_; }
  /// The SASL_SSL listener and its credentials (SCRAM-SHA-512, CA file).
  const std::string& saslBootstrap() const { return saslBootstrap_; }
  const std::string& saslUser() const { return saslUser_; }
  const std::string& saslPassword() const { return saslPassword_; }
  const std::string& caFile() const { return caFile_; }
  TestBroker::Sasl sasl() const { return {saslBootstrap_, saslUser_, saslPassword_, caFile_}; }
  const std::string& dir() const { return dir_; }
  int pid() const { return proc_.pid(); }
  std::string log() const;

  void kill9();
  /// SIGTERM, waiting for a clean exit.
  void stop();
  /// Starts it again on the same data and ports, waiting until it answers.
  void start();
  bool running() { return proc_.valid() && !proc_.tryWait(); }

 private:
  void waitReady(int timeoutMs);

  std::string dir_;
  bool ownsDir_ = false;
  std::vector<std::string> properties_;
  Subprocess proc_;
  std::string bootstrap_, saslBootstrap_, saslUser_, saslPassword_, caFile_;
};

/// Reads DIR/broker.env (KEY=VALUE lines) into pairs.
std::vector<std::pair<std::string, std::string>> readEnvFile(const std::string& path);

/// The launcher script (tools/kafka/edgelink-kafka in the source tree).
std::string kafkaLauncherPath();

}  // namespace edgelink::testing
