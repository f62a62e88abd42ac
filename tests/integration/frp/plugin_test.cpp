// frps accepts only the proxies the cloud opened: real frps asks the dispatcher (its server
// plugin, `frps-plugin-listen`) before accepting a login or a proxy, and the dispatcher allows a
// proxy only on the remote port of a live session of the edge frpc's metadata names. A client
// holding the frps token but no session is refused, with the plugin's reason in frpc's
// /api/status; so is one asking for another edge's session port, and one asking after the
// session closed. The session rows are written here in SQL (as `session open` and the ingest
// write them); the agent is real, and so are frps, frpc and PostgreSQL.
#include <catch2/catch.hpp>

#include "admin_api.h"
#include "dispatcher_harness.h"
#include "frp_test_util.h"
#include "frpc_config.h"
#include "harness/http_probe.h"

using namespace edgelink;
using namespace edgelink::testing;

namespace {

const char* const kPluginPath = "/frps-plugin/s3cr3t-path";

/// The dispatcher (its plugin listener on a free port) and frps asking it.
struct PluginWorld {
  PluginWorld()
      : pluginPort(freeTcpPort()),
        h(DispatcherHarness::Setup(
            {"e1", "e2"}, {"frps-plugin-listen = \"127.0.0.1:" + std::to_string(pluginPort) + "\"",
                           std::string("frps-plugin-path = \"") + kPluginPath + "\""})) {
    h.startDaemon();
    REQUIRE(h.waitForLog(0, "frps plugin on http://127.0.0.1:" + std::to_string(pluginPort)));
    h.sql("INSERT INTO edges (edge_id, first_seen_at) VALUES ('e1', now()), ('e2', now())");
    FrpsOptions o;
    o.pluginAddr = "127.0.0.1:" + std::to_string(pluginPort);
    o.pluginPath = kPluginPath;
    frps = std::make_unique<FrpsProcess>(o);
  }

  /// A live session of `edge` holding `port` for service `service`; returns its id.
  std::string openSession(const std::string& edge, uint16_t port, const std::string& state,
                          const std::string& service = "echo") {
    const std::string id = h.sql(
        "INSERT INTO sessions (edge_id, request_id, opened_by, services, state, requested_at)"
        " VALUES ('" +
        edge + "', 'r" + std::to_string(port) + "', 'test', '{\"" + service +
        "\": " + std::to_string(port) + "}', '" + state + "', now()) RETURNING session_id");
    REQUIRE_FALSE(id.empty());
    h.sql("INSERT INTO session_ports (port, session_id, service) VALUES (" + std::to_string(port) +
          ", " + id + ", '" + service + "')");
    return id;
  }

  void closeSession(const std::string& id) {
    h.sql(
        "UPDATE sessions SET state = 'closed', ended_at = now(), end_reason = 'requested'"
        " WHERE session_id = " +
        id);
    REQUIRE(h.count("SELECT count(*) FROM session_ports WHERE session_id = " + id) == 0);
  }

  uint16_t pluginPort;
  DispatcherHarness h;
  std::unique_ptr<FrpsProcess> frps;
};

/// Real frpc run directly on a config the agent's renderer writes (with `edge` as its metadata),
/// one tcp proxy `name` from `localPort` to `remotePort`.
struct DirectFrpc {
  DirectFrpc(const FrpsProcess& frps, const std::string& edge, const std::string& name,
             uint16_t localPort, uint16_t remotePort)
      : dir("frpc-direct"), adminPort(freeTcpPort()) {
    agent::FrpcSettings s;
    s.serverAddr = "127.0.0.1";
    s.serverPort = frps.port();
    s.token = frps.token();  // the right token: only the plugin stands in the way
    s.adminPort = adminPort;
    s.adminUser = "u";
    s.adminPassword = "p";
    s.edgeId = edge;
    auto text = agent::renderFrpcConfig(agent::FrpcFormat::kToml, s,
                                        {{"echo", name, "127.0.0.1", localPort, remotePort}});
    REQUIRE(text.ok());
    writeText(dir.file("frpc.toml"), *text);
    SpawnOptions opts;
    opts.argv = {realFrpcPath(), "-c", dir.file("frpc.toml")};
    opts.stdoutPath = dir.file("frpc.log");
    opts.stderrPath = dir.file("frpc.log");
    auto p = Subprocess::spawn(opts);
    REQUIRE(p.ok());
    proc = std::move(*p);
  }

  /// The proxy's settled status ("running" or "start error") from /api/status.
  agent::ProxyStatus settled(const std::string& name) {
    agent::ProxyStatus out;
    bool done = waitUntil(
        [&] {
          auto r = agent::fetchProxyStatus(adminPort, "u", "p", 1000);
          if (!r || r->count(name) == 0) {
            return false;
          }
          out = r->at(name);
          return out.status == "running" || out.status == "start error";
        },
        20000);
    INFO(readText(dir.file("frpc.log")));
    REQUIRE(done);
    return out;
  }

