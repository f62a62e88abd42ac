#include "edge_simulator.h"

#include <rapidjson/document.h>
#include <unistd.h>

#include <algorithm>
#include <stdexcept>

#include "core/clock.h"
#include "core/time_format.h"
#include "envelope/frp_command.h"
#include "envelope/types.h"
#include "jsonschema/json_util.h"
#include "security/signature.h"

namespace edgelink::testing {
namespace {

constexpr const char* kSender = "edge_board";

int64_t now() {
  return SystemClock::instance().wallMs();
}

}  // namespace

EdgeSimulator::EdgeSimulator(std::string bootstrap, std::vector<std::string> edges,
                             std::string topicPrefix)
    : EdgeSimulator(std::move(bootstrap), std::move(edges), std::move(topicPrefix), Tuning{}) {}

EdgeSimulator::EdgeSimulator(std::string bootstrap, std::vector<std::string> edges,
                             std::string topicPrefix, Tuning tuning)
    : bootstrap_(std::move(bootstrap)),
      edges_(std::move(edges)),
      prefix_(std::move(topicPrefix)),
      tuning_(tuning) {
  for (const auto& edge : edges_) {
    keys_.emplace(edge, security::SigningKey::generate().value());
  }
  kafka::Config pc;
  pc.set("bootstrap.servers", bootstrap_);
  pc.set("linger.ms", "0");
  pc.set("log_level", "3");
  auto p = kafka::Producer::create(pc);
  if (!p) {
    throw std::runtime_error(p.error().describe());
  }
  producer_ = std::move(*p);
  const size_t n = static_cast<size_t>(std::max(1, tuning_.consumers));
  for (size_t k = 0; k < n; ++k) {
    kafka::Config cc;
    cc.set("bootstrap.servers", bootstrap_);
    cc.set("group.id", "edge-simulator-" + std::to_string(::getpid()));
    cc.set("enable.auto.commit", "false");
    cc.set("fetch.wait.max.ms", std::to_string(tuning_.fetchWaitMs));
    cc.set("fetch.min.bytes", std::to_string(tuning_.fetchMinBytes));
    cc.set("log_level", "3");
    auto c = kafka::Consumer::create(cc);
    if (!c) {
      throw std::runtime_error(c.error().describe());
    }
    std::vector<kafka::TopicPartitionOffset> parts;
    for (size_t e = k; e < edges_.size(); e += n) {
      parts.push_back({prefix_ + edges_[e], 0, RD_KAFKA_OFFSET_BEGINNING});
    }
    if (auto r = (*c)->assign(parts); !r) {
      throw std::runtime_error(r.error().describe());
    }
    auto shard = std::make_unique<Shard>();
    shard->consumer = std::move(*c);
    shards_.push_back(std::move(shard));
  }
  for (auto& shard : shards_) {
    shard->thread = std::thread([this, s = shard.get()] { loop(*s); });
  }
}

EdgeSimulator::~EdgeSimulator() {
  stop_ = true;
  for (auto& shard : shards_) {
    if (shard->thread.joinable()) {
      shard->thread.join();
    }
  }
  (void)producer_->flush(5000);
}

void EdgeSimulator::setBehaviour(const std::string& type, Behaviour b) {
  std::lock_guard<std::mutex> lock(mutex_);
  behaviours_[type] = b;
}

EdgeSimulator::Behaviour EdgeSimulator::behaviourFor(const std::string& type) const {
  std::lock_guard<std::mutex> lock(mutex_);
  if (auto it = behaviours_.find(type); it != behaviours_.end()) {
    return it->second;
  }
  if (auto it = behaviours_.find("*"); it != behaviours_.end()) {
    return it->second;
  }
  return Behaviour{};
}

std::string EdgeSimulator::problems() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return problems_;
}

void EdgeSimulator::send(const std::string& edge, const envelope::Envelope& env) {
  std::string bytes = envelope::encode(env);
  envelope::Decoder check;
  if (auto d = check.decode(bytes); !d) {
    std::lock_guard<std::mutex> lock(mutex_);
    problems_ += "schema-invalid " + bytes + ": " + d.error().describe() + "\n";
    return;
  }
  const std::string topic = prefix_ + edge;
  std::vector<std::pair<std::string, std::string>> headers;
  if (auto k = keys_.find(edge); k != keys_.end()) {
    auto sig = security::signMessage(k->second, topic, bytes);
    headers = {{std::string(security::kKeyIdHeader), sig.keyId},
               {std::string(security::kSignatureHeader), sig.signature}};
  }
  if (auto r = producer_->produce(topic, edge, bytes, headers); !r) {
    std::lock_guard<std::mutex> lock(mutex_);
    problems_ += r.error().describe() + "\n";
    return;
  }
  if (!tuning_.flushEach) {
    producer_->poll(0);
    return;
  }
  if (auto r = producer_->flush(10000); !r) {
    std::lock_guard<std::mutex> lock(mutex_);
    problems_ += r.error().describe() + "\n";
  }
}

