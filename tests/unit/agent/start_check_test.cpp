// A pending frpc start judged at each check: 200 only when every proxy runs, 500 at once for
// frpc's exit or a proxy in start error, 504 at the bound naming each proxy's last state.

#include "decisions/start_check.h"

#include <catch2/catch.hpp>

using namespace edgelink;
using namespace edgelink::agent;

namespace {

Session twoServices() {
  Session s;
  s.services["ssh"] = {31022, "e1.ssh", "127.0.0.1", 22};
  s.services["fcc_web"] = {31080, "e1.fcc_web", "127.0.0.1", 80};
  return s;
}

ProxyStatus proxy(const std::string& name, const std::string& status, const std::string& err = "") {
  ProxyStatus p;
  p.name = name;
  p.status = status;
  p.err = err;
  return p;
}

StartProbe answered(ProxyStatuses statuses, bool pastDeadline = false) {
  StartProbe probe;
  probe.statuses = Result<ProxyStatuses>(std::move(statuses));
  probe.pastDeadline = pastDeadline;
  return probe;
}

}  // namespace

TEST_CASE("a start succeeds only when every proxy of the session is running", "[agent][start]") {
  ProxyStatuses seen;
  auto one = answered(
      {{"e1.ssh", proxy("e1.ssh", "running")}, {"e1.fcc_web", proxy("e1.fcc_web", "wait start")}});
  CHECK(judgeStart(twoServices(), one, seen, 15).outcome == StartOutcome::kWait);
  CHECK(seen.size() == 2);
  auto both = answered(
      {{"e1.ssh", proxy("e1.ssh", "running")}, {"e1.fcc_web", proxy("e1.fcc_web", "running")}});
  CHECK(judgeStart(twoServices(), both, seen, 15).outcome == StartOutcome::kRunning);
  // An admin API that does not answer yet: wait, keeping what was last seen.
  StartProbe down;
  down.statuses = Result<ProxyStatuses>(Error(Status::kUnavailable, "connection refused"));
  CHECK(judgeStart(twoServices(), down, seen, 15).outcome == StartOutcome::kWait);
  CHECK(seen.size() == 2);
}

TEST_CASE("a proxy in start error fails the start at once with frp's text", "[agent][start]") {
  ProxyStatuses seen;
  auto probe = answered({{"e1.ssh", proxy("e1.ssh", "running")},
                         {"e1.fcc_web", proxy("e1.fcc_web", "start error", "port already used")}});
  auto v = judgeStart(twoServices(), probe, seen, 15);
  REQUIRE(v.outcome == StartOutcome::kFailed);
  CHECK(v.error.status == Status::kInternal);
  CHECK(v.error.message == "frp proxy e1.fcc_web: start error: port already used");
  CHECK(v.exitStatus.empty());
  CHECK(seen.at("e1.fcc_web").err == "port already used");  // for the failure's body
}

TEST_CASE("frpc exiting before its proxies run fails the start with its status and output",
          "[agent][start]") {
  ProxyStatuses seen;
  StartProbe probe;
  probe.exited = "exited with status 1";
  probe.output = "login to the server failed: token mismatch";
  auto v = judgeStart(twoServices(), probe, seen, 15);
  REQUIRE(v.outcome == StartOutcome::kFailed);
  CHECK(v.error.status == Status::kInternal);
  CHECK(v.error.message ==
        "frpc exited with status 1 before its proxies were running: login to the server "
        "failed: token mismatch");
  CHECK(v.exitStatus == "exited with status 1");
}

TEST_CASE("past the bound a start is a 504 naming each proxy's last state", "[agent][start]") {
  ProxyStatuses seen;
  judgeStart(twoServices(), answered({{"e1.ssh", proxy("e1.ssh", "wait start")}}), seen, 15);
  StartProbe late;
  late.statuses = Result<ProxyStatuses>(Error(Status::kUnavailable, "connection refused"));
  late.output = "[W] slow frps";
  late.pastDeadline = true;
  auto v = judgeStart(twoServices(), late, seen, 15);
  REQUIRE(v.outcome == StartOutcome::kFailed);
  CHECK(v.error.status == Status::kTimeout);
  CHECK(v.error.message ==
        "frpc's proxies were not all running within 15 s: e1.fcc_web: not reported, e1.ssh: "
        "wait start; admin API: connection refused; frpc said: [W] slow frps");

  // frpc not logged in to frps lists no proxies at all.
  ProxyStatuses none;
  auto v2 = judgeStart(twoServices(), answered({}, true), none, 2);
  REQUIRE(v2.outcome == StartOutcome::kFailed);
  CHECK_THAT(v2.error.message, Catch::Contains(std::string("e1.ssh: ") + kNotLoggedIn));
  // All running at the last check still wins over the bound.
  auto v3 = judgeStart(twoServices(),
                       answered({{"e1.ssh", proxy("e1.ssh", "running")},
                                 {"e1.fcc_web", proxy("e1.fcc_web", "running")}},
                                true),
                       none, 2);
  CHECK(v3.outcome == StartOutcome::kRunning);
}
