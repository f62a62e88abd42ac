// Web ssh against a real OpenSSH server (tests/harness/frp_peers.h's throwaway sshd): the libssh
// bridge (key auth, a shell on a pty, resize, host key pinning per edge, the errors an operator
// sees), the terminal WebSocket over a real civetweb listener with civetweb's own WebSocket
// client, and the stcp path through a real frpc visitor and frps.
#include <civetweb.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "harness/frp_peers.h"
#include "harness/frp_visitor.h"
#include "harness/test_util.h"
#include "observe/civetweb_listener.h"
#include "web/ssh_bridge.h"
#include "web/stcp_visitor.h"
#include "web/terminal.h"

using namespace edgelink;
using namespace edgelink::dispatcher;
using namespace edgelink::dispatcher::web;
using namespace edgelink::testing;

namespace {

SshTarget keyTarget(const SshServer& sshd, const TempDir& dir, uint16_t port = 0) {
  SshTarget t;
  t.host = "127.0.0.1";
  t.port = port != 0 ? port : sshd.port();
  t.user = "root";
  t.keyFile = sshd.clientKey();
  t.knownHostsFile = dir.file("known_hosts");
  t.hostKeyName = "edge:e1";
  t.connectTimeoutMs = 10000;
  return t;
}

/// Pumps `bridge` until its output holds `needle` (true) or `timeoutMs` passes or it ends.
bool readUntil(SshBridge& bridge, std::string& out, const std::string& needle,
               int timeoutMs = 15000) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeoutMs);
  while (out.find(needle) == std::string::npos) {
    if (std::chrono::steady_clock::now() > deadline) {
      return false;
    }
    if (!bridge.pump(100, [&](const char* d, size_t n) { out.append(d, n); })) {
      return out.find(needle) != std::string::npos;
    }
  }
  return true;
}

bool fileExists(const std::string& path) {
  return ::access(path.c_str(), F_OK) == 0;
}

int fileMode(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<int>(st.st_mode & 07777) : -1;
}

/// A WebSocket client (civetweb's): text frames and binary output collected, closing noted.
class WsClient {
 public:
  WsClient(int port, const std::string& path) {
    char err[256] = {0};
    conn_ = mg_connect_websocket_client("127.0.0.1", port, 0, err, sizeof err, path.c_str(),
                                        nullptr, &WsClient::onData, &WsClient::onClose, this);
    error_ = err;
  }
  ~WsClient() {
    if (conn_ != nullptr) {
      mg_close_connection(conn_);
    }
  }
  bool connected() const { return conn_ != nullptr; }
  const std::string& error() const { return error_; }

  void sendText(const std::string& text) {
    mg_websocket_client_write(conn_, MG_WEBSOCKET_OPCODE_TEXT, text.data(), text.size());
  }
  void sendBinary(const std::string& bytes) {
    mg_websocket_client_write(conn_, MG_WEBSOCKET_OPCODE_BINARY, bytes.data(), bytes.size());
  }
  /// Waits until `pred` holds over (texts, output, closed).
  bool waitFor(const std::function<bool()>& pred, int timeoutMs = 20000) {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, std::chrono::milliseconds(timeoutMs), pred);
  }
  bool waitText(const std::string& needle, int timeoutMs = 20000) {
    return waitFor([&] { return textsLocked().find(needle) != std::string::npos; }, timeoutMs);
  }
  bool waitOutput(const std::string& needle, int timeoutMs = 20000) {
    return waitFor([&] { return output_.find(needle) != std::string::npos; }, timeoutMs);
  }
  bool waitClosed(int timeoutMs = 20000) {
    return waitFor([&] { return closed_; }, timeoutMs);
  }
  std::string texts() {
    std::lock_guard<std::mutex> lock(mutex_);
    return textsLocked();
  }
  std::string output() {
    std::lock_guard<std::mutex> lock(mutex_);
    return output_;
  }

 private:
  std::string textsLocked() const {
    std::string all;
    for (const auto& t : texts_) {
      all += t + "\n";
    }
    return all;
  }
  static int onData(mg_connection*, int flags, char* data, size_t size, void* self) {
    auto* c = static_cast<WsClient*>(self);
    std::lock_guard<std::mutex> lock(c->mutex_);
    int opcode = flags & 0x0f;
    if (opcode == MG_WEBSOCKET_OPCODE_TEXT) {
      c->texts_.emplace_back(data, size);
    } else if (opcode == MG_WEBSOCKET_OPCODE_BINARY) {
      c->output_.append(data, size);
    } else if (opcode == MG_WEBSOCKET_OPCODE_CONNECTION_CLOSE) {
      c->closeFrame_ = true;
    }
    c->changed_.notify_all();
    return 1;
  }
  static void onClose(const mg_connection*, void* self) {
    auto* c = static_cast<WsClient*>(self);
    std::lock_guard<std::mutex> lock(c->mutex_);
    c->closed_ = true;
    c->changed_.notify_all();
  }

  mg_connection* conn_ = nullptr;
  std::string error_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::string> texts_;
  std::string output_;
  bool closeFrame_ = false;
  bool closed_ = false;
};

