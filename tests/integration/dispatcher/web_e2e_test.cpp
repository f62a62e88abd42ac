// The console in a real browser (Debian's Chromium driven by playwright-core,
// tests/web/console_e2e.mjs) against everything real: the dispatcher serving the console, real
// Kafka and PostgreSQL, the real agent with real frpc, real frps, and the board's real sshd. The
// operator logs in, finds the edge, opens a session, the terminal shows the board answering
// `uname -a`, closes it and sees it closed; a viewer cannot open one; a change without the CSRF
// token is refused. EDGELINK_SCREENSHOT_DIR keeps the pages' screenshots (docs/images).

#include <pwd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>

#include "agent_harness.h"
#include "core/subprocess.h"
#include "dispatcher_harness.h"
#include "harness/frp_peers.h"
#include "harness/test_util.h"
#include "stcp_util.h"
#include "web_test_util.h"

using namespace edgelink;
using namespace edgelink::testing;

namespace {

std::string currentUser() {
  const passwd* pw = ::getpwuid(::geteuid());
  return pw != nullptr ? pw->pw_name : "root";
}

}  // namespace

TEST_CASE(
    "the console in Chromium: log in, find the edge, open a session, web ssh shows uname -a, "
    "close it, a viewer cannot open, no CSRF token means no change",
    "[web][e2e][real]") {
  const std::string script = std::string(EDGELINK_SOURCE_DIR) + "/tests/web/console_e2e.mjs";
  INFO("playwright-core: scripts/bootstrap runs npm ci in tests/web");
  REQUIRE(
      ::access(
          (std::string(EDGELINK_SOURCE_DIR) + "/tests/web/node_modules/playwright-core").c_str(),
          R_OK) == 0);
  FrpsProcess frps;
  SshServer sshd;
  TempDir state("web-e2e");
  const uint16_t pool = freeTcpPort();
  DispatcherHarness h(DispatcherHarness::Setup(
      {"lift-0042"},
      {"http-listen = \"127.0.0.1:0\"", "frps-port = " + std::to_string(frps.port()),
       "port-pool = \"" + std::to_string(pool) + "\"", "default-services = [\"ssh\"]",
       "web-ssh-key-file = \"" + sshd.clientKey() + "\"",
       "web-ssh-known-hosts-file = \"" + state.file("known_hosts") + "\""}));
  addWebUser(h, "olga", "operator", "operator-password-1");
  addWebUser(h, "vic", "viewer", "viewer-password-1");
  // The daemon reaches frps on this host (the harness's config names a placeholder).
  h.startDaemon({"--frps-host", "127.0.0.1"});
  const int port = consolePort(h);
  REQUIRE(port > 0);
  AgentSetup as = stcpAgentSetup(h, frps, sshd.port(), "lift-0042");
  as.remotePorts = std::to_string(pool);  // the board allows the dispatcher's one pool port
  AgentUnderTest agent(as);
  agent.start();
  REQUIRE(h.waitFor("SELECT online FROM edge_status WHERE edge_id = 'lift-0042'", "t"));

  const char* shots = std::getenv("EDGELINK_SCREENSHOT_DIR");
  SpawnOptions opts;
  opts.argv = {"node", script};
  opts.extraEnv = {"EDGELINK_WEB_URL=http://127.0.0.1:" + std::to_string(port),
                   "EDGELINK_OPERATOR_USER=olga",
                   "EDGELINK_OPERATOR_PASSWORD=operator-password-1",
                   "EDGELINK_VIEWER_USER=vic",
                   "EDGELINK_VIEWER_PASSWORD=viewer-password-1",
                   "EDGE_ID=lift-0042",
                   "EDGE_SSH_USER=" + currentUser(),
                   "SCREENSHOT_DIR=" + std::string(shots != nullptr ? shots : state.file("shots"))};
  opts.stdoutPath = state.file("e2e.log");
  opts.stderrPath = opts.stdoutPath;
  auto proc = Subprocess::spawn(opts);
  REQUIRE(proc);
  auto exited = proc->waitFor(300000);
  if (!exited) {
    proc->terminate(2000);
  }
  const int code = exited && WIFEXITED(*exited) ? WEXITSTATUS(*exited) : -1;
  const std::string log = readText(opts.stdoutPath);
  const std::string daemon = h.daemonLog(0);
  INFO(log);
  INFO(daemon.substr(daemon.size() > 8000 ? daemon.size() - 8000 : 0));
  INFO(agent.agentLog().substr(0, 4000));
  CHECK(code == 0);
  CHECK(log.find(" 0 failed") != std::string::npos);
  // What the browser did is in the trails: the session opened and closed by olga through the
  // web, her terminal connected, the viewer's attempt refused before anything was published.
  CHECK(h.count("SELECT count(*) FROM session_audit WHERE actor = 'olga' AND actor_kind = 'web'"
                " AND action = 'open'") >= 1);
  CHECK(h.count("SELECT count(*) FROM web_audit WHERE action = 'terminal' AND user_name = 'olga'"
                " AND outcome = 'connected'") >= 1);
  CHECK(h.count("SELECT count(*) FROM sessions WHERE ended_at IS NULL") == 0);
  CHECK(h.count("SELECT count(*) FROM web_audit WHERE user_name = 'vic' AND action LIKE"
                " 'session%'") == 0);
}
