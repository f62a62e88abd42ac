#pragma once

// What the dispatcher's integration tests share: a test broker (real Kafka by default, shared by
// the run; tests/harness/test_broker.h) with this test's own edge topics, a fresh migrated
// database, a config file, the real cloud-dispatcher binary as daemons and CLI runs, and SQL
// checks against what it stored.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/subprocess.h"
#include "db/pg.h"
#include "harness/test_broker.h"
#include "harness/test_util.h"

namespace edgelink::testing {

/// Path of the cloud-dispatcher binary: $EDGELINK_DISPATCHER_BIN when set, else this build's.
std::string dispatcherPath();

struct CliResult {
  int code = -1;
  std::string out;
  std::string err;
};

class DispatcherHarness {
 public:
  struct Setup {
    Setup(std::vector<std::string> e = {"e1"}, std::vector<std::string> c = {}, std::string ci = "",
          bool m = true)
        : edges(std::move(e)), config(std::move(c)), conninfo(std::move(ci)), migrate(m) {}
    std::vector<std::string> edges;   ///< topics <prefix><id>, one partition each
    std::vector<std::string> config;  ///< extra config lines (key = value)
    std::string conninfo;             ///< empty: a fresh database on the shared cluster
    bool migrate;
    BrokerKind broker = defaultBrokerKind();  ///< the mock only for faults it alone can make
    bool privateBroker = false;               ///< a real broker of the test's own (kill -9)
    /// A private broker's extra properties and SCRAM users (BrokerOptions).
    std::vector<std::string> brokerProperties;
    std::vector<std::pair<std::string, std::string>> scramUsers;
    /// Connect over the broker's SASL_SSL listener, with the settings docs/DISPATCHER.md gives.
    bool sasl = false;
    /// With `sasl`: another SCRAM user than the broker's admin (BrokerOptions::scramUsers).
    std::string saslUser, saslPassword;
    std::map<std::string, std::string> topicConfigs;  ///< every edge topic's (real Kafka)
    std::vector<TopicSpec> extraTopics;  ///< more topics on the broker (names as given)
    /// The dispatcher's own defaults (batching, log level) instead of the tests' short waits:
    /// for benchmarks. Only the broker's client properties are added.
    bool productionSettings = false;
  };
  explicit DispatcherHarness(Setup setup);
  DispatcherHarness() : DispatcherHarness(Setup{}) {}
  ~DispatcherHarness();

  /// Runs `cloud-dispatcher --config <file> args...` to completion.
  CliResult cli(const std::vector<std::string>& args, int timeoutMs = 60000);
  /// The public half (base64) of the dispatcher's active signing key, for an agent's
  /// trusted-keys (AgentSetup::trustedKeys); throws when `keys list` has none.
  std::string signingPublicKey();
  /// Starts `cloud-dispatcher --config <file> run args...` (stderr to its own log file).
  /// Returns its index in daemons().
  size_t startDaemon(const std::vector<std::string>& args = {});
  Subprocess& daemon(size_t i) { return *daemons_[i]; }
  /// Waits until the running dispatchers hold `partitions` partitions between them.
  bool waitAssigned(int partitions, int timeoutMs = 30000);
  std::string daemonLog(size_t i) const;
  /// Waits until daemon `i`'s log contains `text`.
  bool waitForLog(size_t i, const std::string& text, int timeoutMs = 30000) const;
  /// Starts a CLI command in the background (stdout to outPath).
  Subprocess spawnCli(const std::vector<std::string>& args, const std::string& outPath);

  /// First cell of the first row ("" when there is none).
  std::string sql(const std::string& query);
  int64_t count(const std::string& query);
  /// Waits until `query`'s first cell equals `expected`; on timeout prints the daemons' logs.
  bool waitFor(const std::string& query, const std::string& expected, int timeoutMs = 30000);

  /// The topic of edge `edge` in this test (tests never spell topic names themselves: each test
  /// gets its own topics on a broker it may share).
  std::string topic(const std::string& edge) const { return prefix_ + edge; }
  /// This test's topic prefix (the dispatcher's topic-prefix).
  const std::string& topicPrefix() const { return prefix_; }
  /// This test's consumer group.
  const std::string& group() const { return group_; }
  TestBroker& broker() { return *broker_; }
  const std::string& configPath() const { return configPath_; }
  const std::string& conninfo() const { return conninfo_; }
  TempDir& dir() { return dir_; }

 private:
  dispatcher::pg::Connection& db();

  TempDir dir_{"edgelink-dispatcher-test"};
  std::string prefix_;
  std::string group_;
  std::unique_ptr<TestBroker> broker_;
  std::string conninfo_;
  std::string configPath_;
  std::vector<std::unique_ptr<Subprocess>> daemons_;
  std::unique_ptr<dispatcher::pg::Connection> db_;
  int runs_ = 0;
};

/// The config lines every test daemon uses (short waits), plus `clientProperties` (the
/// broker's: TestBroker::clientProperties()) as kafka-property entries.
std::vector<std::string> fastTestConfig(const std::vector<std::string>& clientProperties = {});

/// Config lines turning on the metrics endpoints on a free port, gauges refreshed every second.
extern const std::vector<std::string> kMetricsConfig;

/// Starts the (first) daemon and returns the port its endpoints listen on (0: never said).
int startWithMetrics(DispatcherHarness& h);

/// Waits until `series` in a scrape of `port` equals `expected`; the last scrape is printed on
/// failure.
bool waitSample(int port, const std::string& series, double expected, int timeoutMs = 30000);

}  // namespace edgelink::testing
