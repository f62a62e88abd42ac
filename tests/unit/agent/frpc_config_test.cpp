// The frpc config is generated, never pasted: every value written through the format's quoting
// reads back exactly (checked with python's tomllib and a go-ini-like reader), and nothing in a
// request or in the agent's own config can add a key, a section or a template action.
#include "frpc_config.h"

#include <rapidjson/document.h>

#include <catch2/catch.hpp>
#include <random>

#include "core/clock.h"
#include "decisions/session.h"
#include "render_frpc.h"
#include "unit_util.h"

using namespace edgelink;
using namespace edgelink::agent;

namespace {

FrpcSettings settings(const std::string& token) {
  FrpcSettings s;
  s.serverAddr = "frps.example.com";
  s.serverPort = 7000;
  s.token = token;
  s.adminPort = 7400;
  s.adminUser = "edge-agent";
  s.adminPassword = "pw0123456789";
  return s;
}

std::vector<ProxySpec> proxies() {
  return {{"ssh", "e1.ssh", "127.0.0.1", 22, 31022},
          {"camera_admin", "e1.camera_admin", "192.168.1.64", 80, 31080}};
}

std::string get(const rapidjson::Value& v, const char* key) {
  auto it = v.FindMember(key);
  if (it == v.MemberEnd() || !it->value.IsString()) {
    return "<absent>";
  }
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

int getInt(const rapidjson::Value& v, const char* key) {
  auto it = v.FindMember(key);
  return it != v.MemberEnd() && it->value.IsInt() ? it->value.GetInt() : -1;
}

/// Checks one parsed config (an element of parseFrpcConfigs' array) against what was meant;
/// `edge`: the edge id expected as metadata on the client and every proxy ("": none).
void checkParsed(const rapidjson::Value& parsed, const std::string& token,
                 const std::vector<ProxySpec>& expected, const std::string& edge = "",
                 bool tls = false) {
  INFO(get(parsed, "error"));
  REQUIRE(parsed["ok"].GetBool());
  const auto& cfg = parsed["cfg"];
  CHECK(get(cfg, "token") == token);
  CHECK(get(cfg, "server_addr") == "frps.example.com");
  CHECK(getInt(cfg, "server_port") == 7000);
  CHECK(get(cfg, "admin_addr") == "127.0.0.1");
  CHECK(cfg["login_fail_exit"].GetBool());
  const auto& got = cfg["proxies"];
  REQUIRE(got.Size() == expected.size());
  for (rapidjson::SizeType i = 0; i < got.Size(); ++i) {
    CHECK(get(got[i], "name") == expected[i].name);
    CHECK(get(got[i], "local_ip") == expected[i].localIp);
    CHECK(getInt(got[i], "local_port") == expected[i].localPort);
    CHECK(getInt(got[i], "remote_port") == expected[i].remotePort);
    CHECK(got[i]["metas"].MemberCount() == (edge.empty() ? 0u : 1u));
    CHECK((edge.empty() || get(got[i]["metas"], kEdgeMetaKey) == edge));
  }
  CHECK(cfg["metas"].MemberCount() == (edge.empty() ? 0u : 1u));
  CHECK((edge.empty() || get(cfg["metas"], kEdgeMetaKey) == edge));
  std::vector<std::string> keys;
  for (const auto& m : parsed["raw"].GetObject()) {
    keys.emplace_back(m.name.GetString());
  }
  if (!cfg["legacy"].GetBool()) {
    // TOML: exactly these top-level keys, nothing injected.
    std::vector<std::string> want = {"serverAddr", "serverPort", "loginFailExit",
                                     "auth",       "webServer",  "log"};
    if (tls) {
      want.push_back("transport");
    }
    if (!edge.empty()) {
      want.push_back("metadatas");
    }
    want.push_back("proxies");
    CHECK(keys == want);
  } else {
    // INI (read leniently by frpc: an injected key would pass unnoticed): exactly [common] and
    // one section per proxy, and exactly the keys the agent writes.
    std::vector<std::string> sections = {"common"};
    for (const auto& p : expected) {
      sections.push_back(p.name);
    }
    CHECK(keys == sections);
    std::vector<std::string> common;
    for (const auto& m : parsed["raw"]["common"].GetObject()) {
      common.emplace_back(m.name.GetString());
    }
    std::vector<std::string> want = {"server_addr", "server_port", "login_fail_exit",
                                     "authentication_method"};
    if (!token.empty()) {
      want.push_back("token");
    }
    for (const char* k :
         {"admin_addr", "admin_port", "admin_user", "admin_pwd", "disable_log_color"}) {
      want.push_back(k);
    }
    if (tls) {
      want.push_back("tls_enable");
    }
    if (!edge.empty()) {
      want.push_back("meta_edgelink_edge");
    }
    CHECK(common == want);
  }
}

}  // namespace

TEST_CASE("TOML and INI configs carry the settings and proxies and read back exactly",
          "[agent][frpc-config]") {
  testing::TempDir dir;
  auto toml = renderFrpcConfig(FrpcFormat::kToml, settings("abc"), proxies());
  auto ini = renderFrpcConfig(FrpcFormat::kIni, settings("abc"), proxies());
  REQUIRE(toml.ok());
  REQUIRE(ini.ok());
  CHECK_THAT(*toml, Catch::Contains("webServer.port = 7400"));
  CHECK_THAT(*toml, Catch::Contains("loginFailExit = true"));
  CHECK_THAT(*toml, Catch::Contains("auth.token = \"abc\""));
  CHECK_THAT(*ini, Catch::Contains("[common]"));
  CHECK_THAT(*ini, Catch::Contains("admin_pwd = pw0123456789"));
  CHECK_THAT(*ini, Catch::Contains("[e1.camera_admin]"));
  testing::writeText(dir.file("a.toml"), *toml);
  testing::writeText(dir.file("a.ini"), *ini);
  rapidjson::Document doc;
  doc.Parse(test::parseFrpcConfigs({dir.file("a.toml"), dir.file("a.ini")}).c_str());
  REQUIRE(doc.IsArray());
  checkParsed(doc[0], "abc", proxies());
  checkParsed(doc[1], "abc", proxies());
  CHECK_FALSE(doc[0]["cfg"]["legacy"].GetBool());
  CHECK(doc[1]["cfg"]["legacy"].GetBool());
}

TEST_CASE("an empty token writes no token line", "[agent][frpc-config]") {
  auto toml = renderFrpcConfig(FrpcFormat::kToml, settings(""), proxies());
  auto ini = renderFrpcConfig(FrpcFormat::kIni, settings(""), proxies());
  CHECK_THAT(*toml, !Catch::Contains("auth.token"));
  CHECK_THAT(*ini, !Catch::Contains("token ="));
}

TEST_CASE("quoting: TOML escapes, go-ini backquotes, refused characters", "[agent][frpc-config]") {
  CHECK(tomlString("a\"b\\c\n\x01") == "\"a\\\"b\\\\c\\n\\u0001\"");
  CHECK(iniValue("plain-value_1.2") == "plain-value_1.2");
  CHECK(iniValue(" padded ") == "` padded `");
  CHECK(iniValue("\"quoted\"") == "`\"quoted\"`");
  CHECK(iniValue("ends\\") == "`ends\\`");
  CHECK(iniValue("`tick") == "``tick`");
  CHECK(iniValue("caf\xc3\xa9") == "`caf\xc3\xa9`");
  CHECK_FALSE(checkFrpcString("line\nbreak", FrpcFormat::kToml).ok());
  CHECK_FALSE(checkFrpcString(std::string("nul\0byte", 8), FrpcFormat::kToml).ok());
  CHECK_FALSE(checkFrpcString("bad\xff utf8", FrpcFormat::kToml).ok());
  CHECK_FALSE(checkFrpcString("\xed\xa0\x80", FrpcFormat::kToml).ok());  // a surrogate
  CHECK_FALSE(checkFrpcString("{{ .Envs.X }}", FrpcFormat::kIni).ok());
  CHECK(checkFrpcString("%(x)s", FrpcFormat::kToml).ok());
  CHECK_FALSE(checkFrpcString("%(x)s", FrpcFormat::kIni).ok());
  CHECK(checkFrpcString("}} { } %s $HOME 'q' \"q\" [x]", FrpcFormat::kIni).ok());
  auto refused = renderFrpcConfig(FrpcFormat::kToml, settings("sec{{ret"), proxies());
  REQUIRE_FALSE(refused.ok());
  CHECK_THAT(refused.error().message, Catch::Contains("frps token"));
  CHECK_THAT(refused.error().message, !Catch::Contains("sec{{ret"));
}

TEST_CASE("proxy names are unique per edge and the admin password is random",
          "[agent][frpc-config]") {
  CHECK(proxyName("elevator-0042", "ssh") == "elevator-0042.ssh");
  auto dup = proxies();
  dup[1].name = dup[0].name;
  CHECK_FALSE(renderFrpcConfig(FrpcFormat::kToml, settings("t"), dup).ok());
  CHECK_FALSE(renderFrpcConfig(FrpcFormat::kToml, settings("t"), {}).ok());
  std::string a = randomPassword(24);
  std::string b = randomPassword(24);
  CHECK(a.size() == 24);
  CHECK(a != b);
  CHECK(checkFrpcString(a, FrpcFormat::kIni).ok());
}

TEST_CASE(
    "fuzz: hostile tokens in the agent's config are written exactly or refused, never "
    "injected",
    "[agent][frpc-config][fuzz]") {
  testing::TempDir dir;
  const std::vector<std::string> pieces = {"\"",
                                           "\\",
                                           "'",
                                           "`",
                                           "\"\"\"",
                                           "'''",
                                           "\n",
                                           "\r",
                                           "\t",
                                           "[",
                                           "]",
                                           "[[proxies]]",
                                           "[common]",
                                           "=",
                                           "#",
                                           ";",
                                           "{{",
                                           "}}",
                                           "{",
                                           "%(",
                                           ")s",
                                           " ",
                                           "\xc2\xa0",
                                           "\xc3\xa9",
                                           std::string(1, '\0'),
                                           "\x7f",
                                           "\\u0000",
                                           "${HOME}",
                                           "serverPort = 1",
                                           "\ntoken = x",
                                           "a",
                                           "Z",
                                           "9",
                                           "\xe2\x80\xa8"};
  std::mt19937 rng(20261121);
  std::vector<std::string> tokens = {"", "plain"};
  for (int i = 0; i < 300; ++i) {
    std::string t;
    int n = 1 + static_cast<int>(rng() % 6);
    for (int k = 0; k < n; ++k) {
      t += pieces[rng() % pieces.size()];
    }
    tokens.push_back(t);
  }
  std::vector<std::string> paths;
  std::vector<std::string> written;
  int refused = 0;
  for (size_t i = 0; i < tokens.size(); ++i) {
    for (FrpcFormat f : {FrpcFormat::kToml, FrpcFormat::kIni}) {
      auto text = renderFrpcConfig(f, settings(tokens[i]), proxies());
      bool acceptable = checkFrpcString(tokens[i], f).ok();
      REQUIRE(text.ok() == acceptable);
      if (!text.ok()) {
        if (tokens[i].size() >= 6) {  // shorter ones may be the very sequence the error names
          CHECK(text.error().message.find(tokens[i]) == std::string::npos);
        }
        ++refused;
        continue;
      }
      std::string path = dir.file(std::to_string(i) + (f == FrpcFormat::kToml ? ".toml" : ".ini"));
      testing::writeText(path, *text);
      paths.push_back(path);
      written.push_back(tokens[i]);
    }
  }
  CHECK(refused > 0);
  CHECK(paths.size() > 200);
  rapidjson::Document doc;
  doc.Parse(test::parseFrpcConfigs(paths).c_str());
  REQUIRE(doc.IsArray());
  REQUIRE(doc.Size() == paths.size());
  for (rapidjson::SizeType i = 0; i < doc.Size(); ++i) {
    INFO("config " << paths[i]);
    checkParsed(doc[i], written[i], proxies());
  }
}

TEST_CASE(
    "fuzz: hostile request content through render-frpc yields a 4xx answer or a config "
    "with only configured services",
    "[agent][frpc-config][fuzz]") {
  testing::TempDir dir;
  AgentConfig config = test::validConfig(dir);
  const std::vector<std::string> names = {"ssh",
                                          "fcc_web",
                                          "camera_admin",
                                          "telnet",
                                          "ssh\\\"]\\n[[proxies]]",
                                          "ssh\\nname = \\\"x\\\"",
                                          "SSH",
                                          "a{{b}}",
                                          "ssh%(x)s",
                                          "",
                                          "x.y",
                                          "ssh\\u0000",
                                          "\\u00e9",
                                          "ssh ",
                                          "webServer"};
  const std::vector<std::string> ports = {
      "31022", "31023", "39999",     "30000",   "29999", "40000",   "0",         "-1",
      "65536", "1e9",   "\"31022\"", "31022.5", "null",  "[31022]", "{\"a\":1}", "true"};
  const std::vector<std::string> extras = {"",
                                           ",\"serverAddr\":\"evil.example\"",
                                           ",\"auth_token\":\"x\"",
                                           ",\"auto_stop_seconds\":99999999",
                                           ",\"auto_stop_seconds\":-5",
                                           ",\"auto_stop_seconds\":\"1\"",
                                           ",\"webServer.port\":1",
                                           ",\"services\":{\"ssh\":31000}"};
  std::mt19937 rng(42);
  std::vector<std::string> configs;
  std::vector<std::vector<ProxySpec>> expected;
  int answered = 0;
  // Half of the picks come from the first few (valid) entries, so that accepted requests are
  // frequent too.
  auto pick = [&](const std::vector<std::string>& v, size_t valid) {
    return rng() % 2 == 0 ? v[rng() % valid] : v[rng() % v.size()];
  };
  for (int i = 0; i < 400; ++i) {
    std::string services;
    int n = static_cast<int>(rng() % 3);
    for (int k = 0; k <= n; ++k) {
      services += std::string(k ? "," : "") + "\"" + pick(names, 3) + "\":" + pick(ports, 4);
    }
    std::string body = "{\"services\":{" + services + "}" + pick(extras, 1) + "}";
    bool legacy = rng() % 4 == 0;
    std::string request;
    if (legacy) {
      request = R"({"request":{"id":1,"sender":"x","timestamp":0,"type":"change_frp_client_config",
          "body":{"edge_ssh_remote_port":)" +
                pick(ports, 4) + R"(,"camera_admin_web_page_remote_port":)" + pick(ports, 4) +
                R"(,"actions":[{"name":"start_frp_client_service"}]}}})";
    } else {
      request = R"({"request":{"id":"r)" + std::to_string(i) +
                R"(","sender":"x","timestamp":0,"type":"frp_start","body":)" + body + "}}";
    }
    auto outcome = renderForRequest(config, request, SystemClock::instance(), true);
    INFO(request);
    if (!outcome.ok) {
      envelope::Decoder decoder;
      auto response = decoder.decode(outcome.text);
      if (response) {
        CHECK(response->kind == envelope::Kind::kResponse);
        CHECK(response->statusCode >= 400);
        CHECK(response->statusCode < 500);
        ++answered;
      } else {
        CHECK_THAT(outcome.text, Catch::StartsWith("not a request the agent would answer"));
      }
      continue;
    }
    // Accepted: the ports the request gave, for configured services only, within the range.
    envelope::Decoder decoder;
    auto req = decoder.decode(request);
    REQUIRE(req.ok());
    auto cmd = envelope::readFrpCommand(*req);
    REQUIRE(cmd.ok());
    std::vector<ProxySpec> want;
    for (const auto& [name, port] : cmd->services) {
      const ServiceSpec* spec = config.findService(name);
      REQUIRE(spec != nullptr);
      CHECK(port >= 30000);
      CHECK(port <= 39999);
      want.push_back({name, "elevator-0042." + name, spec->localIp, spec->localPort, port});
    }
    configs.push_back(dir.file("c" + std::to_string(i) + ".toml"));
    testing::writeText(configs.back(), outcome.text);
    expected.push_back(want);
  }
  CHECK(answered > 100);
  REQUIRE(configs.size() > 20);
  rapidjson::Document doc;
  doc.Parse(test::parseFrpcConfigs(configs).c_str());
  REQUIRE(doc.Size() == configs.size());
  for (rapidjson::SizeType i = 0; i < doc.Size(); ++i) {
    INFO("config " << configs[i]);
    checkParsed(doc[i], "t0ken", expected[i], "elevator-0042", true);  // frps-tls is on by default
  }
}

