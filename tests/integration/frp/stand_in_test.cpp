// The frpc stand-in (tests/fakes/fake_frpc.py) held to real frpc: the same exit codes for the
// same configs (verify and run), the same /api/status shape and status words, the same login
// failure and the same death by SIGTERM. And real `frpc verify` accepts what the agent writes.
#include <rapidjson/document.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <map>
#include <set>

#include "admin_api.h"
#include "frp_test_util.h"

using namespace edgelink;
using namespace edgelink::testing;

namespace {

struct ConfigCase {
  const char* what;
  const char* ext;
  std::string text;
};

/// Configs of both formats: what the agent writes, and the ways a config can be wrong.
std::vector<ConfigCase> configCases() {
  const std::string common =
      "serverAddr = \"127.0.0.1\"\nserverPort = 7000\nloginFailExit = true\n"
      "auth.method = \"token\"\nauth.token = \"t\"\nwebServer.addr = \"127.0.0.1\"\n"
      "webServer.port = 7400\nwebServer.user = \"u\"\nwebServer.password = \"p\"\n"
      "log.disablePrintColor = true\n";
  const std::string proxy =
      "\n[[proxies]]\nname = \"e1.ssh\"\ntype = \"tcp\"\nlocalIP = \"127.0.0.1\"\n"
      "localPort = 22\nremotePort = 31022\n";
  const std::string iniCommon =
      "[common]\nserver_addr = 127.0.0.1\nserver_port = 7000\nlogin_fail_exit = true\n"
      "authentication_method = token\ntoken = t\nadmin_addr = 127.0.0.1\nadmin_port = 7400\n"
      "admin_user = u\nadmin_pwd = p\ndisable_log_color = true\n";
  const std::string iniProxy =
      "\n[e1.ssh]\ntype = tcp\nlocal_ip = 127.0.0.1\nlocal_port = 22\nremote_port = 31022\n";
  return {
      {"an agent-like TOML config", "toml", common + proxy},
      {"TLS off", "toml", common + "transport.tls.enable = false\n" + proxy},
      {"an empty file", "toml", ""},
      {"no proxies and no admin API", "toml", "serverAddr = \"127.0.0.1\"\n"},
      {"an unknown top-level key", "toml", common + "bogus = 1\n" + proxy},
      {"an unknown proxy key", "toml", common + proxy + "bogus = 1\n"},
      {"serverPort as a string", "toml", "serverPort = \"7000\"\n"},
      {"loginFailExit as a string", "toml", "loginFailExit = \"yes\"\n"},
      {"auth.token as a number", "toml", "auth.token = 5\n"},
      {"an unknown auth method", "toml", "auth.method = \"foo\"\n"},
      {"an unknown log level", "toml", "log.level = \"loud\"\n"},
      {"webServer.port out of range", "toml", "webServer.port = 70000\n"},
      {"serverPort out of range (left to the dialer)", "toml", "serverPort = 70000\n"},
      {"localPort out of range", "toml",
       "[[proxies]]\nname = \"a\"\ntype = \"tcp\"\nlocalPort = 70000\n"},
      {"localPort as a string", "toml",
       "[[proxies]]\nname = \"a\"\ntype = \"tcp\"\nlocalPort = \"22\"\n"},
      {"no localPort", "toml", "[[proxies]]\nname = \"a\"\ntype = \"tcp\"\nremotePort = 5\n"},
      {"remotePort out of range (left to frps)", "toml",
       "[[proxies]]\nname = \"a\"\ntype = \"tcp\"\nlocalPort = 22\nremotePort = 70000\n"},
      {"a proxy without a name", "toml", "[[proxies]]\ntype = \"tcp\"\nlocalPort = 22\n"},
      {"a proxy without a type", "toml", "[[proxies]]\nname = \"a\"\nlocalPort = 22\n"},
      {"an unknown proxy type", "toml",
       "[[proxies]]\nname = \"a\"\ntype = \"tcpx\"\nlocalPort = 22\n"},
      {"a proxy name twice", "toml", common + proxy + proxy},
      {"broken TOML", "toml", "serverAddr = \n"},
      {"an agent-like INI config", "ini", iniCommon + iniProxy},
      {"INI: [common] only", "ini", "[common]\n"},
      {"INI: unknown keys (go-ini ignores them)", "ini",
       iniCommon + "bogus = 1\n" + iniProxy + "bogus = 2\n"},
      {"INI: a port that is no number (ignored)", "ini", "[common]\nserver_port = abc\n"},
      {"INI: a proxy without a type (tcp)", "ini", "[common]\n[a]\nlocal_port = 22\n"},
      {"INI: an unknown proxy type", "ini", "[common]\n[a]\ntype = tcpx\nlocal_port = 22\n"},
      {"INI: local_port out of range", "ini", "[common]\n[a]\ntype = tcp\nlocal_port = 99999\n"},
      {"INI: a section twice (merged)", "ini",
       "[common]\n[a]\ntype = tcp\nlocal_port = 22\n[a]\nlocal_port = 23\n"},
      {"INI: backquoted values", "ini",
       "[common]\nserver_addr = `frps.example.com`\ntoken = ` a \"b\" `\n" + iniProxy},
  };
}

rapidjson::Document parseJson(const std::string& text) {
  rapidjson::Document doc;
  doc.Parse(text.c_str());
  return doc;
}

/// /api/status of an frpc on `adminPort` once every proxy has a settled status.
std::string settledStatus(uint16_t adminPort, size_t proxies) {
  std::string body;
  bool settled = waitUntil(
      [&] {
        auto r = agent::httpGet(adminPort, "/api/status", "u", "p", 1000);
        if (!r || r->status != 200) {
          return false;
        }
        body = r->body;
        auto doc = parseJson(body);
        size_t done = 0;
        if (doc.IsObject()) {
          for (const auto& byType : doc.GetObject()) {
            for (const auto& p : byType.value.GetArray()) {
              std::string s = p["status"].GetString();
              done += s == "running" || s == "start error" ? 1 : 0;
            }
          }
        }
        return done == proxies;
      },
      20000);
  REQUIRE(settled);
  return body;
}

/// proxy name -> (sorted keys, status, err, local_addr, remote_addr)
std::map<std::string, std::vector<std::string>> summary(const std::string& json) {
  auto doc = parseJson(json);
  REQUIRE(doc.IsObject());
  std::map<std::string, std::vector<std::string>> out;
  for (const auto& byType : doc.GetObject()) {
    REQUIRE(byType.value.IsArray());
    for (const auto& p : byType.value.GetArray()) {
      std::set<std::string> keys;
      for (const auto& m : p.GetObject()) {
        keys.insert(m.name.GetString());
      }
      std::string keyList;
      for (const auto& k : keys) {
        keyList += k + " ";
      }
      out[p["name"].GetString()] = {std::string("type ") + byType.name.GetString(),
                                    "keys " + keyList,
                                    std::string("status ") + p["status"].GetString(),
                                    std::string("err ") + p["err"].GetString(),
                                    std::string("local_addr ") + p["local_addr"].GetString(),
                                    std::string("remote_addr ") + p["remote_addr"].GetString()};
    }
  }
  return out;
}

Subprocess spawnFrpc(const std::string& program, const std::string& config, const std::string& log,
                     const std::vector<std::string>& env = {}) {
  SpawnOptions opts;
  opts.argv = {program, "-c", config};
  opts.stdoutPath = log;
  opts.stderrPath = log;
  opts.extraEnv = env;
  auto p = Subprocess::spawn(opts);
  REQUIRE(p.ok());
  return std::move(*p);
}

}  // namespace