std::string EdgeSimulator::publicKey(const std::string& edge) const {
  return keys_.at(edge).publicKey().base64();
}

void EdgeSimulator::heartbeat(const std::string& edge, const std::string& version, int interval) {
  auto e = envelope::Envelope::event(envelope::Id::generate(), kSender, now(), "heartbeat");
  e.set("agent_version", version.c_str());
  e.set("interval_seconds", interval);
  e.set("uptime_seconds", 42.5);
  e.set("frp_running", false);
  send(edge, e);
}

void EdgeSimulator::event(const std::string& edge, const std::string& type,
                          const std::string& bodyJson) {
  auto e = envelope::Envelope::event(envelope::Id::generate(), kSender, now(), type);
  rapidjson::Document d;
  d.Parse(bodyJson.c_str());
  e.body().CopyFrom(d, e.allocator());
  send(edge, e);
}

void EdgeSimulator::loop(Shard& shard) {
  while (!stop_) {
    if (!tuning_.flushEach) {
      producer_->poll(0);  // delivery reports of answers sent without waiting
    }
    auto m = shard.consumer->poll(tuning_.flushEach ? 50 : 5);
    if (!m || m->isError()) {
      continue;
    }
    auto decoded = shard.decoder.decode(m->payload());
    if (!decoded || decoded->kind != envelope::Kind::kRequest || decoded->sender == kSender) {
      continue;
    }
    std::string edge = m->topic().substr(prefix_.size());
    if (!shard.seen.insert(edge + "/" + decoded->id.str()).second) {
      continue;  // answered already
    }
    handle(edge, *decoded);
  }
}

void EdgeSimulator::handle(const std::string& edge, const envelope::Envelope& req) {
  const Behaviour b = behaviourFor(req.type);
  if (!b.answer) {
    return;
  }
  auto resp = b.echoType ? envelope::Envelope::response(req, kSender, now(), b.code)
                         : envelope::Envelope::response(req.id, "", kSender, now(), b.code);
  std::optional<envelope::Envelope> event;
  if (b.code >= 300) {
    resp.set("error", b.error.empty() ? std::string("simulated failure") : b.error);
  } else if (req.type == envelope::request_type::kPing) {
    resp.set("pong", true);
    resp.set("agent_version", "1.2.3");
  } else if (req.type == envelope::request_type::kSystemInfo) {
    resp.set("agent_version", "1.2.3");
    resp.set("uptime_seconds", 100.0);
  } else if (envelope::isFrpCommandType(req.type) ||
             req.type == envelope::request_type::kFrpStatus) {
    auto cmd = envelope::readFrpCommand(req);
    const bool start = cmd && cmd->action == envelope::FrpAction::kStart;
    const int64_t t = now();
    std::string previous;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      previous = running_[edge];
      if (start) {
        running_[edge] = req.id.str();
      } else if (cmd) {
        running_.erase(edge);
      }
    }
    auto& alloc = resp.allocator();
    if (start) {
      int64_t autoStop = cmd->autoStopSeconds.value_or(7200);
      int64_t expires = t + (b.expiresInSeconds > 0 ? b.expiresInSeconds : autoStop) * 1000;
      rapidjson::Value services(rapidjson::kObjectType);
      for (const auto& [name, port] : cmd->services) {
        rapidjson::Value s(rapidjson::kObjectType);
        if (port == 0) {
          s.AddMember("type", "stcp", alloc);  // no public port
        } else {
          s.AddMember("remote_port", port, alloc);
        }
        s.AddMember("status", "running", alloc);
        services.AddMember(json::str(name, alloc), s, alloc);
      }
      resp.set("state", "running");
      rapidjson::Value copy(services, alloc);
      resp.set("services", std::move(copy));
      resp.set("started_at", formatRfc3339Ms(t).c_str());
      resp.set("expires_at", formatRfc3339Ms(expires).c_str());
      resp.set("auto_stop_seconds", autoStop);
      resp.set("request_id", req.id.str().c_str());
      resp.set("pid", 4242);
      if (b.frpEvents) {
        event = envelope::Envelope::event(envelope::Id::generate(), kSender, t, "frp_started");
        auto& ea = event->allocator();
        event->set("state", "running");
        event->set("services", rapidjson::Value(services, ea));
        event->set("started_at", formatRfc3339Ms(t).c_str());
        event->set("expires_at", formatRfc3339Ms(expires).c_str());
        event->set("request_id", req.id.str().c_str());
        event->set("resumed", false);
      }
    } else {
      resp.set("state", "stopped");
      if (cmd && b.frpEvents && !previous.empty()) {
        event = envelope::Envelope::event(envelope::Id::generate(), kSender, t, "frp_stopped");
        event->set("state", "stopped");
        event->set("stop_reason", envelope::stop_reason::kRequested);
        event->set("stopped_at", formatRfc3339Ms(t).c_str());
        event->set("request_id", previous.c_str());
      }
    }
  }
  send(edge, resp);
  if (event) {
    send(edge, *event);
  }
  ++answered_;
}

}  // namespace edgelink::testing