std::unique_ptr<CivetwebListener> listen(
    std::vector<std::pair<std::string, std::string>> options = {}) {
  options.emplace_back("num_threads", "8");
  auto l = CivetwebListener::start("127.0.0.1:0", options, "web-listen");
  REQUIRE(l.ok());
  return std::move(*l);
}

TerminalGrant grantFor(const SshServer& sshd, int64_t sessionId = 7) {
  TerminalGrant g;
  g.userName = "alice";
  g.sessionId = sessionId;
  g.host = "127.0.0.1";
  g.port = sshd.port();
  g.edgeId = "e1";
  return g;
}

TerminalSettings settingsFor(const SshServer& sshd, const TempDir& dir) {
  TerminalSettings s;
  s.keyFile = sshd.clientKey();
  s.knownHostsFile = dir.file("known_hosts");
  s.maxTerminals = 4;
  s.idleTimeoutSeconds = 60;
  s.connectTimeoutMs = 10000;
  return s;
}

}  // namespace

TEST_CASE("web ssh: key auth opens a shell on a pty, uname -a comes back, resize reaches stty",
          "[dispatcher][web][ssh][real]") {
  SshServer sshd;
  TempDir dir("web-ssh");
  auto opened = SshBridge::open(keyTarget(sshd, dir), 80, 24);
  INFO((opened.ok() ? std::string() : opened.error().message) << sshd.log());
  REQUIRE(opened.ok());
  SshBridge& bridge = **opened;
  CHECK(bridge.description() == "root@127.0.0.1:" + std::to_string(sshd.port()));

  std::string out;
  REQUIRE(bridge.write("stty size; echo TERM=$TERM\n", 27).ok());
  CHECK(readUntil(bridge, out, "TERM=xterm-256color"));
  CHECK_THAT(out, Catch::Contains("24 80"));

  REQUIRE(bridge.write("uname -a\n", 9).ok());
  CHECK(readUntil(bridge, out, "Linux"));

  REQUIRE(bridge.resize(132, 43).ok());
  REQUIRE(bridge.write("stty size\n", 10).ok());
  CHECK(readUntil(bridge, out, "43 132"));

  // The host key is pinned under the edge's name, in a 0600 file.
  const std::string known = readText(dir.file("known_hosts"));
  CHECK_THAT(known, Catch::StartsWith("edge:e1 ssh-ed25519 AAAA"));
  CHECK(fileMode(dir.file("known_hosts")) == 0600);

  REQUIRE(bridge.write("exit 3\n", 7).ok());
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (bridge.pump(100, [&](const char* d, size_t n) { out.append(d, n); }) &&
         std::chrono::steady_clock::now() < deadline) {
  }
  CHECK(bridge.endReason() == "the shell exited with status 3");
  CHECK_FALSE(bridge.write("x", 1).ok());
  CHECK_FALSE(bridge.pump(10, [](const char*, size_t) {}));
  bridge.close();
  bridge.close();  // idempotent
}

