// The hardened systemd units (systemd/*.service) filter system calls. No systemd runs here, so
// this holds the filter to what the programs really do: the agent runs a whole tunnel session
// with real frpc under strace (-f: frpc too), and every system call either made must be one the
// edge-agent unit's SystemCallFilter= lines allow, as systemd-analyze expands them. A new call
// in the agent, frpc or a library shows up here, not as a board killed by seccomp.
#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "frp_test_util.h"

using namespace edgelink;
using namespace edgelink::testing;

namespace {

using Groups = std::map<std::string, std::vector<std::string>>;

/// `systemd-analyze syscall-filter`: every @group with its entries (calls or nested groups).
Groups syscallGroups() {
  auto r = runCommand({"systemd-analyze", "syscall-filter", "--no-pager"}, 30000);
  REQUIRE(r.ok());
  Groups groups;
  std::string current;
  std::istringstream in(r.output);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind('@', 0) == 0) {
      current = line.substr(0, line.find_first_of(" \t"));
      groups[current];
    } else if (line.rfind("    ", 0) == 0 && !current.empty()) {
      std::string entry = line.substr(4);
      if (!entry.empty() && entry[0] != '#') {
        groups[current].push_back(entry.substr(0, entry.find_first_of(" \t")));
      }
    } else if (line.empty() || line[0] == '#') {
      current.clear();  // the "unlisted" section closes the groups
    }
  }
  REQUIRE(groups.count("@system-service") == 1);
  return groups;
}

void expand(const std::string& entry, const Groups& groups, std::set<std::string>& out) {
  if (entry.rfind('@', 0) != 0) {
    out.insert(entry);
    return;
  }
  auto g = groups.find(entry);
  REQUIRE(g != groups.end());
  for (const auto& e : g->second) {
    expand(e, groups, out);
  }
}

/// The calls a unit's SystemCallFilter= lines allow: the first allow list, minus `~` lists, plus
/// @default (systemd always permits it).
std::set<std::string> allowedBy(const std::string& unitPath, const Groups& groups) {
  std::set<std::string> allowed;
  expand("@default", groups, allowed);
  std::istringstream in(readText(unitPath));
  int lists = 0;
  for (std::string line; std::getline(in, line);) {
    const std::string key = "SystemCallFilter=";
    if (line.rfind(key, 0) != 0) {
      continue;
    }
    std::string value = line.substr(key.size());
    bool deny = !value.empty() && value[0] == '~';
    std::istringstream words(deny ? value.substr(1) : value);
    std::set<std::string> named;
    for (std::string w; words >> w;) {
      expand(w, groups, named);
    }
    for (const auto& call : named) {
      if (deny) {
        allowed.erase(call);
      } else {
        allowed.insert(call);
      }
    }
    ++lists;
  }
  REQUIRE(lists > 0);  // the unit filters at all
  return allowed;
}

/// Every system call name in an strace -f log.
std::set<std::string> tracedCalls(const std::string& path) {
  static const std::regex kCall(R"(^\d+\s+(?:<\.\.\. )?([a-z0-9_]+)[( ])");
  std::set<std::string> calls;
  std::istringstream in(readText(path));
  std::smatch m;
  for (std::string line; std::getline(in, line);) {
    if (std::regex_search(line, m, kCall)) {
      calls.insert(m[1]);
    }
  }
  return calls;
}

}  // namespace

TEST_CASE("the edge-agent unit's system-call filter allows every call of a whole session",
          "[frp][systemd]") {
  REQUIRE(::access("/usr/bin/strace", X_OK) == 0);  // scripts/bootstrap installs it
  const std::string unit = std::string(EDGELINK_SOURCE_DIR) + "/systemd/edge-agent.service";
  const auto allowed = allowedBy(unit, syscallGroups());

  FrpsProcess frps;
  EchoServer echo;
  AgentSetup setup = realFrp(frps, {"echo=127.0.0.1:" + std::to_string(echo.port())});
  TempDir traceDir;
  const std::string trace = traceDir.file("strace.log");
  // The agent (and frpc, its child) under strace; the harness reads this variable.
  std::string command = "/usr/bin/strace -f -qq -o " + trace;
  for (const auto& part : edgeAgentCommand()) {
    command += " " + part;
  }
  ::setenv("EDGELINK_AGENT_COMMAND", command.c_str(), 1);
  std::set<std::string> calls;
  {
    AgentUnderTest agent(setup);
    agent.start();
    ::unsetenv("EDGELINK_AGENT_COMMAND");
    const uint16_t port = freeTcpPort();
    auto r = startAndWait(agent, {{"echo", port}});
    INFO(agent.agentLog());
    REQUIRE(r.statusCode == 200);
    CHECK(testing::exchange(port, payload(4096, "sc")) == payload(4096, "sc"));
    CHECK(agent.response(agent.send("system_info"), 20000).statusCode == 200);
    CHECK(agent.response(agent.send("frp_stop"), 20000).statusCode == 200);
    // strace blocks SIGTERM (it runs the program): the agent itself gets it, as from systemd,
    // and strace exits with it.
    int agentPid = 0;
    for (int pid : processesWithArg(agent.configPath())) {
      if (readText("/proc/" + std::to_string(pid) + "/comm") == "edge-agent\n") {
        agentPid = pid;
      }
    }
    REQUIRE(agentPid > 0);
    REQUIRE(::kill(agentPid, SIGTERM) == 0);
    CHECK(agent.stop() == 0);
    calls = tracedCalls(trace);
  }
  REQUIRE(calls.count("execve") == 1);  // the trace is real: it holds the start
  REQUIRE(calls.count("connect") == 1);
  std::vector<std::string> refused;
  for (const auto& c : calls) {
    if (allowed.count(c) == 0) {
      refused.push_back(c);
    }
  }
  INFO("calls made: " << calls.size());
  CHECK(refused == std::vector<std::string>{});
}
