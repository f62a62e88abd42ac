#pragma once

// AgentCore and its ActionRunner with fakes for every seam (a producer, frpc, the system's
// numbers), a manual clock and helpers to feed it requests and read what it produced: shared by
// the core's and the topic reader's unit tests (agent_core_pure_test.cpp calls the core alone).

#include <catch2/catch.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "agent_core.h"
#include "envelope/json_util.h"
#include "shell/action_runner.h"
#include "unit_util.h"

namespace edgelink::agent::test {

/// A request's bytes as a web backend writes them (id = `id`, sender web_backend).
inline std::string requestBytes(int64_t id, const std::string& type, int64_t timestampMs,
                                const std::string& body = "") {
  return R"({"request":{"id":)" + std::to_string(id) + R"(,"sender":"web_backend","timestamp":)" +
         std::to_string(timestampMs) + R"(,"type":")" + type + "\"" +
         (body.empty() ? "" : ",\"body\":" + body) + "}}";
}

struct FakeSink : MessageSink {
  std::vector<std::pair<std::string, uint64_t>> produced;
  VoidResult produce(std::string_view value, uint64_t opaque) override {
    produced.emplace_back(std::string(value), opaque);
    return {};
  }
};

// frpc's place: starts and stops at once; its proxies report `proxies`; `exit()` makes it die.
struct FakeFrpc : FrpcControl {
  bool running = false;
  int starts = 0;
  int stops = 0;
  std::optional<Error> startError;
  std::optional<std::string> exitStatus;
  std::string output = "[I] frpc said something";
  Result<ProxyStatuses> proxies = ProxyStatuses{};
  Session lastSession;
  std::function<void()> afterStart;  ///< runs once a start succeeded (e.g. to fill the disk)

  VoidResult writeConfig(const Session& session) override {
    lastSession = session;
    return {};
  }
  VoidResult start() override {
    if (startError) {
      return *startError;
    }
    running = true;
    exitStatus.reset();
    ++starts;
    if (afterStart) {
      afterStart();
    }
    return {};
  }
  bool active() const override { return running; }
  int pid() const override { return running ? 4242 : 0; }
  FrpcRecord record() const override { return {pid(), 99}; }
  int outputFd() const override { return -1; }
  void serveOutput() override {}
  std::optional<std::string> exited() override { return running ? exitStatus : std::nullopt; }
  std::string lastLines(size_t) override { return output; }
  Result<ProxyStatuses> proxyStatus() override { return proxies; }
  FrpcEnd stop(size_t) override {
    FrpcEnd end{pid(), "killed by signal 15", output};
    if (running) {
      ++stops;
    }
    running = false;
    return end;
  }
  FrpcEnd reap(size_t) override {
    FrpcEnd end{pid(), exitStatus.value_or(""), output};
    running = false;
    return end;
  }
  void allRunning() {
    ProxyStatuses s;
    for (const auto& [name, svc] : lastSession.services) {
      s[svc.proxyName] = ProxyStatus{svc.proxyName, "tcp", "running", "", svc.localAddr(), ""};
    }
    proxies = s;
  }
};

// The system's numbers: fixed facts, and CPU counters that advance by `step` per sample.
struct FakeProbe : SystemProbe {
  CpuSample next{100, 1000};
  CpuSample step{50, 100};
  bool cpuReadable = true;
  int samples = 0;
  std::vector<std::string> diskPathsAsked;
  std::optional<CpuSample> cpuSample() override {
    ++samples;
    if (!cpuReadable) {
      return std::nullopt;
    }
    CpuSample s = next;
    next.busy += step.busy;
    next.total += step.total;
    return s;
  }
  SystemFacts facts(const std::vector<std::string>& diskPaths) override {
    diskPathsAsked = diskPaths;
    SystemFacts f = boardFacts();
    f.disks.push_back({"/", 8'000'000'000, 2'000'000'000, 3'000'000'000});
    return f;
  }
  std::optional<uint64_t> rss = 12'345'678;
  std::optional<uint64_t> rssBytes() override { return rss; }
};

struct CoreRig {
  testing::TempDir dir;
  AgentConfig config = test::validConfig(dir);
  ManualClock clock;
  FakeSink sink;
  FakeFrpc frpc;
  FakeProbe probe;
  int saves = 0;
  /// The state writer's failure while set (a full disk): writes fail with it, as saveState's.
  std::optional<Error> saveError;
  std::vector<std::string> statusLines;
  std::unique_ptr<AgentCore> core;
  std::unique_ptr<ActionRunner> runner;
  size_t seen = 0;  // produced messages already looked at

  CoreRig() {
    RunnerHooks hooks;
    hooks.persist = [this]() -> VoidResult {
      if (saveError) {
        return *saveError;
      }
      ++saves;
      return {};
    };
    hooks.status = [this](const std::string& s) { statusLines.push_back(s); };
    core = std::make_unique<AgentCore>(config, clock);
    runner = std::make_unique<ActionRunner>(sink, frpc, probe, hooks);
    runner->setFeed([this](Outcome o) { return core->onOutcome(std::move(o)); });
  }
  void begin(AgentState state = {}) {
    runner->run(core->begin(std::move(state), StartupFacts{"board", 7}));
  }
  void advance(int64_t ms) {
    clock.advanceMs(ms);
    timers();
  }
  /// As the daemon: the process facts only it reads, then the core's timers.
  void timers() {
    core->counters().setRssBytes(probe.rss);
    runner->run(core->onTimers());
  }
  void request(int64_t offset, const std::string& type, const std::string& body = "") {
    std::string bytes = requestBytes(offset, type, clock.wallMs(), body);
    runner->run(core->onMessage(Inbound{bytes, 0, offset, clock.wallMs()}));
  }
  void signal() { runner->run(core->onFrpcSignal()); }
  void shutdown(const std::string& reason) { runner->run(core->shutdown(reason)); }
  /// Messages produced since the last call, decoded (every one must pass the schemas).
  std::vector<envelope::Envelope> fresh() {
    std::vector<envelope::Envelope> out;
    envelope::Decoder decoder;
    for (; seen < sink.produced.size(); ++seen) {
      auto d = decoder.decode(sink.produced[seen].first);
      INFO(sink.produced[seen].first);
      REQUIRE(d.ok());
      out.push_back(std::move(*d));
    }
    return out;
  }
  /// Delivers everything produced so far.
  void deliverAll() {
    for (const auto& [value, opaque] : sink.produced) {
      runner->run(core->onDelivery(Delivery{opaque, Delivery::Outcome::kDelivered, {}, "t[0]"}));
    }
  }
  /// Starts a session with every proxy running at the first check.
  void startSession(int64_t offset, int64_t autoStopSeconds) {
    request(offset, "frp_start",
            R"({"services":{"ssh":31022},"auto_stop_seconds":)" + std::to_string(autoStopSeconds) +
                "}");
    frpc.allRunning();
    advance(50);
    REQUIRE(core->running());
  }
};

inline std::string str(const envelope::Envelope& e, const char* key) {
  const char* v = json::getString(e.body(), key);
  return v ? v : "";
}

inline std::vector<std::string> kinds(const std::vector<envelope::Envelope>& msgs) {
  std::vector<std::string> out;
  for (const auto& m : msgs) {
    out.push_back(m.type + (m.kind == envelope::Kind::kResponse ? " " + std::to_string(m.statusCode)
                                                                : std::string()));
  }
  return out;
}

}  // namespace edgelink::agent::test
