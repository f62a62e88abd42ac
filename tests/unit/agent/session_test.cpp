#include "decisions/session.h"

#include <catch2/catch.hpp>

#include "envelope/json_util.h"
#include "envelope/types.h"
#include "unit_util.h"

using namespace edgelink;
using namespace edgelink::agent;

namespace {

envelope::FrpCommand start(std::map<std::string, uint16_t> services,
                           std::optional<int64_t> autoStop = std::nullopt) {
  envelope::FrpCommand c;
  c.services = std::move(services);
  c.autoStopSeconds = autoStop;
  return c;
}

}  // namespace

TEST_CASE("a start plan takes local addresses from the config and ports from the request",
          "[agent][session]") {
  testing::TempDir dir;
  AgentConfig config = test::validConfig(dir);
  auto plan = planStart(config, "frp_start", start({{"ssh", 31022}, {"camera_admin", 31080}}));
  REQUIRE(plan.ok());
  CHECK(plan->services.at("ssh").proxyName == "elevator-0042.ssh");
  CHECK(plan->services.at("camera_admin").localAddr() == "192.168.1.64:80");
  CHECK(plan->services.at("camera_admin").remotePort == 31080);
  CHECK(plan->autoStopSeconds == 7200);
  CHECK_FALSE(plan->capped);
}

TEST_CASE("a plan refuses unnamed services and ports out of range (403 naming the field)",
          "[agent][session]") {
  testing::TempDir dir;
  AgentConfig config = test::validConfig(dir);
  auto unnamed = planStart(config, "frp_start", start({{"telnet", 31023}}));
  REQUIRE_FALSE(unnamed.ok());
  CHECK(unnamed.error().status == Status::kForbidden);
  CHECK(unnamed.error().field == "request.body.services.telnet");
  CHECK_THAT(unnamed.error().message, Catch::Contains("configured: ssh, fcc_web, camera_admin"));

  auto low = planStart(config, "change_frp_client_config", start({{"ssh", 29999}}));
  REQUIRE_FALSE(low.ok());
  CHECK(low.error().status == Status::kForbidden);
  CHECK(low.error().field == "request.body.edge_ssh_remote_port");
  auto high = planStart(config, "change_frp_client_config", start({{"fcc_web", 40000}}));
  CHECK(high.error().field == "request.body.edge_fcc_web_config_page_remote_port");
  CHECK(planStart(config, "frp_start", start({{"ssh", 30000}, {"fcc_web", 39999}})).ok());
  CHECK(planStart(config, "frp_start", start({})).error().status == Status::kBadRequest);
}

TEST_CASE("auto-stop defaults when absent or 0 and is capped at the maximum", "[agent][session]") {
  testing::TempDir dir;
  AgentConfig config = test::validConfig(dir);
  CHECK(planStart(config, "frp_start", start({{"ssh", 31022}}, 0))->autoStopSeconds == 7200);
  config.options.autoStopMax = 3600;
  config.options.autoStopDefault = 1800;
  CHECK(planStart(config, "frp_start", start({{"ssh", 31022}}))->autoStopSeconds == 1800);
  auto capped = planStart(config, "frp_start", start({{"ssh", 31022}}, 99999));
  CHECK(capped->autoStopSeconds == 3600);
  CHECK(capped->capped);
  CHECK(planStart(config, "frp_start", start({{"ssh", 31022}}, 60))->autoStopSeconds == 60);
}

