#include "e2e_common.h"

#include <rapidjson/document.h>

#include <cerrno>  // program_invocation_short_name
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "agent_harness.h"

namespace edgelink::bench::e2e {

using namespace edgelink::testing;

void die(const std::string& what) {
  std::fprintf(stderr, "%s: %s\n", program_invocation_short_name, what.c_str());
  std::exit(1);
}

ResponseWatch::ResponseWatch(const std::string& conninfo) {
  auto db = dispatcher::pg::Connection::open(conninfo, "bench-e2e-watch");
  if (!db) {
    die("PostgreSQL: " + db.error().describe());
  }
  db_ = std::move(*db);
  if (auto r = db_->listen("edgelink_response"); !r) {
    die("LISTEN: " + r.error().describe());
  }
  thread_ = std::thread([this] { run(); });
}

ResponseWatch::~ResponseWatch() {
  stop_ = true;
  thread_.join();
}

void ResponseWatch::expect(const std::string& id) {
  std::lock_guard<std::mutex> lock(mutex_);
  outstanding_.insert(id);
}

std::optional<double> ResponseWatch::waitFor(const std::string& id, int timeoutMs) {
  std::unique_lock<std::mutex> lock(mutex_);
  const bool seen = cv_.wait_for(lock, std::chrono::milliseconds(timeoutMs),
                                 [&] { return announced_.count(id) > 0; });
  return seen ? std::optional<double>(announced_[id]) : std::nullopt;
}

std::map<std::string, double> ResponseWatch::announced() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return announced_;
}

std::map<std::string, int64_t> ResponseWatch::announcedWallMs() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return announcedWall_;
}

void ResponseWatch::run() {
  while (!stop_) {
    auto n = db_->waitNotification(50);
    if (!n) {
      die("PostgreSQL: " + n.error().describe());
    }
    if (!n->has_value()) {
      continue;
    }
    const double at = nowUs();
    rapidjson::Document d;
    d.Parse((*n)->payload.c_str());
    if (!d.HasParseError() && d.IsObject() && d.HasMember("edge_id") && d.HasMember("id") &&
        d["id"].IsString()) {
      record(d["id"].GetString(), at);
    } else {
      lookUpOutstanding(at);
    }
  }
}

void ResponseWatch::record(const std::string& id, double at, bool notified) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!announced_.emplace(id, at).second) {
    duplicates_ += notified && !lookedUp_.count(id) ? 1 : 0;
    return;
  }
  if (!notified) {
    lookedUp_.insert(id);
  }
  announcedWall_.emplace(id, nowMs());
  outstanding_.erase(id);
  cv_.notify_all();
}

void ResponseWatch::lookUpOutstanding(double at) {
  std::string list;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& id : outstanding_) {
      list += (list.empty() ? "{" : ",") + id;
    }
  }
  if (list.empty()) {
    return;
  }
  auto rows =
      db_->exec("SELECT id FROM request_status WHERE id = ANY($1::text[]) AND state <> 'pending'",
                {list + "}"});
  if (!rows) {
    die("PostgreSQL: " + rows.error().describe());
  }
  for (int i = 0; i < rows->size(); ++i) {
    record(rows->str(i, 0), at, false);
  }
}

kafka::Config clientConfig(TestBroker& broker, bool consumer) {
  kafka::Config c = broker.clientConfig();
  c.set("log_level", "3");
  if (consumer) {
    c.set("group.id", uniqueName("bench-e2e-"));
    c.set("enable.auto.commit", "false");
  } else {
    c.set("linger.ms", "0");
  }
  return c;
}

void printLine(const char* what, const std::vector<double>& v, double bareP50, double bareP99) {
  std::printf("  %-38s: p50 %7.2f ms  p99 %7.2f ms  (%zu)", what, percentile(v, 0.5),
              percentile(v, 0.99), v.size());
  if (bareP50 > 0) {
    std::printf("  ratio p50 %.2fx  p99 %.2fx", percentile(v, 0.5) / bareP50,
                percentile(v, 0.99) / bareP99);
  }
  std::printf("\n");
}

/// Waits until the dispatcher holds `partitions` partitions (polling PostgreSQL).
void waitAssigned(DispatcherHarness& h, int partitions, int timeoutMs) {
  const std::string want = std::to_string(partitions);
  const int64_t deadline = nowMs() + timeoutMs;
  std::string last;
  while (nowMs() < deadline) {
    last = h.sql(
        "SELECT COALESCE(sum(assigned_partitions), 0) FROM dispatchers WHERE state = 'running'");
    if (last == want) {
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  die("the dispatcher holds " + last + " partitions, not " + want + ", after " +
      std::to_string(timeoutMs / 1000) + " s\n" + h.daemonLog(0));
}

const security::SigningKey& webBackendKey() {
  static const security::SigningKey key = [] {
    auto k = security::SigningKey::generate();
    if (!k) {
      die("cannot make the web backend's key: " + k.error().describe());
    }
    return std::move(*k);
  }();
  return key;
}

AgentSetup benchAgent(DispatcherHarness& h) {
  AgentSetup as;
  as.edgeId = "bench";
  as.sharedBroker = &h.broker();
  as.topicPrefix = h.topicPrefix();
  as.watchTopic = false;
  // The dispatcher signs its requests, the simulated web backend its own.
  as.trustedKeys = {h.signingPublicKey(), webBackendKey().publicKey().base64()};
  return as;
}

Timing endToEnd(RoundTripClient& client, ResponseWatch& watch, const std::string& type,
                const std::string& body) {
  auto id = envelope::Id::generate();
  const std::string idJson = "\"" + id.str() + "\"";
  watch.expect(id.str());
  Timing t;
  const double t0 = nowUs();
  t.answered = client.roundTrip(
      "bench", requestJson(id, type, body, nowMs()),
      [&](std::string_view v) { return isResponseTo(v, idJson); }, &t.answer);
  auto at = watch.waitFor(id.str(), 30000);
  if (!at) {
    die(type + " " + id.str() + ": answered but not announced as stored within 30 s");
  }
  t.stored = (*at - t0) / 1000.0;
  return t;
}

}  // namespace edgelink::bench::e2e
