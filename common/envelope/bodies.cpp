#include "envelope/bodies.h"

#include <type_traits>
#include <utility>

#include "core/time_format.h"
#include "jsonschema/json_util.h"

namespace edgelink::envelope::body {
namespace {

using rapidjson::Value;
using Alloc = rapidjson::Document::AllocatorType;

// Each body's members are listed once, in members() below, for both directions: Out writes
// them (in that order: the wire's), In reads them back. Optional members are written only when
// set, strings only when not empty; the types here are the wire's.

/// Writes the members of one JSON object.
class Out {
 public:
  explicit Out(Alloc& alloc) : alloc_(alloc) {}

  void member(const char* key, const std::string& v) {
    if (!v.empty()) {
      put(key, json::str(v, alloc_));
    }
  }
  template <typename T>
  void member(const char* key, const T& v) {
    if constexpr (std::is_arithmetic_v<T>) {
      put(key, Value(v));
    } else {
      put(key, object(v));
    }
  }
  template <typename T>
  void member(const char* key, const std::optional<T>& v) {
    if (v) {
      member(key, *v);
    }
  }
  void member(const char* key, const Id& v) {
    if (v.empty()) {
      return;
    }
    put(key, v.isNumber() ? Value(static_cast<uint64_t>(std::stoull(v.str())))
                          : json::str(v.str(), alloc_));
  }
  template <typename T>
  void member(const char* key, const std::map<std::string, T>& all) {
    if (!all.empty()) {
      Value out(rapidjson::kObjectType);
      for (const auto& [name, one] : all) {
        if constexpr (std::is_arithmetic_v<T>) {
          out.AddMember(json::str(name, alloc_), Value(one), alloc_);
        } else {
          out.AddMember(json::str(name, alloc_), object(one), alloc_);
        }
      }
      put(key, std::move(out));
    }
  }
  template <typename T>
  void member(const char* key, const std::vector<T>& all) {
    Value out(rapidjson::kArrayType);
    for (const auto& one : all) {
      if constexpr (std::is_arithmetic_v<T>) {
        out.PushBack(Value(one), alloc_);
      } else {
        out.PushBack(object(one), alloc_);
      }
    }
    put(key, std::move(out));
  }
  /// A timestamp: RFC 3339 UTC text.
  void time(const char* key, const std::optional<int64_t>& ms) {
    if (ms) {
      put(key, json::str(formatRfc3339Ms(*ms), alloc_));
    }
  }

  /// The object written so far (leaves this writer empty).
  Value take() { return std::move(obj_); }

  /// Into the envelope's body (members it has already are replaced).
  void into(Envelope& env) {
    for (auto& m : obj_.GetObject()) {
      env.set(m.name.GetString(), std::move(m.value));
    }
  }

 private:
  void put(const char* key, Value v) {
    obj_.AddMember(rapidjson::StringRef(key), std::move(v), alloc_);
  }
  template <typename T>
  Value object(const T& s) {
    Out nested(alloc_);
    members(nested, s);
    return std::move(nested.obj_);
  }

  Alloc& alloc_;
  Value obj_{rapidjson::kObjectType};
};

/// Reads the members of one JSON object; remembers the first one of a wrong type.
class In {
 public:
  In(const Value& obj, std::string path) : obj_(obj), path_(std::move(path)) {
    if (!obj.IsObject()) {
      wrong("", "object");
    }
  }

