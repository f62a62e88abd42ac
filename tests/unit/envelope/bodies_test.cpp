// The typed body model (envelope/bodies.h): every body round-trips through the wire (write,
// encode, decode with the schemas, read), reads the JSON the edge agent emits today, and writes
// it back byte for byte -- so the agent can move to write() without changing a byte on the wire.

#include "envelope/bodies.h"

#include <catch2/catch.hpp>
#include <functional>

#include "core/time_format.h"
#include "envelope/envelope.h"
#include "envelope/types.h"
#include "jsonschema/json_util.h"

using namespace edgelink;
using namespace edgelink::envelope;

namespace {

const int64_t kNow = *parseRfc3339Ms("2026-11-21T08:00:00.000Z");

/// `body` (JSON object text) in an envelope of `kind`/`type`, decoded with the schemas.
Envelope decodeBody(Kind kind, const std::string& type, const std::string& body) {
  std::string text;
  if (kind == Kind::kEvent) {
    text = R"({"event":{"id":"e-1","sender":"edge_board","timestamp":"2026-11-21T08:00:00.000Z",)"
           R"("type":")" +
           type + R"(","body":)" + body + "}}";
  } else {
    const bool ok = body.find("\"error\"") == std::string::npos;
    text =
        R"({"response":{"id":"r-1","sender":"edge_board","timestamp":"2026-11-21T08:00:00.000Z",)"
        R"("type":")" +
        type + R"(","overall_status_code":")" + (ok ? "200" : "500") + R"(","overall_status":")" +
        (ok ? "Succeed" : "Failed") + R"(","body":)" + body + "}}";
  }
  Decoder decoder;
  auto decoded = decoder.decode(text);
  if (!decoded) {
    FAIL(decoded.error().describe() + " in " + text);
  }
  return std::move(decoded).value();
}

/// A fresh envelope of the same kind and type, its body written by `write`.
template <typename T>
std::string written(Kind kind, const std::string& type, const T& value) {
  Envelope env = kind == Kind::kEvent
                     ? Envelope::event(Id::text("e-2"), "edge_board", kNow, type)
                     : Envelope::response(Id::text("r-2"), type, "edge_board", kNow, 200);
  body::write(value, env);
  return json::stringify(env.body());
}

/// write -> encode -> decode (schemas) -> read -> write gives the same body.
template <typename T>
T roundTrip(Kind kind, const std::string& type, const T& value,
            Result<T> (*read)(const rapidjson::Value&)) {
  const std::string first = written(kind, type, value);
  Envelope back = decodeBody(kind, type, first);
  auto read1 = read(back.body());
  REQUIRE(read1);
  CHECK(written(kind, type, *read1) == first);
  return std::move(read1).value();
}

}  // namespace

