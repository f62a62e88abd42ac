#include "state.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "unit_util.h"

using namespace edgelink;
using namespace edgelink::agent;

namespace {

AgentState sample() {
  AgentState s;
  s.edgeId = "elevator-0042";
  s.positions = {{0, 42}, {3, 7}};
  Session session;
  session.services["ssh"] = {31022, "elevator-0042.ssh", "127.0.0.1", 22};
  session.services["camera_admin"] = {31080, "elevator-0042.camera_admin", "192.168.1.64", 80};
  session.startedAtMs = 1'795'248'000'000;
  session.expiresAtMs = 1'795'251'600'000;
  session.autoStopSeconds = 3600;
  session.requestId = envelope::Id::number(111);
  s.session = session;
  s.frpc = FrpcRecord{4242, 123456789};
  s.lastStop = StopInfo{"auto_stop", 1'795'000'000'000, "", "line \"1\"\nline 2"};
  s.processed.add(
      {"web_backend", envelope::Id::number(111), 1'795'248'000'100, "{\"response\":{\"id\":111}}"});
  s.processed.add({"cloud_dispatcher", envelope::Id::text("111"), 1'795'248'000'200, "{}"});
  s.outbox.add("response 111", "{\"x\":\"\\u0000\"}", 0, 41);
  s.outbox.add("event frp_started", "{}");
  return s;
}

}  // namespace

TEST_CASE("the state file round-trips everything the agent keeps", "[agent][state]") {
  testing::TempDir dir;
  AgentState s = sample();
  REQUIRE(saveState(dir.file("state.json"), s).ok());
  struct stat st {};
  ::stat(dir.file("state.json").c_str(), &st);
  CHECK((st.st_mode & 0777) == 0600);
  auto loaded = loadState(dir.file("state.json"), 0);
  CHECK(loaded.warning.empty());
  REQUIRE_FALSE(loaded.fresh);
  const AgentState& t = loaded.state;
  CHECK(t.edgeId == s.edgeId);
  CHECK(t.positions == s.positions);
  REQUIRE(t.session);
  CHECK(t.session->services == s.session->services);
  CHECK(t.session->expiresAtMs == s.session->expiresAtMs);
  CHECK(t.session->requestId == envelope::Id::number(111));
  REQUIRE(t.frpc);
  CHECK(t.frpc->pid == 4242);
  CHECK(t.frpc->startTicks == 123456789);
  CHECK(t.lastStop->output == s.lastStop->output);
  CHECK(t.processed.size() == 2);
  CHECK(t.processed.find("web_backend", envelope::Id::number(111))->response ==
        "{\"response\":{\"id\":111}}");
  // Ids are per sender, and 111 is not "111".
  CHECK(t.processed.find("web_backend", envelope::Id::text("111")) == nullptr);
  CHECK(t.processed.find("cloud_dispatcher", envelope::Id::text("111")) != nullptr);
  REQUIRE(t.outbox.size() == 2);
  CHECK(t.outbox.findByOffset(0, 41)->value == "{\"x\":\"\\u0000\"}");
  CHECK(toJson(t) == toJson(s));
}

TEST_CASE("an stcp session keeps its secret in the 0600 state file across a restart",
          "[agent][state][stcp]") {
  testing::TempDir dir;
  AgentState s = sample();
  const std::string secret(43, 'k');
  s.session->secretKey = secret;
  for (auto& entry : s.session->services) {
    entry.second.remotePort = 0;
  }
  REQUIRE(saveState(dir.file("state.json"), s).ok());
  struct stat st {};
  ::stat(dir.file("state.json").c_str(), &st);
  CHECK((st.st_mode & 0777) == 0600);
  auto loaded = loadState(dir.file("state.json"), 0);
  CHECK(loaded.warning.empty());
  REQUIRE(loaded.state.session);
  CHECK(loaded.state.session->secretKey == secret);
  CHECK(loaded.state.session->services == s.session->services);
  // A tcp session still needs its ports.
  AgentState t = sample();
  t.session->services.begin()->second.remotePort = 0;
  REQUIRE(saveState(dir.file("tcp.json"), t).ok());
  CHECK_FALSE(loadState(dir.file("tcp.json"), 0).warning.empty());
}