TEST_CASE("TLS to frps is written only when the config decides it", "[agent][frpc-config]") {
  testing::TempDir dir;
  FrpcSettings on = settings("t");
  on.tls = true;
  FrpcSettings off = settings("t");
  off.tls = false;
  auto tomlOff = renderFrpcConfig(FrpcFormat::kToml, off, proxies());
  auto iniOn = renderFrpcConfig(FrpcFormat::kIni, on, proxies());
  CHECK_THAT(*tomlOff, Catch::Contains("transport.tls.enable = false"));
  CHECK_THAT(*iniOn, Catch::Contains("tls_enable = true"));
  CHECK_THAT(*renderFrpcConfig(FrpcFormat::kToml, settings("t"), proxies()),
             !Catch::Contains("tls"));
  testing::writeText(dir.file("off.toml"), *tomlOff);
  testing::writeText(dir.file("on.ini"), *iniOn);
  rapidjson::Document doc;
  doc.Parse(test::parseFrpcConfigs({dir.file("off.toml"), dir.file("on.ini")}).c_str());
  REQUIRE(doc[0]["ok"].GetBool());
  REQUIRE(doc[1]["ok"].GetBool());
  CHECK_FALSE(doc[0]["cfg"]["tls"].GetBool());
  CHECK(doc[1]["cfg"]["tls"].GetBool());
  CHECK_FALSE(doc[0]["raw"]["transport"]["tls"]["enable"].GetBool());
}

