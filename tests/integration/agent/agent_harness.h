#pragma once

// Runs the real edge-agent binary against a test broker (tests/harness/test_broker.h: real
// Kafka by default) and the frpc stand-in, and watches the
// edge's topic like a web backend would. Shared by the integration tests and bench_agent; failures
// are exceptions (Catch reports them with their message).

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/subprocess.h"
#include "envelope/envelope.h"
#include "harness/kafka_test_client.h"
#include "harness/test_broker.h"
#include "harness/test_util.h"
#include "kafka/client.h"
#include "security/signature.h"

namespace edgelink::testing {

/// Paths set at build time.
std::string edgeAgentPath();
/// How to run the agent: $EDGELINK_AGENT_COMMAND split at spaces when set (e.g.
/// "qemu-arm-static build-rv1126-static/edge-agent/edge-agent" runs the armhf build under
/// qemu), else the native edgeAgentPath().
std::vector<std::string> edgeAgentCommand();
std::string fakeFrpcPath();
std::string sourceDir();

int64_t nowMs();

/// True while /proc/<pid> exists and is not a zombie.
bool processAlive(int pid);

/// Every message of a topic from the beginning, collected by a background consumer.
class TopicLog {
 public:
  TopicLog(const std::string& bootstrap, const std::string& topic);
  ~TopicLog();
  TopicLog(const TopicLog&) = delete;
  TopicLog& operator=(const TopicLog&) = delete;

  using Pred = std::function<bool(const envelope::Envelope&)>;
  /// The first decodable message matching `pred`, waiting up to `timeoutMs`.
  std::optional<envelope::Envelope> waitFor(const Pred& pred, int timeoutMs) const;
  /// How many decodable messages match now.
  size_t count(const Pred& pred) const;
  /// The raw values of matching messages, in topic order.
  std::vector<std::string> values(const Pred& pred) const;

 private:
  void run();

  std::string bootstrap_;
  std::string topic_;
  mutable std::mutex mutex_;
  std::vector<std::string> values_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

/// Predicates.
TopicLog::Pred responseTo(const envelope::Id& id);
TopicLog::Pred eventOf(const std::string& type);
TopicLog::Pred eventWith(const std::string& type, const std::string& key, const std::string& value);

/// Writes a new public key (PEM) to `path` and returns `path`: a `trusted-keys` file for tests
/// that run the example config here (its /etc path does not exist on this machine).
std::string writeTrustedKeyFile(const std::string& path);

/// A request envelope's JSON.
std::string requestJson(const envelope::Id& id, const std::string& type,
                        const std::string& bodyJson, int64_t timestampMs,
                        const std::string& sender = "web_backend");

struct AgentSetup {
  std::string edgeId = "e1";
  std::string format = "toml";
  std::vector<std::string> services = {"ssh=127.0.0.1:22", "fcc_web=127.0.0.1:80",
                                       "camera_admin=127.0.0.1:8080"};
  std::string remotePorts = "30000-39999";
  std::vector<std::string> env;  ///< extra environment of the agent (and so of frpc)
  /// Real Kafka (shared by the run) unless EDGELINK_TEST_BROKER=mock; the mock for faults only
  /// it can make, a private real broker for tests that stop or kill it.
  BrokerKind broker = defaultBrokerKind();
  bool privateBroker = false;
  /// The broker is down when the agent starts: the mock's outage, or a private real broker
  /// stopped (broker().restart() brings it back).
  bool brokerDownAtStart = false;
  std::vector<TopicSpec> extraTopics;               ///< more topics on the broker (names as given)
  std::map<std::string, std::string> topicConfigs;  ///< the agent's topic's (real Kafka)
  /// Another test object's broker (e.g. a DispatcherHarness's) instead of one of our own; with
  /// the mock, the agent's topic must already be on it.
  TestBroker* sharedBroker = nullptr;
  std::string topicPrefix;  ///< empty: a prefix unique to this agent
  /// Connect over the broker's SASL_SSL listener with the settings docs/AGENT.md gives;
  /// `saslUser` and `saslPassword` replace the broker's admin user and its password when set
  /// (a board's own SCRAM user: BrokerOptions::scramUsers).
  bool sasl = false;
  std::string saslUser;
  std::string saslPassword;
  bool watchTopic = true;  ///< collect the topic in log() (off for benchmarks)
  // frp: the stand-in against no frps by default; real frpc against a test's frps when set.
  std::string frpcPath;                  ///< empty: the stand-in (fakeFrpcPath())
  std::string frpsAddr = "frps.test";    ///< frps-addr
  uint16_t frpsPort = 0;                 ///< frps-port (0: not written, the agent's default)
  std::string frpsToken = "test-token";  ///< written to the frps-token-file
  std::vector<std::string> extraConfig;  ///< more `key = value` lines for the config file
  /// Signed requests: the harness plays the cloud with a key of its own (trusted by the agent's
  /// config) and signs what send()/produceRaw() produce; `require-signed-requests` as given.
  /// Tests whose requests come from a dispatcher add its public key to `trustedKeys`.
  bool requireSigned = true;
  std::vector<std::string>
      trustedKeys;  ///< more trusted keys (inline base64), beside the harness's
  bool signRequests = true;
};

class AgentUnderTest {
 public:
  explicit AgentUnderTest(AgentSetup setup = {});
  ~AgentUnderTest();

