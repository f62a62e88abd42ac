#pragma once

// The typed model of the response and event bodies the agent writes and the dispatcher reads:
// one struct per body (schemas/bodies/ and common.schema.json hold their exact shape), a write()
// that puts a struct into an envelope's body, and a read...() that takes it back from a body.
//
// Writing: fill the struct, call write(struct, envelope). Optional members are written only when
// set (strings: when not empty), so a struct says exactly what goes on the wire. Each body's
// members are listed once (bodies.cpp), for writing and reading alike.
// Reading: checks the types of the members present and returns a 400 naming the first wrong one
// (`body.services.ssh.remote_port`); it does not check that required members are there -- the
// schemas did that when the envelope was decoded -- so a reader can also take what it needs from
// a body of another shape (an error body carries no frp state). Unknown members are ignored.

#include <rapidjson/document.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "envelope/envelope.h"

namespace edgelink::envelope::body {

/// One exposed service of an frp session (common.schema.json#/definitions/proxyState). Written
/// as an object; read also from a bare port number (the canonical start request's shape).
struct Proxy {
  std::optional<int> remotePort;  ///< absent for stcp proxies (no public port)
  std::string proxyName;
  std::string localAddr;
  std::string status;     ///< frp's proxy status: running, start error, ...
  std::string error;      ///< frp's own error text
  std::string type = {};  ///< "stcp" for stcp proxies (no public port); absent: tcp
};
using Proxies = std::map<std::string, Proxy>;  ///< service name -> proxy

/// The frp session's state: the body of frp_status and of successful start/stop answers, and of
/// the frp_started / frp_stopped events (common.schema.json#/definitions/frpState).
struct FrpState {
  std::string state;  ///< "running" / "stopped"
  Proxies services;
  std::optional<int64_t> pid;
  std::optional<int64_t> startedAtMs;
  std::optional<int64_t> expiresAtMs;
  std::optional<int64_t> secondsLeft;
  std::optional<int64_t> autoStopSeconds;
  std::optional<Id> requestId;  ///< the start of the session described
  std::optional<bool> extended;
  std::string stopReason;
  std::optional<int64_t> stoppedAtMs;
  // Events only.
  std::optional<bool> resumed;  ///< frp_started: a session resumed after an agent restart
  std::string exitStatus;       ///< frp_stopped: how frpc ended
  std::string frpcOutput;       ///< frp_stopped: frpc's last lines
};

/// The body of every non-2xx answer (schemas/bodies/responses/error.json).
struct ErrorBody {
  std::string error;                          ///< for humans; frp failures carry frp's own text
  std::string field;                          ///< the offending request field, when there is one
  std::optional<int64_t> requestTimestampMs;  ///< 408/400 clock errors
  std::optional<int64_t> requestExpiresAtMs;  ///< 408
  std::optional<int64_t> edgeTimeMs;          ///< 408/400 clock errors
  std::optional<int64_t> maxAgeSeconds;
  std::string expiredBy;  ///< 408: "expires_at" / "max_age"
  Proxies proxies;        ///< frp failures: each proxy as frpc reported it
};

/// The agent's own numbers, carried by its heartbeat (schemas/bodies/events/heartbeat.json's
/// `metrics`) and stored by the dispatcher per edge as the same JSON. Counters count since the
/// agent process started (a restart starts them at 0 again); the rest are values at the
/// heartbeat.
struct AgentMetrics {
  /// Requests handled, by outcome (envelope/types.h request_outcome: ok, rejected, stale,
  /// failed, redelivered).
  std::map<std::string, uint64_t> requests;
  uint64_t frpcStarts = 0;           ///< frpc processes started
  uint64_t frpcUnexpectedExits = 0;  ///< sessions ended by frpc exiting on its own
  uint64_t kafkaReconnects = 0;      ///< times Kafka was lost (transport failure) after working
  uint64_t outboxDepth = 0;          ///< answers and events not yet delivered, now
  std::optional<uint64_t> rssBytes;  ///< the agent's resident set, now
  /// The edge's wall clock minus the Kafka timestamp of the last request it read (an estimate
  /// including transit; absent until a request was read).
  std::optional<int64_t> clockOffsetMs;
};

struct Heartbeat {
  std::string agentVersion;
  int64_t intervalSeconds = 0;
  std::optional<double> uptimeSeconds;
  std::optional<bool> frpRunning;
  std::optional<int64_t> frpExpiresAtMs;
  std::optional<AgentMetrics> metrics;  ///< absent from agents before metrics
  /// The edge's wall clock minus the broker's time, measured with the broker timestamps of its
  /// heartbeats (LogAppendTime); absent until known.
  std::optional<int64_t> clockOffsetMs;
};

struct AgentStarted {
  std::string agentVersion;
  std::string hostname;
  std::optional<int64_t> pid;
  std::optional<bool> sessionResumed;
};

struct AgentStopping {
  std::string agentVersion;
  std::string reason;
};

struct Pong {
  bool pong = false;
  std::string agentVersion;
  std::optional<int64_t> receivedAtMs;
};

struct Memory {
  std::optional<uint64_t> totalBytes;
  std::optional<uint64_t> availableBytes;
  std::optional<double> usedPercent;
};

struct Disk {
  std::string path;
  uint64_t totalBytes = 0;
  uint64_t availableBytes = 0;
  double usedPercent = 0;
};

/// The answer to system_info.
struct SystemInfo {
  std::string agentVersion;
  std::string hostname;
  std::string kernel;
  double uptimeSeconds = 0;
  std::optional<double> cpuUsagePercent;
  std::optional<int64_t> cpuCount;
  std::optional<std::vector<double>> loadAverage;  ///< 1, 5, 15 minutes
  std::optional<Memory> memory;
  std::vector<Disk> disks;
  std::optional<int64_t> agentRssBytes;
};

void write(const FrpState& s, Envelope& env);
void write(const ErrorBody& s, Envelope& env);
void write(const Heartbeat& s, Envelope& env);
void write(const AgentStarted& s, Envelope& env);
void write(const AgentStopping& s, Envelope& env);
void write(const Pong& s, Envelope& env);
void write(const SystemInfo& s, Envelope& env);

Result<FrpState> readFrpState(const rapidjson::Value& body);
Result<ErrorBody> readErrorBody(const rapidjson::Value& body);
Result<Heartbeat> readHeartbeat(const rapidjson::Value& body);
Result<AgentStarted> readAgentStarted(const rapidjson::Value& body);
Result<AgentStopping> readAgentStopping(const rapidjson::Value& body);
Result<Pong> readPong(const rapidjson::Value& body);
Result<SystemInfo> readSystemInfo(const rapidjson::Value& body);

/// AgentMetrics as a JSON object of its own (the heartbeat's `metrics`, as the dispatcher stores
/// it), and back; read errors name the member under `metrics` (`metrics.rss_bytes`).
std::string toJson(const AgentMetrics& m);
Result<AgentMetrics> readAgentMetrics(const rapidjson::Value& metrics);

}  // namespace edgelink::envelope::body
