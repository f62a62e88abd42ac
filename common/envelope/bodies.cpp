#include "envelope/bodies.h"

#include <utility>

#include "core/time_format.h"
#include "jsonschema/json_util.h"

namespace edgelink::envelope::body {
namespace {

using rapidjson::Value;
using Alloc = rapidjson::Document::AllocatorType;

// ---- writing ----------------------------------------------------------------------------------

/// Members of one JSON object; optional ones only when set, strings only when not empty.
class Out {
 public:
  explicit Out(Alloc& alloc) : alloc_(alloc) {}

  Out& str(const char* key, const std::string& v) {
    return v.empty() ? *this : put(key, json::str(v, alloc_));
  }
  Out& time(const char* key, const std::optional<int64_t>& ms) {
    return ms ? put(key, json::str(formatRfc3339Ms(*ms), alloc_)) : *this;
  }
  template <typename T>
  Out& opt(const char* key, const std::optional<T>& v) {
    return v ? put(key, Value(*v)) : *this;
  }
  Out& id(const char* key, const std::optional<Id>& v) {
    if (!v || v->empty()) {
      return *this;
    }
    return put(key, v->isNumber() ? Value(static_cast<uint64_t>(std::stoull(v->str())))
                                  : json::str(v->str(), alloc_));
  }
  Out& proxies(const char* key, const Proxies& all) {
    if (all.empty()) {
      return *this;
    }
    Value out(rapidjson::kObjectType);
    for (const auto& [name, p] : all) {
      Out one(alloc_);
      one.put("remote_port", Value(p.remotePort))
          .str("proxy_name", p.proxyName)
          .str("local_addr", p.localAddr)
          .str("status", p.status)
          .str("error", p.error);
      out.AddMember(json::str(name, alloc_), std::move(one.obj_), alloc_);
    }
    return put(key, std::move(out));
  }
  Out& put(const char* key, Value v) {
    obj_.AddMember(rapidjson::StringRef(key), std::move(v), alloc_);
    return *this;
  }
  Value take() { return std::move(obj_); }

  /// Into the envelope's body (members it has already are replaced).
  void into(Envelope& env) {
    for (auto& m : obj_.GetObject()) {
      env.set(m.name.GetString(), std::move(m.value));
    }
  }

 private:
  Alloc& alloc_;
  Value obj_{rapidjson::kObjectType};
};

// ---- reading ----------------------------------------------------------------------------------

/// Typed access to one JSON object's members; remembers the first member of a wrong type.
class In {
 public:
  In(const Value& obj, std::string path) : obj_(obj), path_(std::move(path)) {
    if (!obj.IsObject()) {
      wrong("", "object");
    }
  }

  std::string str(const char* key) {
    const Value* v = get(key);
    if (v == nullptr) {
      return {};
    }
    return v->IsString() ? std::string(v->GetString(), v->GetStringLength()) : wrong(key, "string");
  }
  std::optional<int64_t> int64(const char* key) {
    const Value* v = get(key);
    return v == nullptr   ? std::nullopt
           : v->IsInt64() ? std::optional(v->GetInt64())
                          : none(key, "integer");
  }
  std::optional<uint64_t> uint64(const char* key) {
    const Value* v = get(key);
    return v == nullptr    ? std::nullopt
           : v->IsUint64() ? std::optional(v->GetUint64())
                           : none<uint64_t>(key, "non-negative integer");
  }
  std::optional<double> number(const char* key) {
    const Value* v = get(key);
    return v == nullptr    ? std::nullopt
           : v->IsNumber() ? std::optional(v->GetDouble())
                           : none<double>(key, "number");
  }
  std::optional<bool> boolean(const char* key) {
    const Value* v = get(key);
    return v == nullptr  ? std::nullopt
           : v->IsBool() ? std::optional(v->GetBool())
                         : none<bool>(key, "boolean");
  }
  /// RFC 3339 text or epoch milliseconds.
  std::optional<int64_t> time(const char* key) {
    const Value* v = get(key);
    if (v == nullptr) {
      return std::nullopt;
    }
    if (v->IsInt64()) {
      return v->GetInt64();
    }
    if (v->IsString()) {
      if (auto ms = parseRfc3339Ms(std::string_view(v->GetString(), v->GetStringLength()))) {
        return ms;
      }
    }
    return none(key, "RFC 3339 time or epoch milliseconds");
  }
  std::optional<Id> id(const char* key) {
    const Value* v = get(key);
    if (v == nullptr) {
      return std::nullopt;
    }
    if (v->IsString() && v->GetStringLength() > 0) {
      return Id::text(std::string(v->GetString(), v->GetStringLength()));
    }
    if (v->IsUint64()) {
      return Id::number(v->GetUint64());
    }
    return none<Id>(key, "non-empty string or non-negative integer");
  }
  Proxies proxies(const char* key) {
    Proxies out;
    const Value* v = get(key);
    if (v == nullptr) {
      return out;
    }
    if (!v->IsObject()) {
      wrong(key, "object");
      return out;
    }
    for (const auto& m : v->GetObject()) {
      const std::string name(m.name.GetString(), m.name.GetStringLength());
      Proxy p;
      if (m.value.IsInt()) {
        p.remotePort = m.value.GetInt();  // {"ssh": 31022}
      } else {
        In one(m.value, path_ + "." + key + "." + name);
        p.remotePort = static_cast<int>(one.int64("remote_port").value_or(0));
        p.proxyName = one.str("proxy_name");
        p.localAddr = one.str("local_addr");
        p.status = one.str("status");
        p.error = one.str("error");
        absorb(one);
      }
      out[name] = std::move(p);
    }
    return out;
  }
  const Value* array(const char* key) {
    const Value* v = get(key);
    return v == nullptr || v->IsArray() ? v : (wrong(key, "array"), nullptr);
  }
  const Value* object(const char* key) {
    const Value* v = get(key);
    return v == nullptr || v->IsObject() ? v : (wrong(key, "object"), nullptr);
  }
  const std::string& path() const { return path_; }
  void absorb(const In& inner) {
    if (inner.error_ && !error_) {
      error_ = inner.error_;
    }
  }