  TempDir dir;
  uint16_t adminPort;
  Subprocess proc;
};

}  // namespace

TEST_CASE(
    "frps plugin: the right token but no session is refused, the plugin's reason in frpc's "
    "status",
    "[frp][real][frps-plugin]") {
  PluginWorld w;
  EchoServer echo;
  const uint16_t port = freeTcpPort();
  DirectFrpc frpc(*w.frps, "e1", "e1.echo", echo.port(), port);
  auto st = frpc.settled("e1.echo");
  CHECK(st.status == "start error");
  CHECK_THAT(st.err,
             Catch::Contains("no session of edge e1 is open on port " + std::to_string(port)));
  CHECK(tcpRefused(port));
  CHECK(w.h.waitForLog(
      0, "type=NewProxy edge=e1 port=" + std::to_string(port) + " outcome=no_session"));
}

TEST_CASE("frps plugin: a session's port asked for by another edge is refused",
          "[frp][real][frps-plugin]") {
  PluginWorld w;
  EchoServer echo;
  const uint16_t port = freeTcpPort();
  w.openSession("e2", port, "active");
  DirectFrpc frpc(*w.frps, "e1", "e1.echo", echo.port(), port);
  auto st = frpc.settled("e1.echo");
  CHECK(st.status == "start error");
  CHECK_THAT(st.err, Catch::Contains("port " + std::to_string(port) +
                                     " belongs to another edge's session"));
  CHECK(tcpRefused(port));
}

TEST_CASE("frps plugin: only its configured path answers, and only to POST",
          "[frp][real][frps-plugin]") {
  PluginWorld w;
  CHECK(httpGet(w.pluginPort, kPluginPath).status == 405);
  // The path is the shared secret: without it, nothing is there.
  CHECK(httpGet(w.pluginPort, "/frps-plugin").status == 404);
  CHECK(httpGet(w.pluginPort, std::string(kPluginPath) + "/x").status == 404);
  CHECK(httpGet(w.pluginPort, "/metrics").status == 404);
}

TEST_CASE("frps plugin: an unknown edge cannot log in to frps, whatever its token",
          "[frp][real][frps-plugin]") {
  PluginWorld w;
  EchoServer echo;
  const uint16_t port = freeTcpPort();
  w.openSession("e1", port, "active");
  // frpc exits on a refused login (loginFailExit, as the agent writes it) saying why.
  DirectFrpc frpc(*w.frps, "e9", "e9.echo", echo.port(), port);
  const auto status = frpc.proc.waitFor(20000);
  const std::string log = readText(frpc.dir.file("frpc.log"));
  INFO(log);
  REQUIRE(status);
  CHECK(*status != 0);
  CHECK_THAT(log, Catch::Contains("edge e9 is not known to the dispatcher"));
  CHECK(tcpRefused(port));
}

namespace {

/// (c) and (d) with the agent writing `format`: its session's proxy runs and carries bytes;
/// once the session closed, a new registration of the port is refused.
void agentSessionThenRefused(const std::string& format) {
  PluginWorld w;
  EchoServer echo;
  const uint16_t port = freeTcpPort();
  const std::string session = w.openSession("e1", port, "opening");
  AgentUnderTest agent(
      realFrp(*w.frps, {"echo=127.0.0.1:" + std::to_string(echo.port())}, "e1", format));
  agent.start();
  auto r = startAndWait(agent, {{"echo", port}});
  INFO(agent.agentLog());
  REQUIRE(r.statusCode == 200);
  CHECK(serviceString(r, "echo", "status") == "running");
  const std::string sent = payload(64 * 1024, "plugin");
  CHECK(exchange(port, sent) == sent);
  CHECK(
      w.h.waitForLog(0, "type=NewProxy edge=e1 port=" + std::to_string(port) + " outcome=allowed"));

  auto stopped = agent.response(agent.send("frp_stop"));
  CHECK(stopped.statusCode == 200);
  CHECK(waitUntil([&] { return tcpRefused(port); }, 10000));
  w.closeSession(session);
  DirectFrpc again(*w.frps, "e1", "e1.echo", echo.port(), port);
  auto st = again.settled("e1.echo");
  CHECK(st.status == "start error");
  CHECK_THAT(st.err, Catch::Contains("no session of edge e1"));
  CHECK(tcpRefused(port));
}

}  // namespace

TEST_CASE(
    "frps plugin: the agent's own session runs and carries bytes, and once it closed a new "
    "registration of its port is refused (TOML)",
    "[frp][real][frps-plugin]") {
  agentSessionThenRefused("toml");
}

TEST_CASE(
    "frps plugin: the agent's own session runs and carries bytes, and once it closed a new "
    "registration of its port is refused (INI)",
    "[frp][real][frps-plugin]") {
  agentSessionThenRefused("ini");
}