TEST_CASE("every body type round-trips through the wire", "[bodies]") {
  body::FrpState running;
  running.state = "running";
  running.services["ssh"] = {31022, "elevator-0042.ssh", "127.0.0.1:22", "running", ""};
  running.services["fcc_web"] = {31080, "elevator-0042.fcc_web", "192.168.1.10:80", "start error",
                                 "port already used"};
  running.pid = 4242;
  running.startedAtMs = kNow;
  running.expiresAtMs = kNow + 7200000;
  running.secondsLeft = 7199;
  running.autoStopSeconds = 7200;
  running.requestId = Id::number(120);
  running.extended = false;
  auto state = roundTrip(Kind::kResponse, "frp_status", running, &body::readFrpState);
  CHECK(state.services.at("fcc_web").error == "port already used");
  CHECK(state.requestId == Id::number(120));
  CHECK(state.expiresAtMs == kNow + 7200000);

  body::FrpState stopped;
  stopped.state = "stopped";
  stopped.stopReason = "exited_unexpectedly";
  stopped.stoppedAtMs = kNow;
  stopped.requestId = Id::text("7d1c5c6e");
  stopped.exitStatus = "exited with status 1";
  stopped.frpcOutput = "login to server failed";
  CHECK(roundTrip(Kind::kEvent, "frp_stopped", stopped, &body::readFrpState).frpcOutput ==
        "login to server failed");

  body::ErrorBody error;
  error.error = "frp proxy elevator-0042.ssh: start error: port already used";
  error.field = "request.body.edge_ssh_remote_port";
  error.requestTimestampMs = kNow - 700000;
  error.edgeTimeMs = kNow;
  error.maxAgeSeconds = 600;
  error.expiredBy = "max_age";
  error.proxies["ssh"] = {3997, "", "", "start error", "port already used"};
  CHECK(roundTrip(Kind::kResponse, "change_frp_client_config", error, &body::readErrorBody)
            .proxies.at("ssh")
            .remotePort == 3997);

  body::Heartbeat hb{"1.4.0", 60, 3600.25, true, kNow + 60000, std::nullopt, std::nullopt};
  CHECK(roundTrip(Kind::kEvent, "heartbeat", hb, &body::readHeartbeat).uptimeSeconds == 3600.25);

  body::AgentStarted started{"1.4.0", "elevator-0042", 812, true};
  CHECK(roundTrip(Kind::kEvent, "agent_started", started, &body::readAgentStarted).hostname ==
        "elevator-0042");

  body::AgentStopping stopping{"1.4.0", "SIGTERM"};
  CHECK(roundTrip(Kind::kEvent, "agent_stopping", stopping, &body::readAgentStopping).reason ==
        "SIGTERM");

  body::Pong pong{true, "1.4.0", kNow};
  CHECK(roundTrip(Kind::kResponse, "ping", pong, &body::readPong).receivedAtMs == kNow);

  body::SystemInfo info;
  info.agentVersion = "1.4.0";
  info.hostname = "elevator-0042";
  info.kernel = "Linux 4.19.111 armv7l";
  info.uptimeSeconds = 86400.5;
  info.cpuUsagePercent = 12.5;
  info.cpuCount = 4;
  info.loadAverage = std::vector<double>{0.25, 0.5, 0.75};
  info.memory = body::Memory{536870912, 268435456, 50.0};
  info.disks = {{"/", 8000000000, 2000000000, 75.0}, {"/var/lib/edge-agent", 100, 50, 50.0}};
  info.agentRssBytes = 6291456;
  auto sys = roundTrip(Kind::kResponse, "system_info", info, &body::readSystemInfo);
  CHECK(sys.disks.size() == 2);
  CHECK(sys.memory->usedPercent == 50.0);
}

