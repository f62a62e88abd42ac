#include "decisions/system_info.h"

#include <catch2/catch.hpp>

#include "envelope/json_util.h"
#include "shell/system_probe.h"
#include "unit_util.h"

using namespace edgelink;
using namespace edgelink::agent;

TEST_CASE("CPU usage is the busy share between two samples", "[agent][system-info]") {
  CHECK(cpuUsagePercent({100, 1000}, {150, 1100}) == Approx(50.0));
  CHECK(cpuUsagePercent({100, 1000}, {100, 1000}) == 0.0);  // no time passed
  CHECK(cpuUsagePercent({100, 1000}, {90, 1100}) == 0.0);   // counters went back
  auto s = readCpuSample();
  REQUIRE(s);
  CHECK(s->total >= s->busy);
  CHECK(selfRssBytes() > 0);
}

TEST_CASE("a system_info answer passes its schema", "[agent][system-info]") {
  auto req = envelope::Envelope::request(envelope::Id::number(5), "web_backend", 1'795'248'000'000,
                                         "system_info");
  auto r = envelope::Envelope::response(req, "edge_board", 1'795'248'000'300, 200);
  ProcSystemProbe probe;
  writeSystemInfo(r, 12.5, probe.facts({"/", "/nonexistent-path"}));
  auto back = test::roundTrip(r);
  CHECK(json::member(back.body(), "cpu_usage_percent")->GetDouble() == 12.5);
  CHECK(json::member(back.body(), "disks")->Size() == 1);  // unreadable paths are left out
  CHECK(json::member(back.body(), "memory")->HasMember("total_bytes"));
  CHECK(json::member(back.body(), "uptime_seconds")->GetDouble() > 0);
  auto noCpu = envelope::Envelope::response(req, "edge_board", 1'795'248'000'300, 200);
  writeSystemInfo(noCpu, std::nullopt, SystemFacts{});
  CHECK(json::member(test::roundTrip(noCpu).body(), "cpu_usage_percent") == nullptr);
}