TEST_CASE("the stand-in and real frpc verify the same configs with the same exit codes",
          "[frp][stand-in]") {
  TempDir dir("frpc-verify");
  int i = 0;
  for (const auto& c : configCases()) {
    std::string path = dir.file("c" + std::to_string(i++) + "." + c.ext);
    writeText(path, c.text);
    auto real = runCommand({realFrpcPath(), "verify", "-c", path});
    auto fake = runCommand({fakeFrpcPath(), "verify", "-c", path});
    INFO(c.what << "\n--- config:\n"
                << c.text << "--- real frpc (" << real.exitCode() << "): " << real.output
                << "--- stand-in (" << fake.exitCode() << "): " << fake.output);
    CHECK(real.exitCode() == fake.exitCode());
    if (real.ok()) {
      CHECK_THAT(fake.output, Catch::Contains("syntax is ok"));
    }
  }
  // Run with an invalid config, frpc exits 1 at once as verify does.
  for (const char* bad : {"serverPort = \"7000\"\n", "bogus = 1\n",
                          "[common]\n[a]\ntype = tcpx\nlocal_port = 22\n"}) {
    std::string path = dir.file("run-bad");
    writeText(path, bad);
    auto real = runCommand({realFrpcPath(), "-c", path}, 10000);
    auto fake = runCommand({fakeFrpcPath(), "-c", path}, 10000);
    INFO(bad << "--- real frpc: " << real.output << "--- stand-in: " << fake.output);
    CHECK(real.exitCode() == 1);
    CHECK(fake.exitCode() == 1);
  }
  // A missing file, and no -c at all (frpc then reads ./frpc.ini, which is not there).
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"verify", "-c", dir.file("missing.toml")},
        std::vector<std::string>{"verify"}}) {
    std::vector<std::string> real = {realFrpcPath()};
    std::vector<std::string> fake = {fakeFrpcPath()};
    real.insert(real.end(), args.begin(), args.end());
    fake.insert(fake.end(), args.begin(), args.end());
    auto r = runCommand(real);
    auto f = runCommand(fake);
    INFO(r.output << f.output);
    CHECK(r.exitCode() == 1);
    CHECK(f.exitCode() == 1);
  }
}

