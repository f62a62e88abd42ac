// AgentCore alone: what it asks for (the actions it returns) in answer to what happened, with no
// seams and no fakes; the outcomes of its actions are fed back by hand, as the shell would.

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "agent_core.h"
#include "core/time_format.h"
#include "envelope/json_util.h"
#include "unit_util.h"

using namespace edgelink;
using namespace edgelink::agent;

namespace {

constexpr const char* kProxy = "elevator-0042.ssh";

/// A request's bytes as a web backend writes them.
std::string requestBytes(int64_t id, const std::string& type, int64_t timestampMs,
                         const std::string& body = "") {
  return R"({"request":{"id":)" + std::to_string(id) + R"(,"sender":"web_backend","timestamp":)" +
         std::to_string(timestampMs) + R"(,"type":")" + type + "\"" +
         (body.empty() ? "" : ",\"body\":" + body) + "}}";
}

envelope::Envelope decoded(const action::Send& send) {
  envelope::Decoder decoder;
  auto d = decoder.decode(send.value);
  INFO(send.value);
  REQUIRE(d.ok());
  return std::move(*d);
}

/// One line per action: "persist", "persist, confirm", "send frp_start 200", "send frp_stopped",
/// "status idle", "start frpc", "check frpc", "stop frpc auto_stop", ...
std::vector<std::string> describe(const Actions& actions) {
  std::vector<std::string> out;
  for (const Action& a : actions) {
    if (const auto* send = std::get_if<action::Send>(&a)) {
      auto e = decoded(*send);
      out.push_back("send " + e.type +
                    (e.kind == envelope::Kind::kResponse ? " " + std::to_string(e.statusCode)
                                                         : std::string()));
    } else if (const auto* persist = std::get_if<action::PersistState>(&a)) {
      out.push_back(persist->confirm ? "persist, confirm" : "persist");
    } else if (const auto* status = std::get_if<action::SetStatus>(&a)) {
      out.push_back("status " + status->text);
    } else if (std::holds_alternative<action::WriteFrpcConfig>(a)) {
      out.push_back("write frpc config");
    } else if (std::holds_alternative<action::StartFrpc>(a)) {
      out.push_back("start frpc");
    } else if (std::holds_alternative<action::CheckFrpc>(a)) {
      out.push_back("check frpc");
    } else if (std::holds_alternative<action::QueryProxyStatus>(a)) {
      out.push_back("query proxy status");
    } else if (std::holds_alternative<action::WatchFrpcExit>(a)) {
      out.push_back("watch frpc exit");
    } else if (const auto* stop = std::get_if<action::StopFrpc>(&a)) {
      out.push_back(std::string(stop->exited ? "reap frpc " : "stop frpc ") + stop->reason);
    } else if (std::holds_alternative<action::SampleCpu>(a)) {
      out.push_back("sample cpu");
    } else if (std::holds_alternative<action::ReadSystemFacts>(a)) {
      out.push_back("read system facts");
    }
  }
  return out;
}

/// The messages among `actions`, decoded.
using test::sent;

std::string str(const envelope::Envelope& e, const char* key) {
  const char* v = json::getString(e.body(), key);
  return v ? v : "";
}

ProxyStatuses proxies(const char* status, const char* err = "") {
  ProxyStatuses s;
  s[kProxy] = ProxyStatus{kProxy, "tcp", status, err, "127.0.0.1:22", ""};
  return s;
}

StartProbe seen(ProxyStatuses statuses) {
  StartProbe probe;
  probe.statuses = Result<ProxyStatuses>(std::move(statuses));
  return probe;
}

struct Pure {
  testing::TempDir dir;
  AgentConfig config = test::validConfig(dir);
  ManualClock clock;
  AgentCore core{config, clock};

