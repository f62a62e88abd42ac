#include "frpc_process.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "core/subprocess.h"
#include "harness/test_util.h"

using namespace edgelink;
using namespace edgelink::agent;

TEST_CASE("a leftover frpc is ended only when /proc shows the very same process",
          "[agent][frpc-process]") {
  SpawnOptions opts;
  opts.argv = {"sleep", "1000"};
  opts.dieWithParent = false;
  auto p = Subprocess::spawn(opts);
  REQUIRE(p.ok());
  int pid = p->pid();
  auto ticks = processStartTicks(pid);
  REQUIRE(ticks);
  // Another start time: a recycled pid. It must not be signalled.
  CHECK_THAT(endLeftover({pid, *ticks + 1}, 100), Catch::Contains("no leftover"));
  CHECK_FALSE(p->tryWait());
  // Our process: ended (SIGTERM).
  CHECK_THAT(endLeftover({pid, *ticks}, 2000), Catch::Contains("ended leftover frpc"));
  auto status = p->waitFor(5000);
  REQUIRE(status);
  CHECK(describeWaitStatus(*status) == "killed by signal 15 (Terminated)");
  CHECK_FALSE(processStartTicks(pid));
}

TEST_CASE("frpc's output is read without blocking and its last lines kept",
          "[agent][frpc-process]") {
  testing::TempDir dir;
  testing::writeText(dir.file("fake.sh"),
                     "#!/bin/sh\necho \"config $2\"\necho 'to stderr' >&2\nexec sleep 1000\n");
  ::chmod(dir.file("fake.sh").c_str(), 0755);
  auto p = FrpcProcess::start(dir.file("fake.sh"), "/etc/x.toml");
  REQUIRE(p.ok());
  std::vector<std::string> seen;
  REQUIRE(testing::waitUntil(
      [&] {
        (*p)->readOutput([&](const std::string& l) { seen.push_back(l); });
        return seen.size() == 2;
      },
      5000));
  CHECK(seen[0] == "config /etc/x.toml");
  CHECK(seen[1] == "to stderr");
  CHECK((*p)->lastLines(1) == "to stderr");
  CHECK((*p)->startTicks() > 0);
  int status = (*p)->stop(2000);
  CHECK(WIFSIGNALED(status));
  CHECK((*p)->tryWait());
}

TEST_CASE("frpc's access log of its admin API is logged but kept out of its last lines",
          "[agent][frpc-process]") {
  // Real frpc v0.70 logs every admin API request at info level; the agent polls /api/status
  // every 50 ms while a start is pending, which pushed what frpc said out of failure reports.
  const std::string request =
      "2026-12-02 06:35:45.436 [I] [http/middleware.go:35] http request: [/api/status]";
  const std::string response =
      "2026-12-02 06:35:45.436 [I] [http/middleware.go:38] http response [/api/status]: code "
      "[200]";
  const std::string said =
      "2026-12-02 06:35:43.384 [I] [client/service.go:311] try to connect to server...";
  CHECK(isAdminAccessLine(request));
  CHECK(isAdminAccessLine(response));
  CHECK_FALSE(isAdminAccessLine(said));
  CHECK_FALSE(
      isAdminAccessLine("[W] [client/control.go:163] [e1.ssh] start error: port already "
                        "used"));
  testing::TempDir dir;
  testing::writeText(dir.file("fake.sh"), "#!/bin/sh\necho '" + said + "'\necho '" + request +
                                              "'\necho '" + response + "'\nexec sleep 1000\n");
  ::chmod(dir.file("fake.sh").c_str(), 0755);
  auto p = FrpcProcess::start(dir.file("fake.sh"), "/etc/x.toml");
  REQUIRE(p.ok());
  std::vector<std::string> seen;
  REQUIRE(testing::waitUntil(
      [&] {
        (*p)->readOutput([&](const std::string& l) { seen.push_back(l); });
        return seen.size() == 3;
      },
      5000));
  CHECK(seen[2] == response);
  CHECK((*p)->lastLines(3) == said);
  (*p)->stop(2000);
}

TEST_CASE("frpc verify failures carry frpc's own output", "[agent][frpc-process]") {
  testing::TempDir dir;
  testing::writeText(dir.file("bad.toml"), "serverPort = \"x\"\n");
  auto r = verifyConfig(EDGELINK_FAKES_DIR "/fake_frpc.py", dir.file("bad.toml"), 10000);
  REQUIRE_FALSE(r.ok());
  // frpc v0.70.1's words (the stand-in uses them; tests/integration/frp holds it to real frpc).
  CHECK_THAT(r.error().message,
             Catch::Contains("field \"ClientCommonConfig.serverPort\": cannot unmarshal string "
                             "into int"));
  auto missing = verifyConfig("/nonexistent/frpc", dir.file("bad.toml"), 1000);
  CHECK_FALSE(missing.ok());
}

TEST_CASE("an frpc ignoring SIGTERM is killed after the grace period", "[agent][frpc-process]") {
  testing::TempDir dir;
  // Ignores SIGTERM, says so once it does (so the signal cannot arrive before the trap).
  testing::writeText(dir.file("stubborn.sh"),
                     "#!/bin/sh\ntrap '' TERM\necho ready\nwhile :; do sleep 0.05; done\n");
  ::chmod(dir.file("stubborn.sh").c_str(), 0755);
  auto p = FrpcProcess::start(dir.file("stubborn.sh"), "/etc/x.toml");
  REQUIRE(p.ok());
  REQUIRE(testing::waitUntil(
      [&] {
        (*p)->readOutput({});
        return (*p)->lastLines(1) == "ready";
      },
      5000));
  int status = (*p)->stop(200);
  CHECK(describeWaitStatus(status) == "killed by signal 9 (Killed)");
  CHECK_FALSE(processStartTicks((*p)->pid()));
}