TEST_CASE(
    "the stand-in serves real frpc's /api/status shape and status words and dies alike "
    "by SIGTERM",
    "[frp][stand-in]") {
  FrpsProcess frps;
  PortSquatter squatter;
  TempDir dir("frpc-status");
  const uint16_t free = freeTcpPort();
  auto config = [&](uint16_t adminPort) {
    // With `user` set, frp v0.68+ still lists the raw proxy names (frps prefixes them).
    return "serverAddr = \"127.0.0.1\"\nuser = \"edgeuser\"\nserverPort = " +
           std::to_string(frps.port()) + "\nauth.token = \"" + frps.token() +
           "\"\nwebServer.addr = \"127.0.0.1\"\nwebServer.port = " + std::to_string(adminPort) +
           "\nwebServer.user = \"u\"\nwebServer.password = \"p\"\nlog.disablePrintColor = true\n"
           "\n[[proxies]]\nname = \"e1.ok\"\ntype = \"tcp\"\nlocalIP = \"127.0.0.1\"\n"
           "localPort = 22\nremotePort = " +
           std::to_string(free) +
           "\n\n[[proxies]]\nname = \"e1.taken\"\ntype = \"tcp\"\nlocalIP = \"127.0.0.1\"\n"
           "localPort = 23\nremotePort = " +
           std::to_string(squatter.port()) + "\n";
  };
  const uint16_t realAdmin = freeTcpPort();
  const uint16_t fakeAdmin = freeTcpPort();
  writeText(dir.file("real.toml"), config(realAdmin));
  writeText(dir.file("fake.toml"), config(fakeAdmin));
  auto real = spawnFrpc(realFrpcPath(), dir.file("real.toml"), dir.file("real.log"));
  auto fake = spawnFrpc(fakeFrpcPath(), dir.file("fake.toml"), dir.file("fake.log"),
                        {"FAKE_FRPC_MODE=port_unavailable=" + std::to_string(squatter.port())});
  std::string realJson = settledStatus(realAdmin, 2);
  std::string fakeJson = settledStatus(fakeAdmin, 2);
  INFO("real: " << realJson << "\nstand-in: " << fakeJson);
  CHECK(summary(realJson) == summary(fakeJson));
  CHECK(summary(realJson)["e1.taken"][3] == "err port unavailable");
  CHECK(summary(realJson).count("e1.ok") == 1);  // not "edgeuser.e1.ok"
  // Without the admin credentials: 401 from both.
  CHECK(agent::httpGet(realAdmin, "/api/status", "u", "wrong", 1000)->status == 401);
  CHECK(agent::httpGet(fakeAdmin, "/api/status", "u", "wrong", 1000)->status == 401);
  // Both log each admin API request (the agent keeps those out of its failure reports).
  CHECK_THAT(readText(dir.file("real.log")), Catch::Contains("http request: [/api/status]"));
  CHECK_THAT(readText(dir.file("fake.log")), Catch::Contains("http request: [/api/status]"));

  REQUIRE(real.signal(SIGTERM));
  REQUIRE(fake.signal(SIGTERM));
  auto realStatus = real.waitFor(10000);
  auto fakeStatus = fake.waitFor(10000);
  REQUIRE(realStatus);
  REQUIRE(fakeStatus);
  CHECK(describeWaitStatus(*realStatus) == describeWaitStatus(*fakeStatus));
  CHECK(WIFSIGNALED(*realStatus));
}