TEST_CASE("the bodies the agent emits today read as typed and write back byte for byte",
          "[bodies]") {
  // As edge-agent's writers build them (session.cpp writeFrpState, agent.cpp's heartbeat,
  // agent_started/stopping, ping and frp events, system_info.cpp, request_policy.cpp).
  struct Sample {
    Kind kind;
    const char* type;
    const char* body;
    std::function<std::string(const rapidjson::Value&)> rewrite;
  };
  auto as = [](Kind kind, const char* type, auto read) {
    return [kind, type, read](const rapidjson::Value& v) {
      auto r = read(v);
      REQUIRE(r);
      return written(kind, type, *r);
    };
  };
  const std::vector<Sample> samples = {
      {Kind::kResponse, "frp_start",
       R"({"state":"running","services":{"ssh":{"remote_port":31022,"proxy_name":"elevator-0042.ssh",)"
       R"("local_addr":"127.0.0.1:22","status":"running"}},"pid":4242,)"
       R"("started_at":"2026-11-21T08:00:00.000Z","expires_at":"2026-11-21T10:00:00.000Z",)"
       R"("seconds_left":7200,"auto_stop_seconds":7200,"request_id":"7d1c5c6e","extended":false})",
       as(Kind::kResponse, "frp_start", &body::readFrpState)},
      {Kind::kResponse, "frp_status",
       R"({"state":"stopped","stop_reason":"auto_stop","stopped_at":"2026-11-21T10:00:00.000Z"})",
       as(Kind::kResponse, "frp_status", &body::readFrpState)},
      {Kind::kEvent, "frp_started",
       R"({"state":"running","services":{"ssh":{"remote_port":31022,"proxy_name":"elevator-0042.ssh",)"
       R"("local_addr":"127.0.0.1:22","status":"running"}},"pid":4242,)"
       R"("started_at":"2026-11-21T08:00:00.000Z","expires_at":"2026-11-21T10:00:00.000Z",)"
       R"("seconds_left":7200,"auto_stop_seconds":7200,"request_id":120,"extended":false,)"
       R"("resumed":true})",
       as(Kind::kEvent, "frp_started", &body::readFrpState)},
      {Kind::kEvent, "frp_stopped",
       R"({"state":"stopped","services":{"ssh":{"remote_port":31022,"proxy_name":"elevator-0042.ssh",)"
       R"("local_addr":"127.0.0.1:22"}},"started_at":"2026-11-21T08:00:00.000Z",)"
       R"("expires_at":"2026-11-21T10:00:00.000Z","auto_stop_seconds":7200,)"
       R"("request_id":"7d1c5c6e","stop_reason":"exited_unexpectedly",)"
       R"("stopped_at":"2026-11-21T08:30:00.000Z","exit_status":"exited with status 1",)"
       R"("frpc_output":"login to server failed: authorization failed"})",
       as(Kind::kEvent, "frp_stopped", &body::readFrpState)},
      {Kind::kResponse, "change_frp_client_config",
       R"({"error":"frp proxy elevator-0042.ssh: start error: port already used",)"
       R"("proxies":{"ssh":{"remote_port":3997,"proxy_name":"elevator-0042.ssh",)"
       R"("status":"start error","error":"port already used"}}})",
       as(Kind::kResponse, "change_frp_client_config", &body::readErrorBody)},
      {Kind::kResponse, "frp_status",
       R"({"error":"request expired at 2026-11-21T07:59:58.000Z, its expires_at",)"
       R"("request_timestamp":"2026-11-21T07:59:50.000Z",)"
       R"("request_expires_at":"2026-11-21T07:59:58.000Z",)"
       R"("edge_time":"2026-11-21T08:00:00.000Z","max_age_seconds":600,)"
       R"("expired_by":"expires_at"})",
       as(Kind::kResponse, "frp_status", &body::readErrorBody)},
      {Kind::kResponse, "frp_status",
       R"({"error":"request timestamp is ahead of the edge clock","field":"request.timestamp",)"
       R"("request_timestamp":"2026-11-21T08:10:00.000Z",)"
       R"("edge_time":"2026-11-21T08:00:00.000Z","max_age_seconds":600})",
       as(Kind::kResponse, "frp_status", &body::readErrorBody)},
      {Kind::kEvent, "heartbeat",
       R"({"agent_version":"1.4.0","interval_seconds":60,"uptime_seconds":3600.25,)"
       R"("frp_running":true,"frp_expires_at":"2026-11-21T10:00:00.000Z"})",
       as(Kind::kEvent, "heartbeat", &body::readHeartbeat)},
      {Kind::kEvent, "agent_started",
       R"({"agent_version":"1.4.0","hostname":"elevator-0042","pid":812,"session_resumed":false})",
       as(Kind::kEvent, "agent_started", &body::readAgentStarted)},
      {Kind::kEvent, "agent_stopping", R"({"agent_version":"1.4.0","reason":"SIGTERM"})",
       as(Kind::kEvent, "agent_stopping", &body::readAgentStopping)},
      {Kind::kResponse, "ping",
       R"({"pong":true,"agent_version":"1.4.0","received_at":"2026-11-21T08:00:00.120Z"})",
       as(Kind::kResponse, "ping", &body::readPong)},
      {Kind::kResponse, "system_info",
       R"({"agent_version":"1.4.0","hostname":"elevator-0042","kernel":"Linux 4.19.111 armv7l",)"
       R"("uptime_seconds":86400.5,"cpu_usage_percent":12.5,"cpu_count":4,)"
       R"("load_average":[0.25,0.5,0.75],"memory":{"total_bytes":536870912,)"
       R"("available_bytes":268435456,"used_percent":50.0},"disks":[{"path":"/",)"
       R"("total_bytes":8000000000,"available_bytes":2000000000,"used_percent":75.0}],)"
       R"("agent_rss_bytes":6291456})",
       as(Kind::kResponse, "system_info", &body::readSystemInfo)},
  };
  for (const auto& s : samples) {
    INFO(s.type << ": " << s.body);
    Envelope env = decodeBody(s.kind, s.type, s.body);  // the schemas accept it
    CHECK(s.rewrite(env.body()) == s.body);
  }
}

