#pragma once

// What bench_e2e's stages share: its arguments, the web backend's view of stored answers
// (ResponseWatch), client settings, one request end to end, and printing.

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "agent_harness.h"
#include "db/pg.h"
#include "dispatcher_harness.h"
#include "kafka/client.h"
#include "round_trip.h"
#include "security/ed25519.h"

namespace edgelink::bench::e2e {

[[noreturn]] void die(const std::string& what);

struct Args {
  int pings = 500;
  int starts = 50;
  std::vector<testing::BrokerKind> brokers = {testing::BrokerKind::kKafka,
                                              testing::BrokerKind::kMock};
  bool hono = true;
  int honoSeconds = 60;
  int honoRate = 300;
  int honoEdges = 2500;
  // The dispatcher's and the simulator's fetch settings in the Hono run (0: librdkafka's).
  int fetchWaitMs = 0;
  int fetchMinBytes = 0;
  int consumers = 1;  // the dispatcher's (its `consumers`)
  // The simulated boards' consumers. Each real board has its own; here one client holds every
  // simulated partition, and more clients cost the broker more full fetches (see the docs).
  int simConsumers = 1;
};

/// What a web backend does to learn an answer is stored: LISTEN edgelink_response, and on a
/// batch announcement (no edge_id) look the outstanding ids up. Records when each id was
/// announced (nowUs()).
class ResponseWatch {
 public:
  explicit ResponseWatch(const std::string& conninfo);
  ~ResponseWatch();
  ResponseWatch(const ResponseWatch&) = delete;
  ResponseWatch& operator=(const ResponseWatch&) = delete;

  /// Call before publishing `id`.
  void expect(const std::string& id);
  /// When `id` was announced (nowUs()), waiting up to `timeoutMs`.
  std::optional<double> waitFor(const std::string& id, int timeoutMs);
  std::map<std::string, double> announced() const;
  /// When each id was announced, wall clock ms (to set beside timestamps in PostgreSQL).
  std::map<std::string, int64_t> announcedWallMs() const;
  size_t duplicates() const { return duplicates_; }

 private:
  void run();
  /// `notified`: the id's own notification (a second one is a duplicate); else found by the
  /// lookup after a batch announcement (already known: nothing to record).
  void record(const std::string& id, double at, bool notified = true);
  void lookUpOutstanding(double at);

  std::unique_ptr<dispatcher::pg::Connection> db_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::set<std::string> outstanding_;
  std::set<std::string> lookedUp_;
  std::map<std::string, double> announced_;
  std::map<std::string, int64_t> announcedWall_;
  size_t duplicates_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

kafka::Config clientConfig(testing::TestBroker& broker, bool consumer);

void printLine(const char* what, const std::vector<double>& v, double bareP50, double bareP99);

/// One request end to end: published -> answer on the topic -> announced as stored.
struct Timing {
  double answered = 0, stored = 0;
  envelope::Envelope answer;
};

/// The simulated web backend's own signing key (made once per run): it signs the requests the
/// benchmarks publish, as a web backend does (docs/SECURITY.md).
const security::SigningKey& webBackendKey();

/// The real agent of edge "bench" on `h`'s broker and topics, without frp (the stages add it);
/// it trusts the dispatcher's key and webBackendKey().
testing::AgentSetup benchAgent(testing::DispatcherHarness& h);

/// Waits until the dispatcher holds `partitions` partitions (polling PostgreSQL).
void waitAssigned(testing::DispatcherHarness& h, int partitions, int timeoutMs);

Timing endToEnd(RoundTripClient& client, ResponseWatch& watch, const std::string& type,
                const std::string& body);

/// Stages 1-3 on one broker: the bare round trip, ping end to end, real frp starts.
void pingAndStart(testing::BrokerKind kind, const Args& a);
/// Stage 4: Eclipse Hono's load profile on the real broker.
void honoProfile(const Args& a);

}  // namespace edgelink::bench::e2e