TEST_CASE("a missing state file is a fresh start and a corrupt one is set aside with a warning",
          "[agent][state]") {
  testing::TempDir dir;
  auto fresh = loadState(dir.file("state.json"), 1);
  CHECK(fresh.fresh);
  CHECK(fresh.warning.empty());

  for (const std::string& bad :
       {std::string("{\"version\":1,\"edge_id\":"), std::string("[]"), std::string(""),
        std::string("{\"version\":2}"),
        toJson(sample()).replace(toJson(sample()).find("\"pid\":4242"), 10, "\"pid\":\"x\"")}) {
    testing::writeText(dir.file("state.json"), bad);
    auto loaded = loadState(dir.file("state.json"), 77);
    INFO(bad);
    CHECK(loaded.fresh);
    CHECK_THAT(loaded.warning, Catch::Contains("corrupt"));
    CHECK(testing::readText(dir.file("state.json.corrupt-77")) == bad);
    CHECK(testing::readText(dir.file("state.json")).empty());
    CHECK_FALSE(loaded.state.session);
  }
}

TEST_CASE("processed ids: a window in time and a bounded count", "[agent][state][dedupe]") {
  ProcessedIds ids(3, 1000);
  ids.add({"s", envelope::Id::number(1), 100, "r1"});
  ids.add({"s", envelope::Id::number(2), 200, "r2"});
  ids.add({"s", envelope::Id::number(3), 300, "r3"});
  CHECK(ids.find("s", envelope::Id::number(1))->response == "r1");
  ids.add({"s", envelope::Id::number(4), 400, "r4"});  // beyond capacity: the oldest goes
  CHECK(ids.find("s", envelope::Id::number(1)) == nullptr);
  CHECK(ids.size() == 3);
  ids.add({"s", envelope::Id::number(3), 450, "r3b"});  // same key: replaced, not duplicated
  CHECK(ids.size() == 3);
  CHECK(ids.find("s", envelope::Id::number(3))->response == "r3b");
  ids.expire(1250);  // window 1000 ms: entries answered before 250 go
  CHECK(ids.find("s", envelope::Id::number(2)) == nullptr);
  CHECK(ids.find("s", envelope::Id::number(4)) != nullptr);
  ids.expire(100000);
  CHECK(ids.size() == 0);
}

TEST_CASE("the outbox keeps order, finds answers by offset and drops events first when full",
          "[agent][state][outbox]") {
  Outbox box(3);
  uint64_t r1 = box.add("response 1", "a", 0, 10);
  uint64_t e1 = box.add("event 1", "b");
  uint64_t r2 = box.add("response 2", "c", 0, 11);
  CHECK(r1 < e1);
  CHECK(e1 < r2);
  std::string dropped;
  uint64_t r3 = box.add("response 3", "d", 0, 12, &dropped);
  CHECK(dropped == "event 1");
  CHECK(box.find(e1) == nullptr);
  CHECK(box.findByOffset(0, 11)->seq == r2);
  CHECK(box.findByOffset(1, 11) == nullptr);
  CHECK(box.findByOffset(0, -1) == nullptr);
  CHECK(box.remove(r1));
  CHECK_FALSE(box.remove(r1));
  dropped.clear();
  box.add("response 4", "e", 0, 13, &dropped);
  CHECK(dropped.empty());
  box.add("response 5", "f", 0, 14, &dropped);
  CHECK(dropped == "response 2");  // no event left: the oldest entry
  // Restored entries keep their numbers; new ones continue after them.
  Outbox restored;
  restored.restore({41, "x", "v", -1, -1});
  CHECK(restored.add("y", "w") == 42);
  CHECK(box.find(r3)->value == "d");
}