TEST_CASE("session transitions: start, extend with the same ports, restart with others",
          "[agent][session]") {
  testing::TempDir dir;
  AgentConfig config = test::validConfig(dir);
  auto a = *planStart(config, "frp_start", start({{"ssh", 31022}}, 600));
  auto b = *planStart(config, "frp_start", start({{"ssh", 31022}}, 60));
  auto c = *planStart(config, "frp_start", start({{"ssh", 31023}}));
  auto d = *planStart(config, "frp_start", start({{"ssh", 31022}, {"fcc_web", 31080}}));
  CHECK(decideStart(std::nullopt, a) == StartDecision::kStart);
  Session s = sessionFor(a, 1'000'000, envelope::Id::number(1));
  CHECK(s.expiresAtMs == 1'000'000 + 600'000);
  CHECK(decideStart(s, b) == StartDecision::kExtend);
  CHECK(decideStart(s, c) == StartDecision::kRestart);
  CHECK(decideStart(s, d) == StartDecision::kRestart);
}

TEST_CASE("at startup a stored session resumes before its deadline and is expired after",
          "[agent][session]") {
  Session s;
  s.expiresAtMs = 5000;
  CHECK(decideResume(std::nullopt, 0) == ResumeDecision::kNothing);
  CHECK(decideResume(s, 4999) == ResumeDecision::kResume);
  CHECK(decideResume(s, 5000) == ResumeDecision::kExpired);
  CHECK(s.secondsLeft(3500) == 2);
  CHECK(s.secondsLeft(5000) == 0);
}

TEST_CASE("frp state bodies pass the response and event schemas", "[agent][session]") {
  testing::TempDir dir;
  AgentConfig config = test::validConfig(dir);
  auto plan = *planStart(config, "frp_start", start({{"ssh", 31022}}, 600));
  Session s = sessionFor(plan, 1'795'248'000'000, envelope::Id::number(111));
  std::map<std::string, ProxyStatus> statuses = {
      {"elevator-0042.ssh", {"elevator-0042.ssh", "tcp", "running", "", "127.0.0.1:22", ""}}};
  auto req = envelope::Envelope::request(envelope::Id::number(111), "web_backend",
                                         1'795'248'000'000, "change_frp_client_config");
  auto r = envelope::Envelope::response(req, "edge_board", 1'795'248'001'000, 200);
  writeFrpState(r, FrpStateView{&s, true, 4242, nullptr, &statuses, false}, 1'795'248'001'000);
  auto back = test::roundTrip(r);
  CHECK(std::string(json::getString(back.body(), "state")) == "running");
  CHECK(json::member(back.body(), "request_id")->GetUint64() == 111);
  CHECK(json::member(back.body(), "seconds_left")->GetInt64() == 599);
  const auto& ssh = (*json::member(back.body(), "services"))["ssh"];
  CHECK(std::string(json::getString(ssh, "status")) == "running");

  StopInfo stop{envelope::stop_reason::kExitedUnexpectedly, 1'795'248'100'000,
                "exited with status 1", "login failed"};
  auto ev = envelope::Envelope::event(envelope::Id::generate(), "edge_board", 1'795'248'100'000,
                                      envelope::event_type::kFrpStopped);
  writeFrpState(ev, FrpStateView{&s, false, 0, &stop, nullptr, false}, 1'795'248'100'000);
  ev.set("exit_status", stop.exitStatus);
  auto evBack = test::roundTrip(ev);
  CHECK(std::string(json::getString(evBack.body(), "state")) == "stopped");
  CHECK(json::member(evBack.body(), "pid") == nullptr);
  CHECK(std::string(json::getString(evBack.body(), "stop_reason")) == "exited_unexpectedly");

  // Without a session: just the state (and why it last stopped).
  auto idle = envelope::Envelope::response(req, "edge_board", 1'795'248'001'000, 200);
  writeFrpState(idle, FrpStateView{nullptr, false, 0, &stop, nullptr, false}, 0);
  test::roundTrip(idle);
}

TEST_CASE("proxies frpc does not list while it is not logged in to frps are reported disconnected",
          "[agent][session]") {
  testing::TempDir dir;
  AgentConfig config = test::validConfig(dir);
  auto plan = *planStart(config, "frp_start", start({{"ssh", 31022}, {"fcc_web", 31080}}, 600));
  Session s = sessionFor(plan, 1'795'248'000'000, envelope::Id::number(7));
  auto req = envelope::Envelope::request(envelope::Id::number(7), "web_backend", 1'795'248'000'000,
                                         "frp_status");
  auto serviceOf = [](const envelope::Envelope& e, const char* name) {
    return (*json::member(e.body(), "services"))[name].GetObject();
  };
  // Real frpc's /api/status is {} before its login and while it reconnects to frps.
  std::map<std::string, ProxyStatus> none;
  auto r = envelope::Envelope::response(req, "edge_board", 1'795'248'001'000, 200);
  writeFrpState(r, FrpStateView{&s, true, 4242, nullptr, &none, false}, 1'795'248'001'000);
  auto back = test::roundTrip(r);
  CHECK(std::string(serviceOf(back, "ssh")["status"].GetString()) == "disconnected");
  CHECK_THAT(serviceOf(back, "ssh")["error"].GetString(), Catch::Contains("not logged in to frps"));
  // Listed, but not this one: unknown.
  std::map<std::string, ProxyStatus> one = {
      {"elevator-0042.ssh", {"elevator-0042.ssh", "tcp", "running", "", "127.0.0.1:22", ""}}};
  auto r2 = envelope::Envelope::response(req, "edge_board", 1'795'248'001'000, 200);
  writeFrpState(r2, FrpStateView{&s, true, 4242, nullptr, &one, false}, 1'795'248'001'000);
  auto back2 = test::roundTrip(r2);
  CHECK(std::string(serviceOf(back2, "ssh")["status"].GetString()) == "running");
  CHECK(std::string(serviceOf(back2, "fcc_web")["status"].GetString()) == "unknown");
}

namespace {
envelope::FrpCommand stcpStart(std::vector<std::string> names, std::string secret) {
  envelope::FrpCommand c;
  c.mode = envelope::FrpMode::kStcp;
  c.secretKey = std::move(secret);
  for (auto& n : names) {
    c.services[n] = 0;
  }
  return c;
}
}  // namespace

TEST_CASE("an stcp plan has no remote ports, keeps the secret and still needs named services",
          "[agent][session][stcp]") {
  testing::TempDir dir;
  AgentConfig config = test::validConfig(dir);
  const std::string secret(43, 'k');
  auto plan = planStart(config, "frp_start", stcpStart({"ssh", "camera_admin"}, secret));
  REQUIRE(plan.ok());
  CHECK(plan->secretKey == secret);
  CHECK(plan->services.at("ssh").remotePort == 0);
  CHECK(plan->services.at("camera_admin").localAddr() == "192.168.1.64:80");
  Session s = sessionFor(*plan, 1'000, envelope::Id::number(1));
  CHECK(s.stcp());
  auto proxies = s.proxies();
  REQUIRE(proxies.size() == 2);
  CHECK(proxies[0].secretKey == secret);
  CHECK(proxies[0].remotePort == 0);

  auto unnamed = planStart(config, "frp_start", stcpStart({"telnet"}, secret));
  REQUIRE_FALSE(unnamed.ok());
  CHECK(unnamed.error().status == Status::kForbidden);
  CHECK(unnamed.error().field == "request.body.services.telnet");

  // A new secret is a new session: frpc restarts on it; the same secret only extends.
  CHECK(decideStart(s, *plan) == StartDecision::kExtend);
  auto other = planStart(config, "frp_start", stcpStart({"ssh", "camera_admin"}, secret + "x"));
  CHECK(decideStart(s, *other) == StartDecision::kRestart);
  auto tcp = planStart(config, "frp_start", start({{"ssh", 31022}}));
  CHECK(decideStart(s, *tcp) == StartDecision::kRestart);
}

TEST_CASE("an stcp session's state body names the type, no port and never the secret",
          "[agent][session][stcp]") {
  testing::TempDir dir;
  AgentConfig config = test::validConfig(dir);
  const std::string secret(43, 'k');
  auto plan = *planStart(config, "frp_start", stcpStart({"ssh"}, secret));
  Session s = sessionFor(plan, 1'795'248'000'000, envelope::Id::number(7));
  auto req = envelope::Envelope::request(envelope::Id::number(7), "cloud_dispatcher",
                                         1'795'248'000'000, "frp_start");
  auto r = envelope::Envelope::response(req, "edge_board", 1'795'248'001'000, 200);
  writeFrpState(r, FrpStateView{&s, true, 4242, nullptr, nullptr, false}, 1'795'248'001'000);
  auto back = test::roundTrip(r);  // passes the response schema
  const auto& ssh = (*json::member(back.body(), "services"))["ssh"];
  CHECK(std::string(json::getString(ssh, "type")) == "stcp");
  CHECK(json::member(ssh, "remote_port") == nullptr);
  CHECK_THAT(envelope::encode(back), !Catch::Contains(secret));
}