TEST_CASE("the stand-in and real frpc fail a login with a wrong token alike", "[frp][stand-in]") {
  FrpsProcess frps;
  TempDir dir("frpc-login");
  writeText(dir.file("c.toml"),
            "serverAddr = \"127.0.0.1\"\nserverPort = " + std::to_string(frps.port()) +
                "\nauth.token = \"wrong\"\n\n[[proxies]]\nname = \"a\"\n"
                "type = \"tcp\"\nlocalPort = 22\nremotePort = " +
                std::to_string(freeTcpPort()) + "\n");
  auto real = runCommand({realFrpcPath(), "-c", dir.file("c.toml")});
  auto fake =
      runCommand({fakeFrpcPath(), "-c", dir.file("c.toml")}, 30000, {"FAKE_FRPC_MODE=login_fail"});
  INFO("real: " << real.output << "\nstand-in: " << fake.output);
  CHECK(real.exitCode() == 1);
  CHECK(fake.exitCode() == 1);
  const std::string words =
      "login to the server failed: token in login doesn't match token from configuration";
  CHECK_THAT(real.output, Catch::Contains(words));
  CHECK_THAT(fake.output, Catch::Contains(words));
}

TEST_CASE("real frpc verify accepts what edge-agent render-frpc writes in TOML and INI",
          "[frp][real]") {
  TempDir dir("render-frpc");
  writeText(dir.file("token"), "t0ken with spaces \"and\" `quotes`\n");
  writeText(dir.file("agent.conf"),
            "edge-id = \"elevator-0042\"\nkafka-brokers = \"127.0.0.1:9\"\n"
            "state-dir = \"" +
                dir.file("state") + "\"\nfrpc-path = \"" + realFrpcPath() +
                "\"\nfrps-addr = \"frps.example.com\"\nfrps-token-file = \"" + dir.file("token") +
                "\"\nservice = [\"ssh=127.0.0.1:22\", \"fcc_web=127.0.0.1:80\", "
                "\"camera_admin=192.168.1.64:80\"]\nremote-ports = \"30000-39999\"\n"
                "trusted-keys = [\"" +
                writeTrustedKeyFile(dir.file("cloud.pub")) + "\"]\n");
  ::chmod(dir.file("token").c_str(), 0600);
  // The original design's request, and the canonical one.
  writeText(
      dir.file("legacy.json"),
      R"({"request":{"id":111,"sender":"web_backend","timestamp":0,"type":"change_frp_client_config",
      "body":[{"edge_ssh_remote_port":31022,"edge_fcc_web_config_page_remote_port":31080,
      "camera_admin_web_page_remote_port":31081,"auto_stop_service_in":3600}],
      "actions":[{"name":"start_frp_client_service"}]}})");
  writeText(dir.file("start.json"),
            R"({"request":{"id":"s1","sender":"web_backend","timestamp":0,"type":"frp_start",
      "body":{"services":{"ssh":31022,"camera_admin":31081}}}})");
  for (const char* format : {"toml", "ini"}) {
    for (const char* request : {"legacy.json", "start.json"}) {
      auto rendered =
          runCommand({edgeAgentPath(), "render-frpc", "--config", dir.file("agent.conf"),
                      "--request", dir.file(request), "--frpc-format", format});
      INFO(format << " " << request << ":\n" << rendered.output);
      REQUIRE(rendered.ok());
      std::string path = dir.file(std::string(request) + "." + format);
      writeText(path, rendered.output);
      auto real = runCommand({realFrpcPath(), "verify", "-c", path});
      INFO("real frpc: " << real.output);
      CHECK(real.ok());
      CHECK_THAT(real.output, Catch::Contains("syntax is ok"));
      auto fake = runCommand({fakeFrpcPath(), "verify", "-c", path});
      CHECK(fake.exitCode() == real.exitCode());
    }
  }
}