TEST_CASE("the edge id is frpc metadata on the client and on every proxy, in TOML and INI",
          "[agent][frpc-config][frps-plugin]") {
  testing::TempDir dir;
  FrpcSettings s = settings("t");
  s.edgeId = "board-7.site_a";
  auto toml = renderFrpcConfig(FrpcFormat::kToml, s, proxies());
  auto ini = renderFrpcConfig(FrpcFormat::kIni, s, proxies());
  REQUIRE(toml.ok());
  REQUIRE(ini.ok());
  CHECK_THAT(*toml, Catch::Contains("metadatas.edgelink_edge = \"board-7.site_a\""));
  CHECK_THAT(*ini, Catch::Contains("meta_edgelink_edge = board-7.site_a"));
  testing::writeText(dir.file("m.toml"), *toml);
  testing::writeText(dir.file("m.ini"), *ini);
  rapidjson::Document doc;
  doc.Parse(test::parseFrpcConfigs({dir.file("m.toml"), dir.file("m.ini")}).c_str());
  REQUIRE(doc.IsArray());
  REQUIRE(doc.Size() == 2);
  checkParsed(doc[0], "t", proxies(), "board-7.site_a");
  checkParsed(doc[1], "t", proxies(), "board-7.site_a");
  // TOML: the client's metadata is a top-level table, before the first [[proxies]].
  CHECK(toml->find("metadatas.") < toml->find("[[proxies]]"));
}

