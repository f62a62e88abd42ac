// A full or corrupted state directory, with the real agent binary against the test broker and
// the frpc stand-in: the state dir on a small tmpfs filled to the last page (ENOSPC from the
// kernel, not a simulation), and state files damaged before a start.
//
// Mounting needs root (CI runs as root): without it these tests FAIL saying so; they never skip,
// and there is no stand-in (RLIMIT_FSIZE gives EFBIG and SIGXFSZ, not a full disk).
#include <dirent.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "agent_harness.h"
#include "agent_test_util.h"
#include "core/atomic_file.h"
#include "core/strings.h"

using namespace edgelink;
using namespace edgelink::testing;

namespace {

/// A small tmpfs on `dir` while it lives; `fill()` takes every free byte, `free()` gives it back.
class SmallTmpfs {
 public:
  explicit SmallTmpfs(std::string dir) : dir_(std::move(dir)) {
    if (auto r = makeDirs(dir_, 0700); !r) {
      throw std::runtime_error(r.error().describe());
    }
    if (::mount("tmpfs", dir_.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, "size=512k,mode=0700") != 0) {
      throw std::runtime_error("cannot mount a tmpfs on " + dir_ + " (" + std::strerror(errno) +
                               "): this test needs root, as CI runs it; it does not skip");
    }
  }
  ~SmallTmpfs() { ::umount2(dir_.c_str(), MNT_DETACH); }
  SmallTmpfs(const SmallTmpfs&) = delete;
  SmallTmpfs& operator=(const SmallTmpfs&) = delete;