  /// Begun with nothing stored, its first heartbeat sent, and everything so far delivered.
  Pure() {
    Actions all = core.begin(AgentState{}, StartupFacts{"board", 7});
    for (Action& a : core.onTimers()) {
      all.push_back(std::move(a));
    }
    for (const Action& a : all) {
      if (const auto* send = std::get_if<action::Send>(&a)) {
        (void)core.onDelivery(Delivery{send->opaque, Delivery::Outcome::kDelivered, {}, "t[0]"});
      }
    }
  }
  Actions request(int64_t offset, const std::string& type, const std::string& body = "",
                  int64_t ageMs = 0) {
    const int64_t ts = clock.wallMs() - ageMs;
    return core.onMessage(Inbound{requestBytes(offset, type, ts, body), 0, offset, ts});
  }
  Actions advance(int64_t ms) {
    clock.advanceMs(ms);
    return core.onTimers();
  }
  /// A session started by the request at `offset` and running (its proxies all running).
  void startSession(int64_t offset, int64_t autoStopSeconds) {
    REQUIRE(describe(request(offset, "frp_start",
                             R"({"services":{"ssh":31022},"auto_stop_seconds":)" +
                                 std::to_string(autoStopSeconds) + "}")) ==
            std::vector<std::string>{"persist, confirm"});
    REQUIRE(describe(core.onStatePersisted({})) == std::vector<std::string>{"write frpc config"});
    REQUIRE(describe(core.onFrpcConfigWritten({})) == std::vector<std::string>{"start frpc"});
    (void)core.onFrpcStarted(FrpcRecord{4242, 99});
    REQUIRE(describe(advance(20)) == std::vector<std::string>{"check frpc"});
    answered = core.onFrpcChecked(seen(proxies("running")));
    REQUIRE(core.running());
  }
  /// Delivery reports for every Send among `actions`.
  void deliver(const Actions& actions) {
    for (const Action& a : actions) {
      if (const auto* send = std::get_if<action::Send>(&a)) {
        (void)core.onDelivery(Delivery{send->opaque, Delivery::Outcome::kDelivered, {}, "t[0]"});
      }
    }
  }
  Actions answered;  ///< startSession's answer and event
};

using Lines = std::vector<std::string>;

}  // namespace

TEST_CASE("pure core: a start request asks for frpc to be started on the session's config",
          "[agent][core][pure]") {
  Pure p;
  // Its state on disk first, then frpc's config.
  REQUIRE(describe(p.request(5, "frp_start", R"({"services":{"ssh":31022}})")) ==
          Lines{"persist, confirm"});
  Actions out = p.core.onStatePersisted({});
  REQUIRE(describe(out) == Lines{"write frpc config"});
  const auto& write = std::get<action::WriteFrpcConfig>(out[0]);
  REQUIRE(write.session.services.count("ssh") == 1);
  CHECK(write.session.services.at("ssh").remotePort == 31022);
  CHECK(write.session.services.at("ssh").proxyName == kProxy);
  CHECK(p.core.busy());
  CHECK_FALSE(p.core.running());
  CHECK(describe(p.core.onFrpcConfigWritten({})) == Lines{"start frpc"});
  // Started: the frpc record is persisted; the first look at it comes 20 ms later.
  CHECK(describe(p.core.onFrpcStarted(FrpcRecord{4242, 99})) == Lines{"persist, confirm"});
  CHECK(p.core.onStatePersisted({}).empty());
  CHECK(p.core.state().frpc->pid == 4242);
  CHECK(p.advance(19).empty());
  CHECK(describe(p.advance(1)) == Lines{"check frpc"});
}

TEST_CASE("pure core: frpc started with every proxy running is answered 200, announced, persisted",
          "[agent][core][pure]") {
  Pure p;
  (void)p.request(5, "frp_start", R"({"services":{"ssh":31022}})");
  (void)p.core.onStatePersisted({});
  (void)p.core.onFrpcConfigWritten({});
  CHECK(describe(p.core.onFrpcStarted(FrpcRecord{4242, 99})) == Lines{"persist, confirm"});
  CHECK(describe(p.advance(20)) == Lines{"check frpc"});
  // Not all running yet: wait for the next look.
  CHECK(p.core.onFrpcChecked(seen(proxies("wait start"))).empty());
  CHECK(describe(p.advance(50)) == Lines{"check frpc"});
  Actions out = p.core.onFrpcChecked(seen(proxies("running")));
  REQUIRE(describe(out) == Lines{"persist", "send frp_start 200", "persist", "send frp_started",
                                 "status frp running until " +
                                     formatRfc3339Ms(p.core.state().session->expiresAtMs)});
  auto messages = sent(out);
  CHECK(str(messages[0], "state") == "running");
  CHECK(json::member(messages[0].body(), "pid")->GetInt64() == 4242);
  CHECK(p.core.running());
  CHECK_FALSE(p.core.busy());
}

