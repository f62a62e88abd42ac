#include "dispatcher_harness.h"

#include <rapidjson/document.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <stdexcept>

#include "harness/http_probe.h"
#include "harness/pg_cluster.h"

namespace edgelink::testing {

std::string dispatcherPath() {
  // Another build's binary (bench_soak's LeakSanitizer check runs the ASan build's daemons).
  if (const char* bin = std::getenv("EDGELINK_DISPATCHER_BIN"); bin != nullptr && *bin != '\0') {
    return bin;
  }
#ifdef EDGELINK_DISPATCHER_BIN
  return EDGELINK_DISPATCHER_BIN;
#else
  return "cloud-dispatcher";
#endif
}

std::vector<std::string> fastTestConfig(const std::vector<std::string>& clientProperties) {
  // session.timeout.ms: a real broker's minimum (group.min.session.timeout.ms) is 6 s.
  std::string props =
      "kafka-property = [\"session.timeout.ms=6000\", \"heartbeat.interval.ms=300\","
      " \"topic.metadata.refresh.interval.ms=500\", \"log_level=3\"";
  for (const auto& kv : clientProperties) {
    props += ", \"" + kv + "\"";
  }
  props += "]";
  return {
      props,
      "batch-linger-ms = 10",
      "frps-host = \"frps.test\"",
      "kafka-timeout = \"5s\"",
      "log-level = \"debug\"",
  };
}

DispatcherHarness::DispatcherHarness(Setup setup)
    : prefix_(uniqueName("t") + ".edge."), group_(uniqueName("cloud-dispatcher-")) {
  BrokerOptions bo;
  bo.kind = setup.broker;
  bo.privateBroker = setup.privateBroker;
  bo.properties = setup.brokerProperties;
  bo.scramUsers = setup.scramUsers;
  for (const auto& e : setup.edges) {
    bo.topics.emplace_back(topic(e), 1, setup.topicConfigs);
  }
  bo.topics.insert(bo.topics.end(), setup.extraTopics.begin(), setup.extraTopics.end());
  broker_ = makeBroker(bo);
  conninfo_ = setup.conninfo.empty() ? sharedPg().createDatabase("disp") : setup.conninfo;
  std::vector<std::string> props = broker_->clientProperties();
  std::string brokers = broker_->bootstrap();
  if (setup.sasl) {
    auto sasl = broker_->sasl();
    if (!sasl) {
      throw std::logic_error("this broker has no SASL_SSL listener");
    }
    if (!setup.saslUser.empty()) {
      sasl->user = setup.saslUser;
      sasl->password = setup.saslPassword;
    }
    brokers = sasl->bootstrap;
    for (const auto& kv : saslProperties(*sasl)) {
      props.push_back(kv);
    }
  }
  std::string text = "kafka-brokers = \"" + brokers + "\"\n" + "pg-conninfo = \"" + conninfo_ +
                     "\"\n" + "topic-prefix = \"" + prefix_ + "\"\n" + "consumer-group = \"" +
                     group_ + "\"\n";
  if (setup.productionSettings) {
    std::string list;
    for (const auto& kv : props) {
      list += (list.empty() ? "\"" : ", \"") + kv + "\"";
    }
    text += (list.empty() ? "" : "kafka-property = [" + list + "]\n") + "log-level = \"info\"\n";
  } else {
    for (const auto& line : fastTestConfig(props)) {
      text += line + "\n";
    }
  }
  bool ownKeyDir = true;
  for (const auto& line : setup.config) {
    text += line + "\n";
    ownKeyDir = ownKeyDir && line.find("signing-key-dir") == std::string::npos;
  }
  if (ownKeyDir) {
    // Requests are signed (sign-requests defaults to true): each test has its own key.
    text += "signing-key-dir = \"" + dir_.file("keys") + "\"\n";
  }
  configPath_ = dir_.file("dispatcher.conf");
  writeText(configPath_, text);
  ::chmod(configPath_.c_str(), 0600);  // it may hold a SASL password (refused otherwise)
  if (setup.migrate) {
    auto r = cli({"db", "migrate"});
    if (r.code != 0) {
      throw std::runtime_error("db migrate failed: " + r.err);
    }
  }
  if (ownKeyDir) {
    if (auto r = cli({"keys", "generate"}); r.code != 0) {
      throw std::runtime_error("keys generate failed: " + r.err);
    }
  }
}

DispatcherHarness::~DispatcherHarness() {
  db_.reset();
  for (auto& d : daemons_) {
    if (d->valid()) {
      d->terminate(5000);
    }
  }
}

std::string DispatcherHarness::signingPublicKey() {
  auto r = cli({"keys", "list", "--json"});
  rapidjson::Document doc;
  doc.Parse(r.out.c_str());
  if (r.code == 0 && doc.IsArray()) {
    for (const auto& k : doc.GetArray()) {
      if (k.IsObject() && k.HasMember("active") && k["active"].IsBool() && k["active"].GetBool() &&
          k.HasMember("public_key") && k["public_key"].IsString()) {
        return k["public_key"].GetString();
      }
    }
  }
  throw std::runtime_error("no active dispatcher signing key: " + r.out + r.err);
}

CliResult DispatcherHarness::cli(const std::vector<std::string>& args, int timeoutMs) {
  const int n = ++runs_;
  SpawnOptions opts;
  opts.argv = {dispatcherPath(), "--config", configPath_};
  opts.argv.insert(opts.argv.end(), args.begin(), args.end());
  opts.stdoutPath = dir_.file("cli-" + std::to_string(n) + ".out");
  opts.stderrPath = dir_.file("cli-" + std::to_string(n) + ".err");
  auto p = Subprocess::spawn(opts);
  if (!p) {
    throw std::runtime_error(p.error().describe());
  }
  auto status = p->waitFor(timeoutMs);
  CliResult r;
  if (!status) {
    p->terminate(2000);
    r.code = -1;
  } else {
    r.code = WIFEXITED(*status) ? WEXITSTATUS(*status) : -1;
  }
  r.out = readText(opts.stdoutPath);
  r.err = readText(opts.stderrPath);
  return r;
}

Subprocess DispatcherHarness::spawnCli(const std::vector<std::string>& args,
                                       const std::string& outPath) {
  SpawnOptions opts;
  opts.argv = {dispatcherPath(), "--config", configPath_};
  opts.argv.insert(opts.argv.end(), args.begin(), args.end());
  opts.stdoutPath = outPath;
  opts.stderrPath = outPath + ".err";
  auto p = Subprocess::spawn(opts);
  if (!p) {
    throw std::runtime_error(p.error().describe());
  }
  return std::move(*p);
}

size_t DispatcherHarness::startDaemon(const std::vector<std::string>& args) {
  const size_t i = daemons_.size();
  SpawnOptions opts;
  opts.argv = {dispatcherPath(), "--config", configPath_, "run"};
  opts.argv.insert(opts.argv.end(), args.begin(), args.end());
  opts.stderrPath = dir_.file("daemon-" + std::to_string(i) + ".log");
  opts.stdoutPath = opts.stderrPath;
  auto p = Subprocess::spawn(opts);
  if (!p) {
    throw std::runtime_error(p.error().describe());
  }
  daemons_.push_back(std::make_unique<Subprocess>(std::move(*p)));
  return i;
}

bool DispatcherHarness::waitAssigned(int partitions, int timeoutMs) {
  return waitFor(
      "SELECT COALESCE(sum(assigned_partitions), 0) FROM dispatchers WHERE state = 'running'",
      std::to_string(partitions), timeoutMs);
}

std::string DispatcherHarness::daemonLog(size_t i) const {
  return readText(dir_.file("daemon-" + std::to_string(i) + ".log"));
}

bool DispatcherHarness::waitForLog(size_t i, const std::string& text, int timeoutMs) const {
  return waitUntil([&] { return daemonLog(i).find(text) != std::string::npos; }, timeoutMs);
}

dispatcher::pg::Connection& DispatcherHarness::db() {
  if (!db_ || !db_->healthy()) {
    auto c = dispatcher::pg::Connection::open(conninfo_, "dispatcher-test");
    if (!c) {
      throw std::runtime_error(c.error().describe());
    }
    db_ = std::move(*c);
  }
  return *db_;
}

std::string DispatcherHarness::sql(const std::string& query) {
  auto rows = db().exec(query);
  if (!rows) {
    // Once more on a new connection: a test may have restarted PostgreSQL under the old one.
    db_.reset();
    rows = db().exec(query);
  }
  if (!rows) {
    db_.reset();
    throw std::runtime_error(query + ": " + rows.error().describe());
  }
  if (rows->empty() || rows->columns() == 0 || rows->isNull(0, 0)) {
    return "";
  }
  return rows->str(0, 0);
}

int64_t DispatcherHarness::count(const std::string& query) {
  std::string v = sql(query);
  return v.empty() ? 0 : std::stoll(v);
}

bool DispatcherHarness::waitFor(const std::string& query, const std::string& expected,
                                int timeoutMs) {
  std::string last;
  bool ok = waitUntil(
      [&] {
        try {
          last = sql(query);
        } catch (const std::exception& e) {
          last = e.what();
        }
        return last == expected;
      },
      timeoutMs, 50);
  if (!ok) {
    std::string logs;
    for (size_t i = 0; i < daemons_.size(); ++i) {
      std::string log = daemonLog(i);
      logs += "--- daemon " + std::to_string(i) + " (last 3000 bytes)\n" +
              (log.size() > 3000 ? log.substr(log.size() - 3000) : log);
    }
    WARN("waiting for [" + query + "] = '" + expected + "', last '" + last + "'\n" + logs);
  }
  return ok;
}

const std::vector<std::string> kMetricsConfig = {"metrics-listen = \"127.0.0.1:0\"",
                                                 "metrics-interval = \"1s\""};

int startWithMetrics(DispatcherHarness& h) {
  h.startDaemon();
  int port = 0;
  waitUntil([&] { return (port = metricsPortFromLog(h.daemonLog(0))) != 0; }, 30000);
  return port;
}

bool waitSample(int port, const std::string& series, double expected, int timeoutMs) {
  std::string last;
  const bool ok = waitUntil(
      [&] {
        last = httpGet(port, "/metrics").body;
        return sample(last, series) == expected;
      },
      timeoutMs);
  if (!ok) {
    UNSCOPED_INFO(series << " never became " << expected << "; last scrape:\n" << last);
  }
  return ok;
}

}  // namespace edgelink::testing