TEST_CASE("a body member of the wrong type is an error naming it", "[bodies]") {
  rapidjson::Document d;
  d.Parse(R"({"state":"running","services":{"ssh":{"remote_port":"22"}}})");
  auto s = body::readFrpState(d);
  REQUIRE_FALSE(s);
  CHECK(s.error().status == Status::kBadRequest);
  CHECK(s.error().field == "body.services.ssh.remote_port");

  d.Parse(R"({"agent_version":"1.4.0","interval_seconds":"60"})");
  auto hb = body::readHeartbeat(d);
  REQUIRE_FALSE(hb);
  CHECK(hb.error().field == "body.interval_seconds");

  d.Parse(R"({"disks":[{"path":"/","total_bytes":-1}]})");
  auto info = body::readSystemInfo(d);
  REQUIRE_FALSE(info);
  CHECK(info.error().field == "body.disks.0.total_bytes");

  d.Parse(R"({"started_at":"yesterday"})");
  CHECK(body::readFrpState(d).error().field == "body.started_at");

  d.Parse("[1,2]");
  CHECK(body::readAgentStopping(d).error().field == "body");
}

TEST_CASE("a reader takes what it knows from a body of another shape", "[bodies]") {
  rapidjson::Document d;
  // An error answer to a start: no frp state in it, but its error text.
  d.Parse(R"({"error":"port not allowed","field":"request.body.edge_ssh_remote_port"})");
  auto state = body::readFrpState(d);
  REQUIRE(state);
  CHECK(state->state.empty());
  CHECK(state->services.empty());
  auto error = body::readErrorBody(d);
  REQUIRE(error);
  CHECK(error->field == "request.body.edge_ssh_remote_port");
  // The canonical start request's services: bare ports.
  d.Parse(R"({"services":{"ssh":31022},"future_member":{"x":1}})");
  auto canonical = body::readFrpState(d);
  REQUIRE(canonical);
  CHECK(canonical->services.at("ssh").remotePort == 31022);
}

TEST_CASE("a heartbeat carries the agent's metrics through the wire", "[bodies]") {
  body::AgentMetrics m;
  m.requests = {{request_outcome::kOk, 12},
                {request_outcome::kRejected, 1},
                {request_outcome::kStale, 2},
                {request_outcome::kFailed, 1},
                {request_outcome::kRedelivered, 0}};
  m.frpcStarts = 3;
  m.frpcUnexpectedExits = 1;
  m.kafkaReconnects = 2;
  m.outboxDepth = 4;
  m.rssBytes = 12681216;
  m.clockOffsetMs = -38;
  body::Heartbeat hb{"1.4.0", 60, 180.5, false, std::nullopt, m, std::nullopt};
  auto back = roundTrip(Kind::kEvent, "heartbeat", hb, &body::readHeartbeat);
  REQUIRE(back.metrics);
  CHECK(back.metrics->requests == m.requests);
  CHECK(back.metrics->frpcStarts == 3);
  CHECK(back.metrics->frpcUnexpectedExits == 1);
  CHECK(back.metrics->kafkaReconnects == 2);
  CHECK(back.metrics->outboxDepth == 4);
  CHECK(back.metrics->rssBytes == uint64_t{12681216});
  CHECK(back.metrics->clockOffsetMs == int64_t{-38});
  CHECK(written(Kind::kEvent, "heartbeat", hb) ==
        R"({"agent_version":"1.4.0","interval_seconds":60,"uptime_seconds":180.5,)"
        R"("frp_running":false,"metrics":{"requests":{"failed":1,"ok":12,"redelivered":0,)"
        R"("rejected":1,"stale":2},"frpc_starts":3,"frpc_unexpected_exits":1,)"
        R"("kafka_reconnects":2,"outbox_depth":4,"rss_bytes":12681216,"clock_offset_ms":-38}})");

  // The metrics object alone, as the dispatcher stores it, reads back the same.
  const std::string stored = body::toJson(m);
  rapidjson::Document d;
  d.Parse(stored.c_str());
  auto again = body::readAgentMetrics(d);
  REQUIRE(again);
  CHECK(body::toJson(*again) == stored);
  // Before any request was read there is no clock offset, and rss may be unknown.
  body::AgentMetrics fresh;
  CHECK(body::toJson(fresh) ==
        R"({"frpc_starts":0,"frpc_unexpected_exits":0,"kafka_reconnects":0,"outbox_depth":0})");
}