TEST_CASE("no edge id, no metadata; an edge id frp would misread is refused",
          "[agent][frpc-config][frps-plugin]") {
  for (FrpcFormat f : {FrpcFormat::kToml, FrpcFormat::kIni}) {
    auto text = renderFrpcConfig(f, settings("t"), proxies());
    REQUIRE(text.ok());
    CHECK_THAT(*text, !Catch::Contains("meta"));
    FrpcSettings bad = settings("t");
    bad.edgeId = "e1{{ .Envs.HOME }}";
    auto refused = renderFrpcConfig(f, bad, proxies());
    REQUIRE_FALSE(refused.ok());
    CHECK_THAT(refused.error().message, Catch::Contains("the edge id"));
  }
}

TEST_CASE("frpcSettings carries the agent's edge id", "[agent][frpc-config][frps-plugin]") {
  testing::TempDir dir;
  AgentConfig config = test::validConfig(dir);
  config.options.edgeId = "e42";
  CHECK(frpcSettings(config, "u", "p").edgeId == "e42");
}

namespace {

std::vector<ProxySpec> stcpProxies(const std::string& secret) {
  return {{"ssh", "e1.ssh", "127.0.0.1", 22, 0, secret},
          {"camera_admin", "e1.camera_admin", "192.168.1.64", 80, 0, secret}};
}

}  // namespace

