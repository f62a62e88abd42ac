// The ActionRunner over fake seams: each action performed through its seam, what it saw fed back,
// and the actions that returns performed before the rest.

#include "shell/action_runner.h"

#include <catch2/catch.hpp>

#include "core_fakes.h"

using namespace edgelink;
using namespace edgelink::agent;

namespace {

// A producer that refuses while `refuse` is set.
struct RefusingSink : MessageSink {
  std::vector<std::string> produced;
  bool refuse = false;
  VoidResult produce(std::string_view value, uint64_t) override {
    if (refuse) {
      return Error(Status::kUnavailable, "queue full");
    }
    produced.emplace_back(value);
    return {};
  }
};

struct Rig {
  RefusingSink sink;
  test::FakeFrpc frpc;
  test::FakeProbe probe;
  std::vector<std::string> log;  // hooks and outcomes, in order
  ActionRunner runner{sink, frpc, probe,
                      RunnerHooks{[this]() -> VoidResult {
                                    log.push_back("persist");
                                    return {};
                                  },
                                  [this](const std::string& s) { log.push_back("status " + s); },
                                  [this](const action::ApplyConfig& a) {
                                    log.push_back("apply config " +
                                                  std::to_string(a.remote.version) + " " +
                                                  a.config.options.logLevel);
                                  },
                                  [this](const action::MoveCluster& m) {
                                    log.push_back("move " + m.config.options.kafkaBrokers + " " +
                                                  std::to_string(m.timeoutMs));
                                  }}};
};

Session sshSession() {
  Session s;
  s.services["ssh"] = {31022, "elevator-0042.ssh", "127.0.0.1", 22};
  return s;
}

}  // namespace

TEST_CASE("runner: an outcome's actions are performed before the rest of the list",
          "[agent][runner]") {
  Rig r;
  r.runner.setFeed([&](Outcome seen) -> Actions {
    if (auto* started = std::get_if<outcome::FrpcStarted>(&seen)) {
      r.log.push_back("started pid " + std::to_string(started->started->pid));
      return {action::PersistState{}, action::Send{"{after start}", 3}};
    }
    return {};
  });
  r.runner.run({action::Send{"{first}", 1}, action::WriteFrpcConfig{sshSession()},
                action::StartFrpc{}, action::SetStatus{"busy"}, action::Send{"{last}", 2}});
  CHECK(r.frpc.starts == 1);
  CHECK(r.frpc.lastSession.services == sshSession().services);
  CHECK(r.sink.produced == std::vector<std::string>{"{first}", "{after start}", "{last}"});
  CHECK(r.log == std::vector<std::string>{"started pid 4242", "persist", "status busy"});
}

TEST_CASE("runner: what the seams say comes back as outcomes", "[agent][runner]") {
  Rig r;
  std::vector<Outcome> seen;
  r.runner.setFeed([&](Outcome o) -> Actions {
    seen.push_back(std::move(o));
    return {};
  });
  r.sink.refuse = true;
  r.runner.run({action::Send{"{x}", 7}});
  REQUIRE(seen.size() == 1);
  CHECK(std::get<outcome::SendRefused>(seen[0]).opaque == 7);
  CHECK_THAT(std::get<outcome::SendRefused>(seen[0]).error, Catch::Contains("queue full"));

  seen.clear();
  r.frpc.startError = Error(Status::kInternal, "frpc verify failed");
  r.runner.run({action::WriteFrpcConfig{sshSession()}, action::StartFrpc{}});
  REQUIRE(seen.size() == 2);
  CHECK(std::get<outcome::FrpcConfigWritten>(seen[0]).written.ok());
  CHECK_FALSE(std::get<outcome::FrpcStarted>(seen[1]).started.ok());

  seen.clear();
  r.frpc.startError.reset();
  r.runner.run({action::StartFrpc{}});
  r.frpc.allRunning();
  r.runner.run({action::CheckFrpc{}, action::QueryProxyStatus{}, action::WatchFrpcExit{},
                action::SampleCpu{}, action::ReadSystemFacts{{"/"}}});
  REQUIRE(seen.size() == 6);
  const auto& probe = std::get<outcome::FrpcChecked>(seen[1]).probe;
  CHECK_FALSE(probe.exited);
  REQUIRE(probe.statuses);
  CHECK(probe.statuses->value().at("elevator-0042.ssh").status == "running");
  CHECK(std::get<outcome::ProxyStatusRead>(seen[2]).statuses->size() == 1);
  CHECK_FALSE(std::get<outcome::FrpcExitSeen>(seen[3]).exited);
  CHECK(std::get<outcome::CpuSampled>(seen[4]).sample->busy == 100);
  CHECK(r.probe.diskPathsAsked == std::vector<std::string>{"/"});

  seen.clear();
  r.frpc.exitStatus = "exited with status 1";
  r.runner.run({action::WatchFrpcExit{}, action::StopFrpc{"exited_unexpectedly", 10, true}});
  REQUIRE(seen.size() == 2);
  CHECK(*std::get<outcome::FrpcExitSeen>(seen[0]).exited == "exited with status 1");
  CHECK(std::get<outcome::FrpcStopped>(seen[1]).end.waitStatus == "exited with status 1");
  CHECK_FALSE(r.frpc.running);
}

TEST_CASE("runner: an accepted remote config goes to the applyConfig hook, no outcome",
          "[agent][runner]") {
  Rig r;
  size_t outcomes = 0;
  r.runner.setFeed([&](Outcome) -> Actions {
    ++outcomes;
    return {};
  });
  action::ApplyConfig apply;
  apply.remote.version = 4;
  apply.config.options.logLevel = "warn";
  r.runner.run({std::move(apply), action::SetStatus{"idle"}});
  CHECK(r.log == std::vector<std::string>{"apply config 4 warn", "status idle"});
  CHECK(outcomes == 0);
}

TEST_CASE("runner: a move to another cluster goes to the moveCluster hook, no outcome",
          "[agent][runner]") {
  Rig r;
  size_t outcomes = 0;
  r.runner.setFeed([&](Outcome) -> Actions {
    ++outcomes;
    return {};
  });
  action::MoveCluster move;
  move.config.options.kafkaBrokers = "kafka-b:9092";
  move.timeoutMs = 5000;
  r.runner.run({std::move(move), action::SetStatus{"idle"}});
  CHECK(r.log == std::vector<std::string>{"move kafka-b:9092 5000", "status idle"});
  CHECK(outcomes == 0);
}
