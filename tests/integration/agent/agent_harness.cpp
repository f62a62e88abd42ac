#include "agent_harness.h"

#include <signal.h>
#include <sys/stat.h>

#include <cstdlib>
#include <sstream>
#include <stdexcept>

#include "core/atomic_file.h"
#include "core/clock.h"
#include "core/strings.h"
#include "envelope/json_util.h"
#include "harness/kafka_test_client.h"

namespace edgelink::testing {

std::string edgeAgentPath() {
  return EDGELINK_EDGE_AGENT_BIN;
}

std::vector<std::string> edgeAgentCommand() {
  const char* cmd = std::getenv("EDGELINK_AGENT_COMMAND");
  if (cmd == nullptr || *cmd == '\0') {
    return {edgeAgentPath()};
  }
  std::vector<std::string> argv;
  for (auto& part : split(cmd, ' ')) {
    if (!part.empty()) {
      argv.push_back(part);
    }
  }
  return argv;
}

std::string fakeFrpcPath() {
  return EDGELINK_FAKE_FRPC;
}

std::string sourceDir() {
  return EDGELINK_SOURCE_DIR;
}

int64_t nowMs() {
  return SystemClock::instance().wallMs();
}

bool processAlive(int pid) {
  if (pid <= 0) {
    return false;
  }
  std::string stat = readText("/proc/" + std::to_string(pid) + "/stat");
  auto close = stat.rfind(')');
  return close != std::string::npos && close + 2 < stat.size() && stat[close + 2] != 'Z';
}

// ---------------------------------------------------------------------------------------------
// TopicLog

TopicLog::TopicLog(const std::string& bootstrap, const std::string& topic)
    : bootstrap_(bootstrap), topic_(topic), thread_([this] { run(); }) {}

TopicLog::~TopicLog() {
  stop_ = true;
  thread_.join();
}

void TopicLog::run() {
  kafka::Config c;
  c.set("bootstrap.servers", bootstrap_);
  c.set("log_level", "3");
  c.set("fetch.wait.max.ms", "10");
  c.set("enable.partition.eof", "false");
  c.set("group.id", "test-topic-log-" + std::to_string(nowMs()));
  c.set("enable.auto.commit", "false");
  auto consumer = kafka::Consumer::create(c);
  if (!consumer) {
    return;
  }
  (void)(*consumer)->assign({{topic_, 0, RD_KAFKA_OFFSET_BEGINNING}});
  while (!stop_) {
    auto m = (*consumer)->poll(20);
    if (!m || m->isError()) {
      continue;
    }
    std::lock_guard<std::mutex> lock(mutex_);
    values_.emplace_back(m->payload());
  }
}

std::optional<envelope::Envelope> TopicLog::waitFor(const Pred& pred, int timeoutMs) const {
  envelope::Decoder decoder;
  size_t seen = 0;
  const int64_t deadline = SystemClock::instance().monoMs() + timeoutMs;
  for (;;) {
    std::vector<std::string> fresh;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      fresh.assign(values_.begin() + static_cast<long>(seen), values_.end());
      seen = values_.size();
    }
    for (const auto& v : fresh) {
      auto d = decoder.decode(v);
      if (d && pred(*d)) {
        return std::move(*d);
      }
    }
    if (SystemClock::instance().monoMs() >= deadline) {
      return std::nullopt;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

size_t TopicLog::count(const Pred& pred) const {
  return values(pred).size();
}

std::vector<std::string> TopicLog::values(const Pred& pred) const {
  envelope::Decoder decoder;
  std::vector<std::string> all;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    all = values_;
  }
  std::vector<std::string> out;
  for (const auto& v : all) {
    auto d = decoder.decode(v);
    if (d && pred(*d)) {
      out.push_back(v);
    }
  }
  return out;
}

TopicLog::Pred responseTo(const envelope::Id& id) {
  return [id](const envelope::Envelope& e) {
    return e.kind == envelope::Kind::kResponse && e.id == id;
  };
}

TopicLog::Pred eventOf(const std::string& type) {
  return [type](const envelope::Envelope& e) {
    return e.kind == envelope::Kind::kEvent && e.type == type;
  };
}

TopicLog::Pred eventWith(const std::string& type, const std::string& key,
                         const std::string& value) {
  return [type, key, value](const envelope::Envelope& e) {
    if (e.kind != envelope::Kind::kEvent || e.type != type) {
      return false;
    }
    const char* v = json::getString(e.body(), key.c_str());
    return v != nullptr && value == v;
  };
}

std::string requestJson(const envelope::Id& id, const std::string& type,
                        const std::string& bodyJson, int64_t timestampMs,
                        const std::string& sender) {
  std::string idJson = id.isNumber() ? id.str() : "\"" + id.str() + "\"";
  return "{\"request\":{\"id\":" + idJson + ",\"sender\":\"" + sender +
         "\",\"timestamp\":" + std::to_string(timestampMs) + ",\"type\":\"" + type +
         "\",\"body\":" + bodyJson + "}}";
}

// ---------------------------------------------------------------------------------------------
// AgentUnderTest

namespace {

security::SigningKey newCloudKey() {
  auto k = security::SigningKey::generate();
  if (!k) {
    throw std::runtime_error("cannot make a signing key: " + k.error().describe());
  }
  return std::move(*k);
}

}  // namespace

std::string writeTrustedKeyFile(const std::string& path) {
  writeText(path, newCloudKey().publicKey().pem());
  return path;
}

AgentUnderTest::AgentUnderTest(AgentSetup setup)
    : setup_(std::move(setup)),
      dir_("edge-agent-it"),
      cloudKey_(newCloudKey()),
      topicPrefix_(setup_.topicPrefix.empty() ? uniqueName("t") + ".edge." : setup_.topicPrefix),
      topic_(topicPrefix_ + setup_.edgeId) {
  writeText(dir_.file("cloud.pub"), cloudKey_.publicKey().pem());
  if (auto r = cloudKey_.saveFile(cloudKeyFile()); !r) {
    throw std::runtime_error(r.error().describe());
  }
  BrokerOptions bo;
  bo.kind = setup_.broker;
  bo.privateBroker = setup_.privateBroker;
  bo.topics.emplace_back(topic_, 1, setup_.topicConfigs);
  bo.topics.insert(bo.topics.end(), setup_.extraTopics.begin(), setup_.extraTopics.end());
  if (setup_.sharedBroker != nullptr) {
    broker_ = setup_.sharedBroker;
    if (!broker_->isMock()) {
      broker_->createTopics(bo.topics);
    }
  } else {
    ownBroker_ = makeBroker(bo);
    broker_ = ownBroker_.get();
  }
  if (setup_.brokerDownAtStart) {
    if (broker_->isMock()) {
      broker_->setDown(true);
    } else {
      broker_->stop();
    }
  }
  if (setup_.watchTopic) {
    log_ = std::make_unique<TopicLog>(broker_->bootstrap(), topic_);
  }
  adminPort_ = freeTcpPort();
  writeConfig();
}

void AgentUnderTest::writeConfig() {
  std::string brokers = broker_->bootstrap();
  std::vector<std::string> props = broker_->clientProperties();
  if (setup_.sasl) {
    auto sasl = broker_->sasl();
    if (!sasl) {
      throw std::logic_error("this broker has no SASL_SSL listener");
    }
    if (!setup_.saslUser.empty()) {
      sasl->user = setup_.saslUser;
    }
    if (!setup_.saslPassword.empty()) {
      sasl->password = setup_.saslPassword;
    }
    brokers = sasl->bootstrap;
    for (const auto& kv : saslProperties(*sasl)) {
      props.push_back(kv);
    }
  }
  writeText(dir_.file("token"), setup_.frpsToken + "\n");
  ::chmod(dir_.file("token").c_str(), 0600);
  std::ostringstream conf;
  conf << "# written by agent_harness.cpp\n"
       << "edge-id = \"" << setup_.edgeId << "\"\n"
       << "kafka-brokers = \"" << brokers << "\"\n"
       << "topic-prefix = \"" << topicPrefix_ << "\"\n"
       << "kafka-property = [\"reconnect.backoff.max.ms=500\"";
  for (const auto& kv : props) {
    conf << ", \"" << kv << "\"";
  }
  conf << "]\n"
       << "state-dir = \"" << stateDir() << "\"\n"
       << "frpc-path = \"" << (setup_.frpcPath.empty() ? fakeFrpcPath() : setup_.frpcPath) << "\"\n"
       << "frpc-format = \"" << setup_.format << "\"\n"
       << "frps-addr = \"" << setup_.frpsAddr << "\"\n";
  if (setup_.frpsPort != 0) {
    conf << "frps-port = " << setup_.frpsPort << "\n";
  }
  conf << "frps-token-file = \"" << dir_.file("token") << "\"\n"
       << "service = [";
  for (size_t i = 0; i < setup_.services.size(); ++i) {
    conf << (i ? ", " : "") << "\"" << setup_.services[i] << "\"";
  }
  conf << "]\n"
       << "trusted-keys = [\"" << dir_.file("cloud.pub") << "\"";
  for (const auto& key : setup_.trustedKeys) {
    conf << ", \"" << key << "\"";
  }
  conf << "]\n"
       << "require-signed-requests = " << (setup_.requireSigned ? "true" : "false") << "\n"
       << "remote-ports = \"" << setup_.remotePorts << "\"\n"
       << "frpc-admin-port = " << adminPort_ << "\n"
       << "frpc-start-timeout = \"5s\"\n"
       << "frpc-stop-grace = \"2s\"\n"
       << "heartbeat-interval = \"30s\"\n"
       << "log-level = \"debug\"\n";
  for (const auto& line : setup_.extraConfig) {
    conf << line << "\n";
  }
  writeText(configPath(), conf.str());
  ::chmod(configPath().c_str(), 0600);  // it may hold a SASL password (refused otherwise)
}

AgentUnderTest::~AgentUnderTest() {
  if (running()) {
    proc_.terminate(10000);
  }
}

void AgentUnderTest::start(const std::vector<std::string>& extraArgs) {
  SpawnOptions opts;
  opts.argv = edgeAgentCommand();
  opts.argv.insert(opts.argv.end(), {"--config", configPath()});
  opts.argv.insert(opts.argv.end(), extraArgs.begin(), extraArgs.end());
  opts.stdoutPath = dir_.file("agent.log");
  opts.stderrPath = dir_.file("agent.log");
  opts.extraEnv = {"FAKE_FRPC_RECORD=" + dir_.file("frpc-record.jsonl"),
                   "FAKE_FRPC_CONTROL=" + dir_.file("frpc-mode")};
  opts.extraEnv.insert(opts.extraEnv.end(), setup_.env.begin(), setup_.env.end());
  auto p = Subprocess::spawn(opts);
  if (!p) {
    throw std::runtime_error(p.error().describe());
  }
  proc_ = std::move(*p);
}

int AgentUnderTest::stop(int timeoutMs) {
  proc_.signal(SIGTERM);
  auto status = proc_.waitFor(timeoutMs);
  if (!status) {
    proc_.signal(SIGKILL);
    proc_.waitFor(-1);
    throw std::runtime_error("edge-agent did not exit within " + std::to_string(timeoutMs) +
                             " ms of SIGTERM\n" + agentLog());
  }
  return *status;
}

void AgentUnderTest::kill9() {
  proc_.signal(SIGKILL);
  proc_.waitFor(-1);
}

envelope::Id AgentUnderTest::send(const std::string& type, const std::string& bodyJson,
                                  std::optional<int64_t> timestampMs,
                                  std::optional<envelope::Id> id) {
  envelope::Id rid = id ? *id : envelope::Id::generate();
  produceRaw(requestJson(rid, type, bodyJson, timestampMs ? *timestampMs : nowMs()));
  return rid;
}

void AgentUnderTest::produceRaw(const std::string& value, int64_t kafkaTimestampMs) {
  if (!client_) {
    client_ = std::make_unique<KafkaTestClient>(broker_->bootstrap());
  }
  produceWithHeaders(value,
                     setup_.signRequests ? signatureHeaders(value) : KafkaTestClient::Headers{},
                     kafkaTimestampMs);
}

void AgentUnderTest::produceWithHeaders(const std::string& value,
                                        const KafkaTestClient::Headers& headers,
                                        int64_t kafkaTimestampMs) {
  if (!client_) {
    client_ = std::make_unique<KafkaTestClient>(broker_->bootstrap());
  }
  client_->produce(topic_, setup_.edgeId, value, headers, kafkaTimestampMs);
}

KafkaTestClient::Headers AgentUnderTest::signatureHeaders(const std::string& value,
                                                          const security::SigningKey* key,
                                                          const std::string& topic) const {
  auto s = security::signMessage(key ? *key : cloudKey_, topic.empty() ? topic_ : topic, value);
  return {{std::string(security::kKeyIdHeader), s.keyId},
          {std::string(security::kSignatureHeader), s.signature}};
}

security::PublicKey AgentUnderTest::boardPublicKey() const {
  auto key = security::SigningKey::loadFile(stateDir() + "/agent.key");
  if (!key) {
    throw std::runtime_error("no board key: " + key.error().describe());
  }
  return key->publicKey();
}

envelope::Envelope AgentUnderTest::response(const envelope::Id& id, int timeoutMs) {
  auto r = log_->waitFor(responseTo(id), timeoutMs);
  if (!r) {
    throw std::runtime_error("no response to " + id.str() + " within " + std::to_string(timeoutMs) +
                             " ms; agent log:\n" + agentLog());
  }
  return std::move(*r);
}

size_t AgentUnderTest::responseCount(const envelope::Id& id) const {
  return log_->count(responseTo(id));
}

envelope::Envelope AgentUnderTest::event(const TopicLog::Pred& pred, int timeoutMs) {
  auto r = log_->waitFor(pred, timeoutMs);
  if (!r) {
    throw std::runtime_error("expected event not seen within " + std::to_string(timeoutMs) +
                             " ms; agent log:\n" + agentLog());
  }
  return std::move(*r);
}

std::vector<int> AgentUnderTest::frpcStarts() const {
  std::vector<int> pids;
  for (const auto& line : split(readText(dir_.file("frpc-record.jsonl")), '\n')) {
    if (line.find("\"event\": \"start\"") != std::string::npos) {
      auto pos = line.find("\"pid\": ");
      pids.push_back(std::atoi(line.c_str() + pos + 7));
    }
  }
  return pids;
}

void AgentUnderTest::setFrpcMode(const std::string& mode) {
  writeText(dir_.file("frpc-mode"), mode);
}

}  // namespace edgelink::testing