TEST_CASE("stcp proxies carry the secret and no remote port, in TOML and INI",
          "[agent][frpc-config][stcp]") {
  testing::TempDir dir;
  const std::string secret = "q3Jx0m8ZbV2yH7tWn4cLr9sKd1fG6pAe5uQiOzXjB-_";
  auto toml = renderFrpcConfig(FrpcFormat::kToml, settings("abc"), stcpProxies(secret));
  auto ini = renderFrpcConfig(FrpcFormat::kIni, settings("abc"), stcpProxies(secret));
  REQUIRE(toml.ok());
  REQUIRE(ini.ok());
  CHECK_THAT(*toml, !Catch::Contains("remotePort"));
  CHECK_THAT(*ini, !Catch::Contains("remote_port"));
  testing::writeText(dir.file("a.toml"), *toml);
  testing::writeText(dir.file("a.ini"), *ini);
  rapidjson::Document doc;
  doc.Parse(test::parseFrpcConfigs({dir.file("a.toml"), dir.file("a.ini")}).c_str());
  REQUIRE(doc.IsArray());
  INFO(*toml << *ini);
  REQUIRE(doc[0]["ok"].GetBool());
  REQUIRE(doc[1]["ok"].GetBool());
  const auto& proxies = doc[0]["raw"]["proxies"];
  REQUIRE(proxies.Size() == 2);
  for (const auto& p : proxies.GetArray()) {
    CHECK(get(p, "type") == "stcp");
    CHECK(get(p, "secretKey") == secret);
    CHECK_FALSE(p.HasMember("remotePort"));
  }
  const auto& ssh = doc[1]["raw"]["e1.ssh"];
  CHECK(get(ssh, "type") == "stcp");
  CHECK(get(ssh, "sk") == secret);
  CHECK_FALSE(ssh.HasMember("remote_port"));
  // A secret frp would misread is refused (named, never quoted).
  auto bad = renderFrpcConfig(FrpcFormat::kToml, settings("abc"), stcpProxies("a{{b"));
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(bad.error().message, Catch::Contains("stcp secret"));
  CHECK_THAT(bad.error().message, !Catch::Contains("a{{b"));
}