TEST_CASE("web ssh: the pinned host key is checked, a different one is a mismatch",
          "[dispatcher][web][ssh][real]") {
  SshServer sshd;
  SshServer other;  // its own host key
  TempDir dir("web-ssh");
  REQUIRE(SshBridge::open(keyTarget(sshd, dir), 80, 24).ok());
  REQUIRE(SshBridge::open(keyTarget(sshd, dir), 80, 24).ok());  // the same key: fine
  const std::string pinned = readText(dir.file("known_hosts"));

  // Another server (another edge reusing the port, or a man in the middle) under edge:e1.
  auto mismatch = SshBridge::open(keyTarget(other, dir), 80, 24);
  REQUIRE_FALSE(mismatch.ok());
  CHECK(mismatch.error().status == Status::kForbidden);
  CHECK_THAT(mismatch.error().message, Catch::Contains("host key mismatch for edge:e1"));
  CHECK_THAT(mismatch.error().message, Catch::Contains("SHA256:"));
  CHECK(readText(dir.file("known_hosts")) == pinned);  // not replaced

  // The same server under another edge's name: pinned for that edge too (accept-new).
  auto e2 = keyTarget(other, dir);
  e2.hostKeyName = "edge:e2";
  REQUIRE(SshBridge::open(e2, 80, 24).ok());
  CHECK_THAT(readText(dir.file("known_hosts")), Catch::Contains("\nedge:e2 ssh-ed25519 "));

  // Strict: an edge with no pinned key is refused, and nothing is pinned.
  auto strict = keyTarget(other, dir);
  strict.hostKeyName = "edge:e3";
  strict.hostKeyPolicy = HostKeyPolicy::kStrict;
  auto refused = SshBridge::open(strict, 80, 24);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().status == Status::kForbidden);
  CHECK_THAT(refused.error().message, Catch::Contains("unknown host key for edge:e3"));
  CHECK_THAT(readText(dir.file("known_hosts")), !Catch::Contains("edge:e3"));
  // ... and one with a pinned key is let in.
  strict.hostKeyName = "edge:e2";
  CHECK(SshBridge::open(strict, 80, 24).ok());

  // A known-hosts file others may write is not trusted.
  REQUIRE(::chmod(dir.file("known_hosts").c_str(), 0620) == 0);
  auto writable = SshBridge::open(strict, 80, 24);
  REQUIRE_FALSE(writable.ok());
  CHECK_THAT(writable.error().message, Catch::Contains("is mode 0620: others could pin host keys"));
}

TEST_CASE("web ssh: a wrong password, an unknown key, an unreachable host are clear errors",
          "[dispatcher][web][ssh][real]") {
  SshServer sshd;
  TempDir dir("web-ssh");

  auto withPassword = keyTarget(sshd, dir);
  withPassword.password = "not-the-password-s3cret";
  auto denied = SshBridge::open(withPassword, 80, 24);
  REQUIRE_FALSE(denied.ok());
  CHECK(denied.error().status == Status::kUnauthorized);
  CHECK_THAT(denied.error().message,
             Catch::Contains("authentication failed for root@127.0.0.1:" +
                             std::to_string(sshd.port()) + " (password refused)"));
  CHECK_THAT(denied.error().message, !Catch::Contains("s3cret"));

  auto made = runCommand({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", dir.file("stray")});
  REQUIRE(made.ok());
  auto stray = keyTarget(sshd, dir);
  stray.keyFile = dir.file("stray");
  auto refused = SshBridge::open(stray, 80, 24);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().status == Status::kUnauthorized);
  CHECK_THAT(refused.error().message, Catch::Contains("authentication failed"));
  CHECK_THAT(refused.error().message, Catch::Contains("key " + dir.file("stray") + " refused"));

  auto nobody = keyTarget(sshd, dir, freeTcpPort());
  auto unreachable = SshBridge::open(nobody, 80, 24);
  REQUIRE_FALSE(unreachable.ok());
  CHECK(unreachable.error().status == Status::kUnavailable);
  CHECK_THAT(unreachable.error().message, Catch::StartsWith("cannot reach 127.0.0.1:"));

  auto noKey = keyTarget(sshd, dir);
  noKey.keyFile.clear();
  auto none = SshBridge::open(noKey, 80, 24);
  REQUIRE_FALSE(none.ok());
  CHECK_THAT(none.error().message, Catch::Contains("no ssh key file configured"));
}

TEST_CASE("web ssh: a key file readable by others is refused before connecting",
          "[dispatcher][web][ssh][real]") {
  SshServer sshd;
  TempDir dir("web-ssh");
  writeText(dir.file("key"), readText(sshd.clientKey()));
  REQUIRE(::chmod(dir.file("key").c_str(), 0644) == 0);
  auto target = keyTarget(sshd, dir);
  target.keyFile = dir.file("key");
  auto r = SshBridge::open(target, 80, 24);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().status == Status::kBadRequest);
  CHECK(r.error().message == "the ssh key file " + dir.file("key") +
                                 " is mode 0644: it must be 0600 (chmod 600 " + dir.file("key") +
                                 ")");
  CHECK(keyFileProblem(dir.file("key")).has_value());
  CHECK_FALSE(fileExists(dir.file("known_hosts")));  // never got as far as the server

  REQUIRE(::chmod(dir.file("key").c_str(), 0600) == 0);
  CHECK_FALSE(keyFileProblem(dir.file("key")).has_value());
  CHECK(SshBridge::open(target, 80, 24).ok());
  CHECK_THAT(*keyFileProblem(dir.path()), Catch::Contains("not a regular file"));
  CHECK_THAT(*keyFileProblem(dir.file("missing")), Catch::Contains("No such file"));
}