TEST_CASE("a heartbeat without metrics (an older agent) stays valid", "[bodies]") {
  Envelope env =
      decodeBody(Kind::kEvent, "heartbeat",
                 R"({"agent_version":"1.3.0","interval_seconds":60,"frp_running":false})");
  auto hb = body::readHeartbeat(env.body());
  REQUIRE(hb);
  CHECK_FALSE(hb->metrics);
  CHECK(hb->agentVersion == "1.3.0");
  // Members a later agent may add are ignored.
  env = decodeBody(Kind::kEvent, "heartbeat",
                   R"({"agent_version":"1.5.0","interval_seconds":60,)"
                   R"("metrics":{"frpc_starts":1,"future_gauge":3.5}})");
  hb = body::readHeartbeat(env.body());
  REQUIRE(hb);
  REQUIRE(hb->metrics);
  CHECK(hb->metrics->frpcStarts == 1);
  CHECK(hb->metrics->requests.empty());
}

TEST_CASE("a bad metric value is an error naming it", "[bodies]") {
  struct Bad {
    const char* metrics;
    const char* field;    // as the schemas name it
    const char* message;  // the schemas' words
  };
  const std::vector<Bad> bad = {
      {R"({"frpc_starts":-1})", "event.body.metrics.frpc_starts", "non-negative integer"},
      {R"({"rss_bytes":1.5})", "event.body.metrics.rss_bytes", "non-negative integer"},
      {R"({"clock_offset_ms":"12"})", "event.body.metrics.clock_offset_ms", "integer"},
      {R"({"requests":{"ok":"12"}})", "event.body.metrics.requests.ok", "non-negative integer"},
      {R"({"requests":{"OK; drop":1}})", "event.body.metrics.requests", "outcome names"},
      {R"({"requests":[1]})", "event.body.metrics.requests", "object"},
      {R"([])", "event.body.metrics", "object"},
  };
  Decoder decoder;
  for (const auto& b : bad) {
    const std::string text =
        R"({"event":{"id":"e-1","sender":"edge_board","timestamp":"2026-11-21T08:00:00.000Z",)"
        R"("type":"heartbeat","body":{"agent_version":"1.4.0","interval_seconds":60,"metrics":)" +
        std::string(b.metrics) + "}}}";
    INFO(text);
    auto decoded = decoder.decode(text);
    REQUIRE_FALSE(decoded);
    CHECK(decoded.error().field == b.field);
    CHECK(decoded.error().message.find(b.message) != std::string::npos);
  }
  // The typed reader names the member too (for bodies not checked by the schemas: the
  // dispatcher's stored copy).
  rapidjson::Document d;
  d.Parse(R"({"agent_version":"1.4.0","interval_seconds":60,"metrics":{"frpc_starts":-1}})");
  auto hb = body::readHeartbeat(d);
  REQUIRE_FALSE(hb);
  CHECK(hb.error().field == "body.metrics.frpc_starts");
  CHECK(hb.error().message == "expected non-negative integer");
  d.Parse(R"({"requests":{"ok":true}})");
  auto m = body::readAgentMetrics(d);
  REQUIRE_FALSE(m);
  CHECK(m.error().field == "metrics.requests.ok");
  d.Parse(R"("12")");
  CHECK(body::readAgentMetrics(d).error().field == "metrics");
}