  void fill() {
    int fd = ::open((dir_ + "/filler").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    REQUIRE(fd >= 0);
    std::vector<char> block(4096, 'x');
    int err = 0;
    for (size_t size = block.size(); size > 0 && err != ENOSPC;) {
      if (::write(fd, block.data(), size) < 0) {
        err = errno;
        if (err == ENOSPC && size > 1) {
          size /= 2;  // the last page's bytes too
          err = 0;
        }
      }
    }
    ::close(fd);
    REQUIRE(err == ENOSPC);
  }
  void free() { REQUIRE(::unlink((dir_ + "/filler").c_str()) == 0); }

 private:
  std::string dir_;
};

/// Processes whose command line ends in `-c configPath` (frpc, or the stand-in under python).
std::vector<int> frpcOn(const std::string& configPath) {
  std::vector<int> pids;
  const std::string tail = std::string("\0-c\0", 4) + configPath + '\0';
  DIR* proc = ::opendir("/proc");
  while (dirent* e = ::readdir(proc)) {
    auto pid = parseInt64(e->d_name);
    if (!pid) {
      continue;
    }
    std::string cmdline = readText("/proc/" + std::string(e->d_name) + "/cmdline");
    if (cmdline.size() > tail.size() &&
        cmdline.compare(cmdline.size() - tail.size(), tail.size(), tail) == 0 &&
        processAlive(static_cast<int>(*pid))) {
      pids.push_back(static_cast<int>(*pid));
    }
  }
  ::closedir(proc);
  return pids;
}

const char* kStart = R"({"services":{"ssh":31022},"auto_stop_seconds":600})";

}  // namespace

TEST_CASE(
    "a full state dir: frp_start is answered 500 naming the cause and no frpc runs, pings "
    "and stops are answered, and starts work again once there is space",
    "[agent][state]") {
  AgentUnderTest agent;
  SmallTmpfs tmpfs(agent.stateDir());
  agent.start();
  REQUIRE(agent.response(agent.send("ping")).statusCode == 200);

  tmpfs.fill();
  auto refused = agent.response(agent.send("frp_start", kStart));
  CHECK(refused.statusCode == 500);
  CHECK_THAT(str(refused, "error"), Catch::StartsWith("state: cannot write " + agent.stateDir() +
                                                      "/state.json: No space left on device"));
  CHECK(agent.frpcStarts().empty());
  CHECK(frpcOn(agent.frpcConfigPath()).empty());
  CHECK(agent.response(agent.send("ping")).statusCode == 200);
  auto stop = agent.response(agent.send("frp_stop"));
  CHECK(stop.statusCode == 200);
  CHECK(str(stop, "state") == "stopped");
  CHECK(agent.running());
  CHECK_THAT(agent.agentLog(),
             Catch::Contains("state: cannot write " + agent.stateDir() +
                             "/state.json: No space left on device") &&
                 Catch::Contains("requests are still answered, stops still stop frpc, frp starts "
                                 "are refused (500) until the state can be written"));

  tmpfs.free();
  auto started = startSession(agent, kStart);
  const int pid = pidOf(started);
  CHECK(processAlive(pid));
  CHECK(agent.frpcStarts() == std::vector<int>{pid});
  CHECK_THAT(agent.agentLog(), Catch::Contains("written again after"));

  // Full again while a session runs: a stop still stops frpc, and its answer says the state
  // file could not record it.
  tmpfs.fill();
  auto stopped = agent.response(agent.send("frp_stop"));
  CHECK(stopped.statusCode == 200);
  CHECK(str(stopped, "state") == "stopped");
  CHECK_THAT(stopped.description, Catch::Contains("frpc stopped, but state: cannot write") &&
                                      Catch::Contains("No space left on device"));
  CHECK(waitDead(pid));
  CHECK(frpcOn(agent.frpcConfigPath()).empty());
  tmpfs.free();
  CHECK(agent.stop() == 0);
}

TEST_CASE(
    "a corrupted state file at start is logged and set aside, the agent runs, and an frpc "
    "left on its config is ended",
    "[agent][state]") {
  AgentUnderTest agent;
  // A first run leaves a valid frpc config behind (the stand-in refuses an invalid one).
  agent.start();
  const int first = pidOf(startSession(agent, kStart));
  REQUIRE(agent.response(agent.send("frp_stop")).statusCode == 200);
  REQUIRE(waitDead(first));
  REQUIRE(agent.stop() == 0);
  const std::string statePath = agent.stateDir() + "/state.json";
  const std::string valid = readText(statePath);
  REQUIRE_FALSE(valid.empty());

  const std::vector<std::pair<std::string, std::string>> damages = {
      {"truncated", valid.substr(0, valid.size() / 2)},
      {"zero-length", ""},
      {"garbage",
       "\x7f"
       "ELF\x01\x01 not json"},
      {"wrong types", R"({"version":1,"edge_id":"e1","positions":"0","session":null,)"
                      R"("frpc":null,"last_stop":null,"processed":[],"outbox":[]})"}};
  int round = 0;
  for (const auto& [what, text] : damages) {
    INFO(what);
    writeText(statePath, text);
    // An frpc of an earlier run on the agent's config, its record lost with the file. Its own
    // log each round: a line left by the previous round's stray must not pass for this one's.
    const std::string strayLog = agent.file("stray-frpc-" + std::to_string(++round) + ".log");
    SpawnOptions opts;
    opts.argv = {fakeFrpcPath(), "-c", agent.frpcConfigPath()};
    opts.stdoutPath = strayLog;
    opts.stderrPath = strayLog;
    auto stray = Subprocess::spawn(opts);
    REQUIRE(stray.ok());
    // Running, not half-started: the stand-in's shebang runs /usr/bin/env, whose exec of python3
    // leaves /proc/PID/cmdline empty for a moment (an frpc of an earlier run is long past that).
    REQUIRE(waitUntil(
        [&] {
          return readText(strayLog).find("start frpc service") != std::string::npos &&
                 frpcOn(agent.frpcConfigPath()).size() == 1;
        },
        10000));

    agent.start();
    CHECK(agent.response(agent.send("ping")).statusCode == 200);
    CHECK(waitDead(stray->pid()));
    CHECK(frpcOn(agent.frpcConfigPath()).empty());
    const std::string log = agent.agentLog();
    CHECK_THAT(log, Catch::Contains("state file " + statePath + " is corrupt (") &&
                        Catch::Contains("set aside as " + statePath + ".corrupt-") &&
                        Catch::Contains("starting with an empty state"));
    CHECK_THAT(log, Catch::Contains("ended leftover frpc pid " + std::to_string(stray->pid())));
    CHECK(agent.running());
    CHECK(agent.stop() == 0);
  }
  // Each damaged file kept for a post-mortem, and a good one written in its place.
  size_t aside = 0;
  DIR* d = ::opendir(agent.stateDir().c_str());
  while (dirent* e = ::readdir(d)) {
    aside += std::string(e->d_name).rfind("state.json.corrupt-", 0) == 0 ? 1 : 0;
  }
  ::closedir(d);
  CHECK(aside == damages.size());
  CHECK(readText(statePath).rfind("{\"version\":1,", 0) == 0);
}
