#include "domain/sessions.h"

#include <catch2/catch.hpp>

using namespace edgelink;
using namespace edgelink::dispatcher;

TEST_CASE("ports come from the pool, never a used one, wrapping around", "[dispatcher][sessions]") {
  PortRange pool{31000, 31009};
  auto a = choosePorts(pool, {}, 3, 0);
  CHECK(a == std::vector<int>{31000, 31001, 31002});
  auto b = choosePorts(pool, {31008, 31009, 31000}, 3, 8);  // starts at 31008, wraps
  CHECK(b == std::vector<int>{31001, 31002, 31003});
  auto c = choosePorts(pool, {31001}, 2, 10);  // seed modulo the pool size
  CHECK(c == std::vector<int>{31000, 31002});
  for (int p : choosePorts(pool, {31003, 31005}, 8, 12345)) {
    CHECK(pool.contains(p));
    CHECK(p != 31003);
    CHECK(p != 31005);
  }
}

TEST_CASE("a pool without enough free ports gives none", "[dispatcher][sessions]") {
  PortRange pool{31000, 31002};
  CHECK(choosePorts(pool, {31000, 31001}, 2, 0).empty());
  CHECK(choosePorts(pool, {31000, 31001}, 1, 0) == std::vector<int>{31002});
  CHECK(choosePorts(pool, {}, 4, 0).empty());
}

TEST_CASE("different seeds spread concurrent openers over the pool", "[dispatcher][sessions]") {
  PortRange pool{31000, 31999};
  CHECK(choosePorts(pool, {}, 3, 1) != choosePorts(pool, {}, 3, 500));
}

TEST_CASE("a start request creates, extends, replaces or is already known",
          "[dispatcher][sessions]") {
  LiveSession live;
  live.sessionId = 4;
  live.services = {{"ssh", 31022}};
  CHECK(decideStart(true, live, {{"ssh", 31022}}) == StartDecision::kIgnore);
  CHECK(decideStart(false, std::nullopt, {{"ssh", 31022}}) == StartDecision::kCreate);
  CHECK(decideStart(false, live, {{"ssh", 31022}}) == StartDecision::kExtend);
  CHECK(decideStart(false, live, {{"ssh", 31030}}) == StartDecision::kReplace);
  CHECK(decideStart(false, live, {{"ssh", 31022}, {"fcc_web", 31023}}) == StartDecision::kReplace);
}

TEST_CASE("failed starts and frp stops end sessions with the edge's reason",
          "[dispatcher][sessions]") {
  CHECK(failedStartOutcome(408) == std::make_pair(std::string("failed"), std::string("stale")));
  CHECK(failedStartOutcome(500) ==
        std::make_pair(std::string("failed"), std::string("start_failed")));
  CHECK(stoppedOutcome("auto_stop") ==
        std::make_pair(std::string("closed"), std::string("auto_stop")));
  CHECK(stoppedOutcome("start_failed").first == "failed");
  CHECK(stoppedOutcome("").second == "stopped");
}

TEST_CASE("frp_stopped ends the session it names, never the one that replaced it",
          "[dispatcher][sessions]") {
  LiveSession live;
  live.requestId = "new";
  live.requestedAtMs = 1000;
  FrpInfo named;
  named.requestId = "new";
  named.stopReason = "auto_stop";
  CHECK(frpStoppedEnds(live, named, 5000));
  FrpInfo replaced;
  replaced.requestId = "old";
  replaced.stopReason = "replaced";
  CHECK_FALSE(frpStoppedEnds(live, replaced, 5000));
  FrpInfo anonymous;
  anonymous.stopReason = "exited_unexpectedly";
  CHECK(frpStoppedEnds(live, anonymous, 5000));
  CHECK_FALSE(frpStoppedEnds(live, anonymous, 500));  // older than the session
  FrpInfo anonymousReplaced;
  anonymousReplaced.stopReason = "replaced";
  CHECK_FALSE(frpStoppedEnds(live, anonymousReplaced, 5000));
}

TEST_CASE("a session expires when the edge says, else after its auto-stop",
          "[dispatcher][sessions]") {
  FrpInfo withExpiry;
  withExpiry.expiresAtMs = 99000;
  CHECK(expiresAt(withExpiry, 1000, 60, 7200) == 99000);
  FrpInfo none;
  CHECK(expiresAt(none, 1000, 60, 7200) == 61000);
  CHECK(expiresAt(none, 1000, std::nullopt, 7200) == 7201000);
  none.autoStopSeconds = 10;
  CHECK(expiresAt(none, 1000, 60, 7200) == 11000);
}

TEST_CASE("services round-trip through their JSON form", "[dispatcher][sessions]") {
  Services s{{"ssh", 31022}, {"fcc_web", 31023}};
  CHECK(servicesJson(s) == "{\"fcc_web\":31023,\"ssh\":31022}");
  CHECK(parseServicesJson(servicesJson(s)) == s);
  CHECK(parseServicesJson("not json").empty());
}

TEST_CASE("an frp_started naming an unrecorded start on the active session's ports continues it",
          "[dispatcher][sessions]") {
  LiveSession live;
  live.state = "active";
  live.services = {{"ssh", 31022}};
  FrpInfo resumed;  // the edge resumes the session under its last extension's id
  resumed.requestId = "extension-2";
  resumed.services = {{"ssh", 31022}};
  CHECK(frpStartedContinues(live, resumed));
  FrpInfo otherPorts = resumed;
  otherPorts.services = {{"ssh", 31023}};
  CHECK_FALSE(frpStartedContinues(live, otherPorts));
  FrpInfo noServices = resumed;
  noServices.services.clear();
  CHECK_FALSE(frpStartedContinues(live, noServices));
  live.state = "opening";
  CHECK_FALSE(frpStartedContinues(live, resumed));
}