TEST_CASE("a CA file and server name verify frps, in TOML and INI", "[agent][frpc-config][tls]") {
  testing::TempDir dir;
  FrpcSettings s = settings("t");
  s.tls = true;
  s.tlsTrustedCaFile = "/etc/edge-agent/frps-ca.pem";
  s.tlsServerName = "frps.internal";
  auto toml = renderFrpcConfig(FrpcFormat::kToml, s, proxies());
  auto ini = renderFrpcConfig(FrpcFormat::kIni, s, proxies());
  testing::writeText(dir.file("a.toml"), *toml);
  testing::writeText(dir.file("a.ini"), *ini);
  rapidjson::Document doc;
  doc.Parse(test::parseFrpcConfigs({dir.file("a.toml"), dir.file("a.ini")}).c_str());
  REQUIRE(doc[0]["ok"].GetBool());
  REQUIRE(doc[1]["ok"].GetBool());
  const auto& tls = doc[0]["raw"]["transport"]["tls"];
  CHECK(tls["enable"].GetBool());
  CHECK(get(tls, "trustedCaFile") == "/etc/edge-agent/frps-ca.pem");
  CHECK(get(tls, "serverName") == "frps.internal");
  const auto& common = doc[1]["raw"]["common"];
  CHECK(get(common, "tls_trusted_ca_file") == "/etc/edge-agent/frps-ca.pem");
  CHECK(get(common, "tls_server_name") == "frps.internal");
  // Nothing is written when not configured.
  CHECK_THAT(*renderFrpcConfig(FrpcFormat::kToml, settings("t"), proxies()),
             !Catch::Contains("trustedCaFile"));
}

TEST_CASE("render-frpc masks an stcp session's secret unless asked", "[agent][frpc-config][stcp]") {
  testing::TempDir dir;
  AgentConfig config = test::validConfig(dir);
  const std::string secret = "q3Jx0m8ZbV2yH7tWn4cLr9sKd1fG6pAe5uQiOzXjB-_";
  const std::string request =
      R"({"request":{"id":"s1","sender":"x","timestamp":0,"type":"frp_start","body":{"mode":"stcp","secret_key":")" +
      secret + R"(","services":["ssh"]}}})";
  auto masked = renderForRequest(config, request, SystemClock::instance());
  REQUIRE(masked.ok);
  CHECK_THAT(masked.text, Catch::Contains("type = \"stcp\""));
  CHECK_THAT(masked.text, Catch::Contains("secretKey = \"*****\""));
  CHECK_THAT(masked.text, Catch::Contains("secretKey, webServer.password)"));
  CHECK_THAT(masked.text, !Catch::Contains(secret));
  auto shown = renderForRequest(config, request, SystemClock::instance(), true);
  REQUIRE(shown.ok);
  CHECK_THAT(shown.text, Catch::Contains("secretKey = \"" + secret + "\""));
}