  void member(const char* key, std::string& out) {
    if (const Value* v = get(key)) {
      if (v->IsString()) {
        out.assign(v->GetString(), v->GetStringLength());
      } else {
        wrong(key, "string");
      }
    }
  }
  template <typename T>
  void member(const char* key, T& out) {
    std::optional<T> v;
    member(key, v);
    if (v) {
      out = std::move(*v);
    }
  }
  template <typename T>
  void member(const char* key, std::optional<T>& out) {
    const Value* v = get(key);
    if (v == nullptr) {
      return;
    }
    if constexpr (std::is_arithmetic_v<T>) {
      T one{};
      scalar(*v, one) ? void(out = one) : wrong(key, expected<T>());
    } else if constexpr (std::is_same_v<T, Id>) {
      if (v->IsString() && v->GetStringLength() > 0) {
        out = Id::text(std::string(v->GetString(), v->GetStringLength()));
      } else if (v->IsUint64()) {
        out = Id::number(v->GetUint64());
      } else {
        wrong(key, "non-empty string or non-negative integer");
      }
    } else if (v->IsObject()) {
      out = nested<T>(*v, std::string(".") + key);
    } else {
      wrong(key, "object");
    }
  }
  template <typename T>
  void member(const char* key, std::map<std::string, T>& out) {
    const Value* v = get(key);
    if (v == nullptr) {
      return;
    }
    if (!v->IsObject()) {
      wrong(key, "object");
      return;
    }
    for (const auto& m : v->GetObject()) {
      const std::string name(m.name.GetString(), m.name.GetStringLength());
      if constexpr (std::is_arithmetic_v<T>) {
        if (!scalar(m.value, out[name])) {
          wrong((std::string(key) + "." + name).c_str(), expected<T>());
        }
      } else {
        if constexpr (std::is_same_v<T, Proxy>) {
          if (m.value.IsInt()) {  // the canonical start request's shape: {"ssh": 31022}
            out[name].remotePort = m.value.GetInt();
            continue;
          }
        }
        out[name] = nested<T>(m.value, std::string(".") + key + "." + name);
      }
    }
  }
  template <typename T>
  void member(const char* key, std::optional<std::vector<T>>& out) {
    if (get(key) != nullptr) {
      out.emplace();
      member(key, *out);
    }
  }
  template <typename T>
  void member(const char* key, std::vector<T>& out) {
    const Value* v = get(key);
    if (v == nullptr) {
      return;
    }
    if (!v->IsArray()) {
      wrong(key, "array");
      return;
    }
    for (rapidjson::SizeType i = 0; i < v->Size(); ++i) {
      const Value& one = (*v)[i];
      if constexpr (std::is_arithmetic_v<T>) {
        out.push_back(one.IsNumber() ? one.GetDouble() : T{});
      } else {
        out.push_back(nested<T>(one, std::string(".") + key + "." + std::to_string(i)));
      }
    }
  }
  /// A timestamp: RFC 3339 text or epoch milliseconds.
  void time(const char* key, std::optional<int64_t>& out) {
    const Value* v = get(key);
    if (v == nullptr) {
      return;
    }
    if (v->IsInt64()) {
      out = v->GetInt64();
    } else if (auto ms = v->IsString() ? parseRfc3339Ms(
                                             std::string_view(v->GetString(), v->GetStringLength()))
                                       : std::nullopt) {
      out = ms;
    } else {
      wrong(key, "RFC 3339 time or epoch milliseconds");
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
  /// A number or boolean of type T from `v`; false (and `out` untouched) when `v` is not one.
  template <typename T>
  static bool scalar(const Value& v, T& out) {
    if constexpr (std::is_same_v<T, bool>) {
      return v.IsBool() && (out = v.GetBool(), true);
    } else if constexpr (std::is_floating_point_v<T>) {
      return v.IsNumber() && (out = static_cast<T>(v.GetDouble()), true);
    } else if constexpr (std::is_same_v<T, uint64_t>) {
      return v.IsUint64() && (out = v.GetUint64(), true);
    } else {
      return v.IsInt64() && (out = static_cast<T>(v.GetInt64()), true);
    }
  }
  template <typename T>
  static const char* expected() {
    if constexpr (std::is_same_v<T, bool>) {
      return "boolean";
    } else if constexpr (std::is_floating_point_v<T>) {
      return "number";
    } else if constexpr (std::is_same_v<T, uint64_t>) {
      return "non-negative integer";
    } else {
      return "integer";
    }
  }

  const Value* get(const char* key) const {
    return obj_.IsObject() ? json::member(obj_, key) : nullptr;
  }
  void wrong(const char* key, const char* expected) {
    if (!error_) {
      error_ = Error(Status::kBadRequest, std::string("expected ") + expected,
                     *key != '\0' ? path_ + "." + key : path_);
    }
  }
  template <typename T>
  T nested(const Value& v, const std::string& where) {
    In in(v, path_ + where);
    T out;
    members(in, out);
    if (in.error_ && !error_) {
      error_ = in.error_;
    }
    return out;
  }

  const Value& obj_;
  std::string path_;
  std::optional<Error> error_;
};

// ---- the members of each body, in the wire's order ----------------------------------------------

/// S is T or const T: one list serves Out (const) and In.
template <typename S, typename T>
using If = std::enable_if_t<std::is_same_v<std::remove_const_t<S>, T>, int>;

template <typename Io, typename S, If<S, Proxy> = 0>
void members(Io& io, S& s) {
  io.member("remote_port", s.remotePort);
  io.member("proxy_name", s.proxyName);
  io.member("local_addr", s.localAddr);
  io.member("status", s.status);
  io.member("error", s.error);
  io.member("type", s.type);
}

template <typename Io, typename S, If<S, FrpState> = 0>
void members(Io& io, S& s) {
  io.member("state", s.state);
  io.member("services", s.services);
  io.member("pid", s.pid);
  io.time("started_at", s.startedAtMs);
  io.time("expires_at", s.expiresAtMs);
  io.member("seconds_left", s.secondsLeft);
  io.member("auto_stop_seconds", s.autoStopSeconds);
  io.member("request_id", s.requestId);
  io.member("extended", s.extended);
  io.member("stop_reason", s.stopReason);
  io.time("stopped_at", s.stoppedAtMs);
  io.member("resumed", s.resumed);
  io.member("exit_status", s.exitStatus);
  io.member("frpc_output", s.frpcOutput);
}

template <typename Io, typename S, If<S, ErrorBody> = 0>
void members(Io& io, S& s) {
  io.member("error", s.error);
  io.member("field", s.field);
  io.time("request_timestamp", s.requestTimestampMs);
  io.time("request_expires_at", s.requestExpiresAtMs);
  io.time("edge_time", s.edgeTimeMs);
  io.member("max_age_seconds", s.maxAgeSeconds);
  io.member("expired_by", s.expiredBy);
  io.member("proxies", s.proxies);
}

template <typename Io, typename S, If<S, AgentMetrics> = 0>
void members(Io& io, S& s) {
  io.member("requests", s.requests);
  io.member("frpc_starts", s.frpcStarts);
  io.member("frpc_unexpected_exits", s.frpcUnexpectedExits);
  io.member("kafka_reconnects", s.kafkaReconnects);
  io.member("outbox_depth", s.outboxDepth);
  io.member("rss_bytes", s.rssBytes);
  io.member("clock_offset_ms", s.clockOffsetMs);
}

template <typename Io, typename S, If<S, Heartbeat> = 0>
void members(Io& io, S& s) {
  io.member("agent_version", s.agentVersion);
  io.member("interval_seconds", s.intervalSeconds);
  io.member("uptime_seconds", s.uptimeSeconds);
  io.member("frp_running", s.frpRunning);
  io.time("frp_expires_at", s.frpExpiresAtMs);
  io.member("metrics", s.metrics);
  io.member("clock_offset_ms", s.clockOffsetMs);
}

template <typename Io, typename S, If<S, AgentStarted> = 0>
void members(Io& io, S& s) {
  io.member("agent_version", s.agentVersion);
  io.member("hostname", s.hostname);
  io.member("pid", s.pid);
  io.member("session_resumed", s.sessionResumed);
}

template <typename Io, typename S, If<S, AgentStopping> = 0>
void members(Io& io, S& s) {
  io.member("agent_version", s.agentVersion);
  io.member("reason", s.reason);
}

template <typename Io, typename S, If<S, Pong> = 0>
void members(Io& io, S& s) {
  io.member("pong", s.pong);
  io.member("agent_version", s.agentVersion);
  io.time("received_at", s.receivedAtMs);
}

template <typename Io, typename S, If<S, Memory> = 0>
void members(Io& io, S& s) {
  io.member("total_bytes", s.totalBytes);
  io.member("available_bytes", s.availableBytes);
  io.member("used_percent", s.usedPercent);
}

template <typename Io, typename S, If<S, Disk> = 0>
void members(Io& io, S& s) {
  io.member("path", s.path);
  io.member("total_bytes", s.totalBytes);
  io.member("available_bytes", s.availableBytes);
  io.member("used_percent", s.usedPercent);
}

template <typename Io, typename S, If<S, SystemInfo> = 0>
void members(Io& io, S& s) {
  io.member("agent_version", s.agentVersion);
  io.member("hostname", s.hostname);
  io.member("kernel", s.kernel);
  io.member("uptime_seconds", s.uptimeSeconds);
  io.member("cpu_usage_percent", s.cpuUsagePercent);
  io.member("cpu_count", s.cpuCount);
  io.member("load_average", s.loadAverage);
  io.member("memory", s.memory);
  io.member("disks", s.disks);
  io.member("agent_rss_bytes", s.agentRssBytes);
}

template <typename T>
void writeBody(const T& s, Envelope& env) {
  Out out(env.allocator());
  members(out, s);
  out.into(env);
}

template <typename T>
Result<T> readBody(const Value& body, const char* path = "body") {
  In in(body, path);
  T s;
  members(in, s);
  return in.result(std::move(s));
}

}  // namespace

void write(const FrpState& s, Envelope& env) {
  writeBody(s, env);
}
void write(const ErrorBody& s, Envelope& env) {
  writeBody(s, env);
}
void write(const Heartbeat& s, Envelope& env) {
  writeBody(s, env);
}
void write(const AgentStarted& s, Envelope& env) {
  writeBody(s, env);
}
void write(const AgentStopping& s, Envelope& env) {
  writeBody(s, env);
}
void write(const Pong& s, Envelope& env) {
  writeBody(s, env);
}
void write(const SystemInfo& s, Envelope& env) {
  writeBody(s, env);
}

Result<FrpState> readFrpState(const Value& body) {
  return readBody<FrpState>(body);
}
Result<ErrorBody> readErrorBody(const Value& body) {
  return readBody<ErrorBody>(body);
}
Result<Heartbeat> readHeartbeat(const Value& body) {
  return readBody<Heartbeat>(body);
}
Result<AgentStarted> readAgentStarted(const Value& body) {
  return readBody<AgentStarted>(body);
}
Result<AgentStopping> readAgentStopping(const Value& body) {
  return readBody<AgentStopping>(body);
}
Result<Pong> readPong(const Value& body) {
  return readBody<Pong>(body);
}
Result<SystemInfo> readSystemInfo(const Value& body) {
  return readBody<SystemInfo>(body);
}

std::string toJson(const AgentMetrics& m) {
  rapidjson::Document doc;
  Out out(doc.GetAllocator());
  members(out, m);
  Value obj = out.take();
  return json::stringify(obj);
}
Result<AgentMetrics> readAgentMetrics(const Value& metrics) {
  return readBody<AgentMetrics>(metrics, "metrics");
}

}  // namespace edgelink::envelope::body