  /// Starts edge-agent with the config file plus `extraArgs` (flags override the file).
  void start(const std::vector<std::string>& extraArgs = {});
  /// SIGTERM and wait: the wait status.
  int stop(int timeoutMs = 20000);
  /// SIGKILL and wait (a crash).
  void kill9();
  int pid() const { return proc_.pid(); }
  bool running() { return proc_.valid() && !proc_.tryWait(); }

  /// Sends a request (fresh id unless given); returns its id.
  envelope::Id send(const std::string& type, const std::string& bodyJson = "{}",
                    std::optional<int64_t> timestampMs = std::nullopt,
                    std::optional<envelope::Id> id = std::nullopt);
  /// Produces `value` signed with the cloud key (unless setup's signRequests is off).
  void produceRaw(const std::string& value, int64_t kafkaTimestampMs = 0);
  /// Produces `value` with exactly these headers (none: unsigned).
  void produceWithHeaders(const std::string& value, const KafkaTestClient::Headers& headers,
                          int64_t kafkaTimestampMs = 0);
  /// The signature headers of `value` for `topic` (default: the agent's) by `key` (default: the
  /// cloud key the agent trusts).
  KafkaTestClient::Headers signatureHeaders(const std::string& value,
                                            const security::SigningKey* key = nullptr,
                                            const std::string& topic = {}) const;
  /// The cloud key the agent's config trusts, and its file (PEM, 0600).
  const security::SigningKey& cloudKey() const { return cloudKey_; }
  std::string cloudKeyFile() const { return dir_.file("cloud.key"); }
  /// The board's public key, read from its key file (after the agent made it).
  security::PublicKey boardPublicKey() const;
  /// The response to `id` (throws when none comes within `timeoutMs`).
  envelope::Envelope response(const envelope::Id& id, int timeoutMs = 20000);
  size_t responseCount(const envelope::Id& id) const;
  envelope::Envelope event(const TopicLog::Pred& pred, int timeoutMs = 20000);

  /// The stand-in's record of its starts ({"event":"start","pid":...}).
  std::vector<int> frpcStarts() const;
  void setFrpcMode(const std::string& mode);
  std::string agentLog() const { return readText(dir_.file("agent.log")); }
  std::string file(const std::string& name) const { return dir_.file(name); }
  std::string configPath() const { return dir_.file("agent.conf"); }
  std::string stateDir() const { return dir_.file("state"); }
  /// Where the agent writes frpc's config (the default: in the state dir, by format).
  std::string frpcConfigPath() const { return stateDir() + "/frpc." + setup_.format; }
  const std::string& topic() const { return topic_; }
  TestBroker& broker() { return *broker_; }
  /// The agent's topic prefix (unique to this agent: brokers are shared between tests).
  const std::string& topicPrefix() const { return topicPrefix_; }
  TopicLog& log() { return *log_; }
  const AgentSetup& setup() const { return setup_; }
  uint16_t adminPort() const { return adminPort_; }

 private:
  void writeConfig();

  AgentSetup setup_;
  TempDir dir_;
  security::SigningKey cloudKey_;
  std::string topicPrefix_;
  std::string topic_;
  uint16_t adminPort_ = 0;
  std::unique_ptr<TestBroker> ownBroker_;
  TestBroker* broker_ = nullptr;
  std::unique_ptr<TopicLog> log_;
  std::unique_ptr<KafkaTestClient> client_;
  Subprocess proc_;
};

}  // namespace edgelink::testing
