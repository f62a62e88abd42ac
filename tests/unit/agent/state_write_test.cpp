// A state file that cannot be written (a full disk, EIO, a read-only file system): through
// AgentCore and its ActionRunner with a state writer that fails on demand, and saveState itself
// pointed at paths it cannot write. tests/integration/agent/state_dir_test.cpp runs the real
// agent on a full tmpfs.

#include <catch2/catch.hpp>

#include "core/atomic_file.h"
#include "core_fakes.h"
#include "harness/test_util.h"
#include "state.h"

using namespace edgelink;
using namespace edgelink::agent;

namespace {

using test::kinds;
using test::str;

constexpr const char* kFull =
    "state: cannot write /var/lib/edge-agent/state.json: No space left on device (write)";

Error diskFull() {
  return Error(Status::kInternal, kFull);
}

}  // namespace

TEST_CASE(
    "state write: a start whose state cannot be written is answered 500 naming the cause, "
    "frpc never started",
    "[agent][core][state]") {
  test::CoreRig h;
  h.begin();
  h.advance(0);  // the first heartbeat
  h.fresh();
  h.saveError = diskFull();
  h.request(5, "frp_start", R"({"services":{"ssh":31022}})");
  CHECK(h.frpc.starts == 0);
  CHECK(h.frpc.lastSession.services.empty());  // not even its config written
  CHECK_FALSE(h.core->busy());
  CHECK_FALSE(h.core->running());
  auto out = h.fresh();
  REQUIRE(kinds(out) == std::vector<std::string>{"frp_start 500", "frp_stopped"});
  CHECK(str(out[0], "error") == kFull);
  CHECK(str(out[1], "stop_reason") == "start_failed");
  CHECK_FALSE(h.core->state().frpc);
  CHECK_FALSE(h.core->state().session);

  // Other requests are still answered (in memory; the answer goes out without the disk).
  h.request(6, "ping");
  CHECK(kinds(h.fresh()) == std::vector<std::string>{"ping 200"});

  // Space back: the next start runs.
  h.saveError.reset();
  h.request(7, "frp_start", R"({"services":{"ssh":31022}})");
  h.frpc.allRunning();
  h.advance(50);
  CHECK(h.core->running());
  CHECK(h.frpc.starts == 1);
  CHECK(kinds(h.fresh()) == std::vector<std::string>{"frp_start 200", "frp_started"});
}

TEST_CASE("state write: frpc whose record cannot be written is stopped and the start answered 500",
          "[agent][core][state]") {
  test::CoreRig h;
  h.begin();
  h.fresh();
  h.frpc.afterStart = [&h] { h.saveError = diskFull(); };
  h.request(5, "frp_start", R"({"services":{"ssh":31022}})");
  CHECK(h.frpc.starts == 1);
  CHECK(h.frpc.stops == 1);  // no frpc the state file does not know
  CHECK_FALSE(h.frpc.running);
  CHECK_FALSE(h.core->busy());
  auto out = h.fresh();
  REQUIRE(kinds(out) == std::vector<std::string>{"frp_start 500", "frp_stopped"});
  CHECK(str(out[0], "error") == kFull);
  CHECK_FALSE(h.core->state().frpc);
}

TEST_CASE("state write: a stop whose state cannot be written still stops frpc and says so",
          "[agent][core][state]") {
  test::CoreRig h;
  h.begin();
  h.startSession(5, 600);
  h.fresh();
  h.saveError = diskFull();
  h.request(6, "frp_stop");
  CHECK_FALSE(h.frpc.running);
  CHECK(h.frpc.stops == 1);
  CHECK_FALSE(h.core->running());
  auto out = h.fresh();
  REQUIRE(kinds(out) == std::vector<std::string>{"frp_stopped", "frp_stop 200"});
  CHECK(str(out[1], "state") == "stopped");
  CHECK_THAT(out[1].description, Catch::Contains(kFull) && Catch::Contains("frpc stopped"));

  // Written: the stop's answer says nothing of the disk.
  h.saveError.reset();
  h.startSession(7, 600);
  h.fresh();
  h.request(8, "frp_stop");
  out = h.fresh();
  REQUIRE(kinds(out) == std::vector<std::string>{"frp_stopped", "frp_stop 200"});
  CHECK(out[1].description.empty());
}

TEST_CASE("state write: a redelivered start is answered from memory while the disk is full",
          "[agent][core][state][dedupe]") {
  test::CoreRig h;
  h.begin();
  h.startSession(5, 600);
  h.deliverAll();
  h.fresh();
  h.saveError = diskFull();
  h.request(5, "frp_start", R"({"services":{"ssh":31022}})");  // the same id, redelivered
  auto out = h.fresh();
  REQUIRE(kinds(out) == std::vector<std::string>{"frp_start 200"});
  CHECK(h.frpc.starts == 1);  // not acted on twice
  CHECK(h.core->running());
}

TEST_CASE("saveState names the state file and the cause when it cannot write", "[agent][state]") {
  testing::TempDir dir;
  auto r = saveState(dir.file("gone/state.json"), AgentState{});
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.rfind(
            "state: cannot write " + dir.file("gone/state.json") + ": No such file or directory",
            0) == 0);
  // A directory where the file should be: the rename over it fails; nothing is left behind.
  REQUIRE(makeDirs(dir.file("state.json"), 0700).ok());
  r = saveState(dir.file("state.json"), AgentState{});
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error().message, Catch::StartsWith("state: cannot write " + dir.file("state.json") +
                                                  ": Is a directory"));
}

TEST_CASE("an unreadable state file is set aside like a corrupt one", "[agent][state]") {
  testing::TempDir dir;
  // A directory in its place: open works, read fails (EISDIR).
  REQUIRE(makeDirs(dir.file("state.json"), 0700).ok());
  auto loaded = loadState(dir.file("state.json"), 5);
  CHECK(loaded.fresh);
  CHECK_THAT(loaded.warning,
             Catch::Contains(dir.file("state.json") + " cannot be read") &&
                 Catch::Contains("set aside as " + dir.file("state.json.corrupt-5")));
  CHECK(testing::readText(dir.file("state.json")).empty());
}