TEST_CASE("pure core: a start past its deadline stops frpc, then answers 504 and reports the stop",
          "[agent][core][pure]") {
  Pure p;
  (void)p.request(5, "frp_start", R"({"services":{"ssh":31022}})");
  (void)p.core.onStatePersisted({});
  (void)p.core.onFrpcConfigWritten({});
  (void)p.core.onFrpcStarted(FrpcRecord{4242, 99});
  CHECK(describe(p.advance(14'999)) == Lines{"check frpc"});
  CHECK(p.core.onFrpcChecked(seen(proxies("wait start"))).empty());
  CHECK(describe(p.advance(1)) == Lines{"check frpc"});  // at the deadline
  Actions out = p.core.onFrpcChecked(seen(proxies("wait start")));
  REQUIRE(describe(out) == Lines{"stop frpc start_failed"});
  CHECK(std::get<action::StopFrpc>(out[0]).lines == 10);  // its output goes into frp_stopped
  out = p.core.onFrpcStopped(FrpcEnd{4242, "killed by signal 15", "[I] frpc said something"});
  REQUIRE(describe(out) ==
          Lines{"persist", "send frp_start 504", "persist", "send frp_stopped", "status idle"});
  auto messages = sent(out);
  CHECK_THAT(str(messages[0], "error"), Catch::Contains("not all running within 15 s"));
  CHECK(str(messages[1], "stop_reason") == "start_failed");
  CHECK(str(messages[1], "frpc_output") == "[I] frpc said something");
  CHECK_FALSE(p.core.busy());
  CHECK_FALSE(p.core.state().frpc);
}

TEST_CASE("pure core: a config that cannot be written fails the start with a 500, frpc not started",
          "[agent][core][pure]") {
  Pure p;
  (void)p.request(5, "frp_start", R"({"services":{"ssh":31022}})");
  (void)p.core.onStatePersisted({});
  Actions out =
      p.core.onFrpcConfigWritten(Error(Status::kInternal, "cannot write the frpc config"));
  REQUIRE(describe(out) == Lines{"stop frpc start_failed"});  // none runs: a no-op for the shell
  out = p.core.onFrpcStopped(FrpcEnd{});
  REQUIRE(describe(out) ==
          Lines{"persist", "send frp_start 500", "persist", "send frp_stopped", "status idle"});
  CHECK_THAT(str(sent(out)[0], "error"), Catch::Contains("cannot write the frpc config"));
  CHECK_FALSE(p.core.busy());
}

TEST_CASE("pure core: the auto-stop deadline stops frpc, and frp_stopped follows once it is",
          "[agent][core][pure]") {
  Pure p;
  p.startSession(5, 30);
  CHECK(p.advance(29'000).empty());
  Actions out = p.advance(1000);
  REQUIRE(describe(out) == Lines{"stop frpc auto_stop"});
  CHECK(p.core.state().session);  // not ended before frpc is gone
  out = p.core.onFrpcStopped(FrpcEnd{4242, "killed by signal 15", ""});
  REQUIRE(describe(out) == Lines{"persist", "send frp_stopped", "status idle"});
  CHECK(str(sent(out)[0], "stop_reason") == "auto_stop");
  CHECK_FALSE(p.core.running());
  CHECK_FALSE(p.core.state().session);
  CHECK(p.core.state().lastStop->reason == "auto_stop");
}

TEST_CASE("pure core: a stale start request is answered 408 and frpc is not touched",
          "[agent][core][pure]") {
  Pure p;
  Actions out = p.request(5, "frp_start", R"({"services":{"ssh":31022}})", 601'000);
  REQUIRE(describe(out) == Lines{"persist", "send frp_start 408"});
  CHECK_FALSE(p.core.busy());
}

TEST_CASE("pure core: a redelivered start is answered from the stored response, frpc untouched",
          "[agent][core][pure]") {
  Pure p;
  p.startSession(5, 600);
  // Ignored while its answer is on its way; once delivered (the position past it), a
  // redelivery after a crash before the position was written gets the stored answer.
  CHECK(p.request(5, "frp_start", R"({"services":{"ssh":31022}})").empty());
  p.deliver(p.answered);
  CHECK(p.core.state().positions.at(0) == 6);
  Actions again = p.request(5, "frp_start", R"({"services":{"ssh":31022}})");
  REQUIRE(describe(again) == Lines{"persist", "send frp_start 200"});
  CHECK_FALSE(p.core.busy());
}

TEST_CASE("pure core: an answer not delivered is sent again a second later, the same bytes",
          "[agent][core][pure]") {
  Pure p;
  Actions out = p.request(5, "ping");
  REQUIRE(describe(out) == Lines{"persist", "send ping 200"});
  const auto first = std::get<action::Send>(out[1]);
  CHECK(p.core.onDelivery(Delivery{first.opaque, Delivery::Outcome::kRetriable, "timed out", {}})
            .empty());
  CHECK(p.core.nextDueMono() == p.clock.monoMs() + 1000);
  CHECK(p.advance(999).empty());
  out = p.advance(1);
  REQUIRE(out.size() == 1);
  const auto& retry = std::get<action::Send>(out[0]);
  CHECK(retry.opaque == first.opaque);
  CHECK(retry.value == first.value);
  // A produce the client refuses is retried the same way.
  CHECK(p.core.onSendRefused(retry.opaque, "queue full").empty());
  CHECK(describe(p.advance(1000)) == Lines{"send ping 200"});
  CHECK(p.core.state().positions.at(0) == 5);  // not past the request until delivered
}

TEST_CASE("pure core: frpc exiting on its own is reaped, then frp_stopped with its exit status",
          "[agent][core][pure]") {
  Pure p;
  p.startSession(5, 600);
  CHECK(describe(p.core.onFrpcSignal()) == Lines{"watch frpc exit"});
  CHECK(p.core.onFrpcExitSeen(std::nullopt).empty());  // still running
  REQUIRE(describe(p.core.onFrpcExitSeen(std::string("killed by signal 9"))) ==
          Lines{"reap frpc exited_unexpectedly"});
  Actions out = p.core.onFrpcStopped(FrpcEnd{4242, "killed by signal 9", "[E] something bad"});
  REQUIRE(describe(out) == Lines{"persist", "send frp_stopped", "status idle"});
  auto messages = sent(out);
  const auto& stopped = messages[0];
  CHECK(str(stopped, "stop_reason") == "exited_unexpectedly");
  CHECK(str(stopped, "exit_status") == "killed by signal 9");
  CHECK(str(stopped, "frpc_output") == "[E] something bad");
}

TEST_CASE("pure core: system_info asks for two CPU samples 250 ms apart, then the system's facts",
          "[agent][core][pure]") {
  Pure p;
  CHECK(describe(p.request(5, "system_info")) == Lines{"sample cpu"});
  CHECK(p.core.onCpuSample(CpuSample{100, 1000}).empty());
  CHECK(p.advance(249).empty());
  CHECK(describe(p.advance(1)) == Lines{"sample cpu"});
  Actions out = p.core.onCpuSample(CpuSample{150, 1100});
  REQUIRE(describe(out) == Lines{"read system facts"});
  CHECK(std::get<action::ReadSystemFacts>(out[0]).diskPaths ==
        std::vector<std::string>{"/", p.config.options.stateDir});
  out = p.core.onSystemFacts(test::boardFacts());
  REQUIRE(describe(out) == Lines{"persist", "send system_info 200"});
  auto messages = sent(out);
  const auto& info = messages[0];
  CHECK(json::member(info.body(), "cpu_usage_percent")->GetDouble() == Approx(50.0));
  CHECK(str(info, "hostname") == "board");
}

TEST_CASE("pure core: a wall clock stepped hours ahead does not end a running session early",
          "[agent][core][pure][clock]") {
  Pure p;
  p.startSession(5, 30);
  p.clock.setWallMs(p.clock.wallMs() + 3 * 3'600'000);  // NTP syncs a board that booted late
  CHECK(p.advance(29'000).empty());
  CHECK(p.core.running());
  CHECK(describe(p.advance(1000)) == Lines{"stop frpc auto_stop"});
}

TEST_CASE("pure core: a wall clock stepped hours back does not extend a running session",
          "[agent][core][pure][clock]") {
  Pure p;
  p.startSession(5, 30);
  p.clock.setWallMs(p.clock.wallMs() - 3 * 3'600'000);
  CHECK(p.advance(29'000).empty());
  CHECK(describe(p.advance(1000)) == Lines{"stop frpc auto_stop"});
}