  template <typename T>
  Result<T> result(T value) const {
    if (error_) {
      return *error_;
    }
    return value;
  }

 private:
  const Value* get(const char* key) const {
    return obj_.IsObject() ? json::member(obj_, key) : nullptr;
  }
  std::string wrong(const char* key, const char* expected) {
    if (!error_) {
      error_ = Error(Status::kBadRequest, std::string("expected ") + expected,
                     *key != '\0' ? path_ + "." + key : path_);
    }
    return {};
  }
  template <typename T = int64_t>
  std::optional<T> none(const char* key, const char* expected) {
    wrong(key, expected);
    return std::nullopt;
  }

  const Value& obj_;
  std::string path_;
  std::optional<Error> error_;
};

}  // namespace

// ---- frp state and errors ----------------------------------------------------------------------

void write(const FrpState& s, Envelope& env) {
  Out o(env.allocator());
  o.str("state", s.state)
      .proxies("services", s.services)
      .opt("pid", s.pid)
      .time("started_at", s.startedAtMs)
      .time("expires_at", s.expiresAtMs)
      .opt("seconds_left", s.secondsLeft)
      .opt("auto_stop_seconds", s.autoStopSeconds)
      .id("request_id", s.requestId)
      .opt("extended", s.extended)
      .str("stop_reason", s.stopReason)
      .time("stopped_at", s.stoppedAtMs)
      .opt("resumed", s.resumed)
      .str("exit_status", s.exitStatus)
      .str("frpc_output", s.frpcOutput)
      .into(env);
}

Result<FrpState> readFrpState(const Value& body) {
  In in(body, "body");
  FrpState s;
  s.state = in.str("state");
  s.services = in.proxies("services");
  s.pid = in.int64("pid");
  s.startedAtMs = in.time("started_at");
  s.expiresAtMs = in.time("expires_at");
  s.secondsLeft = in.int64("seconds_left");
  s.autoStopSeconds = in.int64("auto_stop_seconds");
  s.requestId = in.id("request_id");
  s.extended = in.boolean("extended");
  s.stopReason = in.str("stop_reason");
  s.stoppedAtMs = in.time("stopped_at");
  s.resumed = in.boolean("resumed");
  s.exitStatus = in.str("exit_status");
  s.frpcOutput = in.str("frpc_output");
  return in.result(std::move(s));
}

void write(const ErrorBody& s, Envelope& env) {
  Out o(env.allocator());
  o.str("error", s.error)
      .str("field", s.field)
      .time("request_timestamp", s.requestTimestampMs)
      .time("edge_time", s.edgeTimeMs)
      .time("request_expires_at", s.requestExpiresAtMs)
      .opt("max_age_seconds", s.maxAgeSeconds)
      .str("expired_by", s.expiredBy)
      .proxies("proxies", s.proxies)
      .into(env);
}

Result<ErrorBody> readErrorBody(const Value& body) {
  In in(body, "body");
  ErrorBody s;
  s.error = in.str("error");
  s.field = in.str("field");
  s.requestTimestampMs = in.time("request_timestamp");
  s.edgeTimeMs = in.time("edge_time");
  s.requestExpiresAtMs = in.time("request_expires_at");
  s.maxAgeSeconds = in.int64("max_age_seconds");
  s.expiredBy = in.str("expired_by");
  s.proxies = in.proxies("proxies");
  return in.result(std::move(s));
}

// ---- agent lifecycle and ping ------------------------------------------------------------------

void write(const Heartbeat& s, Envelope& env) {
  Out o(env.allocator());
  o.str("agent_version", s.agentVersion)
      .put("interval_seconds", Value(s.intervalSeconds))
      .opt("uptime_seconds", s.uptimeSeconds)
      .opt("frp_running", s.frpRunning)
      .time("frp_expires_at", s.frpExpiresAtMs)
      .into(env);
}

Result<Heartbeat> readHeartbeat(const Value& body) {
  In in(body, "body");
  Heartbeat s;
  s.agentVersion = in.str("agent_version");
  s.intervalSeconds = in.int64("interval_seconds").value_or(0);
  s.uptimeSeconds = in.number("uptime_seconds");
  s.frpRunning = in.boolean("frp_running");
  s.frpExpiresAtMs = in.time("frp_expires_at");
  return in.result(std::move(s));
}

void write(const AgentStarted& s, Envelope& env) {
  Out o(env.allocator());
  o.str("agent_version", s.agentVersion)
      .str("hostname", s.hostname)
      .opt("pid", s.pid)
      .opt("session_resumed", s.sessionResumed)
      .into(env);
}

Result<AgentStarted> readAgentStarted(const Value& body) {
  In in(body, "body");
  AgentStarted s;
  s.agentVersion = in.str("agent_version");
  s.hostname = in.str("hostname");
  s.pid = in.int64("pid");
  s.sessionResumed = in.boolean("session_resumed");
  return in.result(std::move(s));
}

void write(const AgentStopping& s, Envelope& env) {
  Out o(env.allocator());
  o.str("agent_version", s.agentVersion).str("reason", s.reason).into(env);
}

Result<AgentStopping> readAgentStopping(const Value& body) {
  In in(body, "body");
  AgentStopping s;
  s.agentVersion = in.str("agent_version");
  s.reason = in.str("reason");
  return in.result(std::move(s));
}

void write(const Pong& s, Envelope& env) {
  Out o(env.allocator());
  o.put("pong", Value(s.pong))
      .str("agent_version", s.agentVersion)
      .time("received_at", s.receivedAtMs)
      .into(env);
}

Result<Pong> readPong(const Value& body) {
  In in(body, "body");
  Pong s;
  s.pong = in.boolean("pong").value_or(false);
  s.agentVersion = in.str("agent_version");
  s.receivedAtMs = in.time("received_at");
  return in.result(std::move(s));
}

// ---- system info -------------------------------------------------------------------------------

void write(const SystemInfo& s, Envelope& env) {
  Alloc& alloc = env.allocator();
  Out o(alloc);
  o.str("agent_version", s.agentVersion)
      .str("hostname", s.hostname)
      .str("kernel", s.kernel)
      .put("uptime_seconds", Value(s.uptimeSeconds))
      .opt("cpu_usage_percent", s.cpuUsagePercent)
      .opt("cpu_count", s.cpuCount);
  if (!s.loadAverage.empty()) {
    Value load(rapidjson::kArrayType);
    for (double l : s.loadAverage) {
      load.PushBack(l, alloc);
    }
    o.put("load_average", std::move(load));
  }
  if (s.memory) {
    Out mem(alloc);
    mem.opt("total_bytes", s.memory->totalBytes)
        .opt("available_bytes", s.memory->availableBytes)
        .opt("used_percent", s.memory->usedPercent);
    o.put("memory", mem.take());
  }
  Value disks(rapidjson::kArrayType);
  for (const auto& d : s.disks) {
    Out disk(alloc);
    disk.put("path", json::str(d.path, alloc))
        .put("total_bytes", Value(d.totalBytes))
        .put("available_bytes", Value(d.availableBytes))
        .put("used_percent", Value(d.usedPercent));
    disks.PushBack(disk.take(), alloc);
  }
  o.put("disks", std::move(disks)).opt("agent_rss_bytes", s.agentRssBytes).into(env);
}

Result<SystemInfo> readSystemInfo(const Value& body) {
  In in(body, "body");
  SystemInfo s;
  s.agentVersion = in.str("agent_version");
  s.hostname = in.str("hostname");
  s.kernel = in.str("kernel");
  s.uptimeSeconds = in.number("uptime_seconds").value_or(0);
  s.cpuUsagePercent = in.number("cpu_usage_percent");
  s.cpuCount = in.int64("cpu_count");
  if (const Value* load = in.array("load_average")) {
    for (const auto& l : load->GetArray()) {
      s.loadAverage.push_back(l.IsNumber() ? l.GetDouble() : 0.0);
    }
  }
  if (const Value* mem = in.object("memory")) {
    In m(*mem, "body.memory");
    s.memory =
        Memory{m.uint64("total_bytes"), m.uint64("available_bytes"), m.number("used_percent")};
    in.absorb(m);
  }
  if (const Value* disks = in.array("disks")) {
    for (rapidjson::SizeType i = 0; i < disks->Size(); ++i) {
      In d((*disks)[i], "body.disks." + std::to_string(i));
      s.disks.push_back(Disk{d.str("path"), d.uint64("total_bytes").value_or(0),
                             d.uint64("available_bytes").value_or(0),
                             d.number("used_percent").value_or(0)});
      in.absorb(d);
    }
  }
  s.agentRssBytes = in.int64("agent_rss_bytes");
  return in.result(std::move(s));
}

}  // namespace edgelink::envelope::body