TEST_CASE("web terminal: start, keystrokes, output, resize, then the session ends",
          "[dispatcher][web][terminal][real]") {
  SshServer sshd;
  TempDir dir("web-term");
  std::atomic<int> asked{0};
  std::string uri;
  TerminalHub hub(settingsFor(sshd, dir), [&](const mg_connection* conn) {
    ++asked;
    uri = mg_get_request_info(conn)->local_uri;
    auto g = grantFor(sshd);
    g.sessionId = terminalSessionId(uri).value_or(0);
    return std::optional<TerminalGrant>(g);
  });
  std::mutex eventsMutex;
  std::vector<std::string> events;
  hub.onEvent([&](const TerminalEvent& e) {
    std::lock_guard<std::mutex> lock(eventsMutex);
    events.push_back(e.grant.userName + " " + e.sshUser + " " + e.outcome + " " + e.message);
  });
  auto listener = listen();
  hub.attach(*listener);

  WsClient ws(listener->port(), "/api/v1/sessions/7/terminal?csrf=x");
  INFO(ws.error() << sshd.log() << ws.texts());
  REQUIRE(ws.connected());
  CHECK(asked == 1);
  CHECK(uri == "/api/v1/sessions/7/terminal");
  ws.sendText(R"({"type":"start","user":"root","cols":100,"rows":30})");
  REQUIRE(ws.waitText(R"("state":"connected")"));
  CHECK_THAT(ws.texts(), Catch::Contains(R"({"type":"status","state":"connecting","message":)"
                                         R"("connecting to root@e1 (127.0.0.1:)"));
  CHECK(hub.liveTerminals() == 1);

  ws.sendBinary("stty size\n");
  CHECK(ws.waitOutput("30 100"));
  ws.sendBinary("uname -a\n");
  CHECK(ws.waitOutput("Linux"));
  ws.sendText(R"({"type":"resize","cols":120,"rows":40})");
  ws.sendBinary("stty size\n");
  CHECK(ws.waitOutput("40 120"));

  hub.sessionEnded(8);  // another session: nothing happens
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK_THAT(ws.texts(), !Catch::Contains("closed"));

  hub.sessionEnded(7);
  CHECK(ws.waitText(R"({"type":"status","state":"closed","message":"session 7 ended"})"));
  CHECK(ws.waitClosed());
  CHECK(waitUntil([&] { return hub.liveTerminals() == 0; }, 10000));
  std::lock_guard<std::mutex> lock(eventsMutex);
  REQUIRE(events.size() == 2);
  CHECK_THAT(events[0], Catch::StartsWith("alice root connected connected to root@e1 (127.0.0.1:"));
  CHECK(events[1] == "alice root stopped session 7 ended");
}

TEST_CASE("web terminal: the shell exiting closes the terminal with its status",
          "[dispatcher][web][terminal][real]") {
  SshServer sshd;
  TempDir dir("web-term");
  TerminalHub hub(settingsFor(sshd, dir), [&](const mg_connection*) {
    return std::optional<TerminalGrant>(grantFor(sshd));
  });
  auto listener = listen();
  hub.attach(*listener);
  WsClient ws(listener->port(), "/api/v1/sessions/7/terminal");
  REQUIRE(ws.connected());
  // Typed before the connection is up: kept and sent once it is.
  ws.sendText(R"({"type":"start","user":"root","cols":80,"rows":24})");
  ws.sendBinary("exit 5\n");
  INFO(ws.texts());
  CHECK(ws.waitText(R"("state":"closed","message":"the shell exited with status 5")"));
  CHECK(ws.waitClosed());
}

TEST_CASE("web terminal: quiet past civetweb's WebSocket timeout, then idle past the hub's",
          "[dispatcher][web][terminal][real]") {
  SshServer sshd;
  TempDir dir("web-term");
  auto settings = settingsFor(sshd, dir);
  settings.idleTimeoutSeconds = 3;
  TerminalHub hub(
      settings, [&](const mg_connection*) { return std::optional<TerminalGrant>(grantFor(sshd)); });
  auto listener = listen({{"websocket_timeout_ms", "300"}});
  hub.attach(*listener);
  WsClient ws(listener->port(), "/api/v1/sessions/7/terminal");
  REQUIRE(ws.connected());
  ws.sendText(R"({"type":"start","user":"root","cols":80,"rows":24})");
  REQUIRE(ws.waitText("connected"));
  // Quiet for several civetweb read timeouts: the WebSocket stays (the hub decides idleness).
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  ws.sendBinary("echo awake-$((6*7))\n");
  CHECK(ws.waitOutput("awake-42"));
  INFO(ws.texts());
  CHECK_THAT(ws.texts(), !Catch::Contains("closed"));
  auto quietFrom = std::chrono::steady_clock::now();
  CHECK(ws.waitText(R"("state":"closed","message":"idle for 3 s: closed")", 10000));
  CHECK(std::chrono::steady_clock::now() - quietFrom >= std::chrono::milliseconds(2500));
  CHECK(ws.waitClosed());
}

TEST_CASE("web terminal: refused, bad control messages, ssh errors and the limit",
          "[dispatcher][web][terminal][real]") {
  SshServer sshd;
  TempDir dir("web-term");
  bool allow = false;
  auto settings = settingsFor(sshd, dir);
  settings.maxTerminals = 1;
  TerminalHub hub(settings, [&](const mg_connection*) {
    return allow ? std::optional<TerminalGrant>(grantFor(sshd)) : std::nullopt;
  });
  auto listener = listen();
  hub.attach(*listener);

  SECTION("authorize says no: no WebSocket") {
    WsClient ws(listener->port(), "/api/v1/sessions/7/terminal");
    CHECK_FALSE(ws.connected());
  }
  SECTION("only the terminal path itself is served") {
    allow = true;
    WsClient longer(listener->port(), "/api/v1/sessions/7/terminal/x");
    CHECK_FALSE(longer.connected());
    WsClient nested(listener->port(), "/api/v1/sessions/7/8/terminal");
    CHECK_FALSE(nested.connected());
  }
  SECTION("a bad first message closes with the reason") {
    allow = true;
    WsClient ws(listener->port(), "/api/v1/sessions/7/terminal");
    REQUIRE(ws.connected());
    ws.sendText(R"({"type":"start","user":"root","cols":0,"rows":24})");
    CHECK(ws.waitText(R"("state":"closed","message":"bad control message: cols: must be an)"));
    CHECK(ws.waitClosed());
  }
  SECTION("a password sshd refuses") {
    allow = true;
    WsClient ws(listener->port(), "/api/v1/sessions/7/terminal");
    REQUIRE(ws.connected());
    ws.sendText(R"({"type":"start","user":"root","password":"nope-s3cret","cols":80,"rows":24})");
    CHECK(ws.waitText(R"("state":"closed","message":"authentication failed for root@127.0.0.1:)"));
    CHECK(ws.waitClosed());
    CHECK_THAT(ws.texts(), !Catch::Contains("s3cret"));
  }
  SECTION("one terminal at most: the second is told and closed") {
    allow = true;
    WsClient first(listener->port(), "/api/v1/sessions/7/terminal");
    REQUIRE(first.connected());
    first.sendText(R"({"type":"start","user":"root","cols":80,"rows":24})");
    REQUIRE(first.waitText("connected"));
    WsClient second(listener->port(), "/api/v1/sessions/7/terminal");
    REQUIRE(second.connected());
    CHECK(
        second.waitText(R"("state":"closed","message":"too many live terminals (the limit is 1))"));
    CHECK(second.waitClosed());
    first.sendBinary("echo still-$((6*7))\n");
    CHECK(first.waitOutput("still-42"));
  }
}

TEST_CASE("web terminal: stcp sessions go through a real frpc visitor and frps",
          "[dispatcher][web][terminal][stcp][real]") {
  FrpsProcess frps;
  SshServer sshd;
  TempDir dir("web-stcp");
  const std::string secret = "c2VjcmV0LWZvci10aGUtdGVzdC1vbmx5LWFhYWFhYWFhYWE";
  // The edge's side: frpc serving sshd as stcp proxy "e1.ssh" (as the agent would).
  writeText(dir.file("edge.toml"),
            "serverAddr = \"127.0.0.1\"\nserverPort = " + std::to_string(frps.port()) +
                "\nloginFailExit = true\nauth.method = \"token\"\nauth.token = \"" + frps.token() +
                "\"\n\n[[proxies]]\nname = \"e1.ssh\"\ntype = \"stcp\"\nsecretKey = \"" + secret +
                "\"\nlocalIP = \"127.0.0.1\"\nlocalPort = " + std::to_string(sshd.port()) + "\n");
  FrpcProcess edge(dir.file("edge.toml"));
  writeText(dir.file("frps-token"), frps.token() + "\n");

  StcpVisitorSettings vs;
  vs.frpcPath = realFrpcPath();
  vs.visitor.frpsHost = "127.0.0.1";
  vs.visitor.frpsPort = frps.port();
  vs.visitor.tokenFile = dir.file("frps-token");

  SECTION("the visitor alone: a private directory, a port that reaches sshd, stopped after") {
    auto v = StcpVisitor::start(vs, "e1", 42, secret);
    INFO((v.ok() ? std::string() : v.error().message) << frps.log() << edge.log());
    REQUIRE(v.ok());
    const std::string vdir = (*v)->dir();
    CHECK(fileMode(vdir) == 0700);
    CHECK(fileMode(vdir + "/visitor.toml") == 0600);
    CHECK_THAT(readText(vdir + "/visitor.toml"), Catch::Contains("serverName = \"e1.ssh\""));
    const int pid = (*v)->pid();
    auto ssh = sshd.ssh(static_cast<uint16_t>((*v)->port()), "echo via-web-visitor");
    INFO(ssh.output);
    CHECK_THAT(ssh.output, Catch::Contains("via-web-visitor"));
    const uint16_t port = static_cast<uint16_t>((*v)->port());
    v.value().reset();
    CHECK(::kill(pid, 0) != 0);  // stopped and reaped
    CHECK_FALSE(fileExists(vdir));
    CHECK(tcpRefused(port));
  }
  SECTION("a visitor frps does not take: a clear error") {
    vs.visitor.frpsPort = freeTcpPort();
    vs.startTimeoutMs = 15000;
    auto v = StcpVisitor::start(vs, "e1", 42, secret);
    REQUIRE_FALSE(v.ok());
    CHECK(v.error().status == Status::kUnavailable);
    CHECK_THAT(v.error().message, Catch::Contains("the frpc visitor for session 42"));
  }
  SECTION("the terminal over stcp") {
    auto settings = settingsFor(sshd, dir);
    settings.stcp = vs;
    TerminalHub hub(settings, [&](const mg_connection*) {
      auto g = grantFor(sshd, 42);
      g.host = "frps.invalid";  // not used for stcp
      g.port = 1;
      g.stcp = TerminalGrant::Stcp{secret};
      return std::optional<TerminalGrant>(g);
    });
    auto listener = listen();
    hub.attach(*listener);
    WsClient ws(listener->port(), "/api/v1/sessions/42/terminal");
    REQUIRE(ws.connected());
    ws.sendText(R"({"type":"start","user":"root","cols":80,"rows":24})");
    INFO(ws.texts() << frps.log() << edge.log());
    REQUIRE(ws.waitText(R"("state":"connected","message":"connected to root@e1 (an stcp visitor)"));
    ws.sendBinary("uname -a\n");
    CHECK(ws.waitOutput("Linux"));
    CHECK_THAT(ws.texts(), !Catch::Contains(secret));
    hub.sessionEnded(42);
    CHECK(ws.waitText(R"("message":"session 42 ended")"));
    CHECK(ws.waitClosed());
  }
}
