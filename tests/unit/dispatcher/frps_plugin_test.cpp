// frps's server plugin, decided: Login only for a known edge named in frpc's metadata, NewProxy
// (tcp) only on the remote port of a live session of that edge; anything unreadable, any other op
// or proxy type, refused with a reason. stcp and visitors: frps_plugin_stcp_test.cpp. Requests are
// shaped as frp v0.70.1 sends them (pkg/plugin/server/types.go: msg.Login / msg.NewProxy with the
// login's user info).
#include "domain/frps_plugin.h"

#include <rapidjson/document.h>

#include <catch2/catch.hpp>
#include <random>

using namespace edgelink::dispatcher;

namespace {

std::string login(const std::string& metas) {
  return R"({"version":"0.1.0","op":"Login","content":{"version":"0.70.1","hostname":"",)"
         R"("os":"linux","arch":"amd64","user":"","privilege_key":"0123abcd","timestamp":1,)"
         R"("run_id":"r1","pool_count":1,)" +
         (metas.empty() ? std::string() : R"("metas":)" + metas + ",") +
         R"("client_address":"127.0.0.1:5000"}})";
}

std::string newProxy(const std::string& userMetas, const std::string& type, int port,
                     const std::string& proxyMetas = "") {
  std::string content = R"({"user":{"user":"","metas":)" + userMetas +
                        R"(,"run_id":"r1"},"proxy_name":"e1.ssh","proxy_type":")" + type + "\"";
  if (port != 0) {
    content += R"(,"remote_port":)" + std::to_string(port);
  }
  if (!proxyMetas.empty()) {
    content += R"(,"metas":)" + proxyMetas;
  }
  return R"({"version":"0.1.0","op":"NewProxy","content":)" + content + "}}";
}

const std::string kE1 = R"({"edgelink_edge":"e1"})";

PluginVerdict decide(const std::string& body, const PluginFacts& facts) {
  ParsedPluginRequest p = parsePluginRequest(body);
  if (!p.request) {
    return p.rejected;
  }
  return decidePlugin(*p.request, facts);
}

PluginFacts holder(const std::string& edge, const std::string& state = "active") {
  PluginFacts f;
  f.portHolder = PortHolder{edge, state, "ssh"};
  return f;
}

}  // namespace

TEST_CASE("frps plugin: Login is allowed for a known edge only", "[dispatcher][frps-plugin]") {
  auto parsed = parsePluginRequest(login(kE1));
  REQUIRE(parsed.request);
  CHECK(parsed.request->op == PluginOp::kLogin);
  CHECK(parsed.request->edgeId == "e1");
  CHECK(needsEdgeLookup(*parsed.request));
  CHECK_FALSE(needsPortLookup(*parsed.request));
  PluginFacts known;
  known.edgeKnown = true;
  CHECK(decide(login(kE1), known).allow);
  PluginVerdict unknown = decide(login(kE1), PluginFacts{});
  CHECK_FALSE(unknown.allow);
  CHECK(unknown.code == "unknown_edge");
  CHECK_THAT(unknown.reason, Catch::Contains("edge e1 is not known"));
  for (const std::string& metas :
       {std::string(), std::string("{}"), std::string(R"({"other":"e1"})")}) {
    PluginVerdict v = decide(login(metas), known);
    CHECK_FALSE(v.allow);
    CHECK(v.code == "no_edge");
    CHECK(parsePluginRequest(login(metas)).op == "Login");  // counted under its op
    CHECK_THAT(v.reason, Catch::Contains("edgelink_edge"));
  }
  for (const std::string& metas :
       {std::string(R"({"edgelink_edge":""})"), std::string(R"({"edgelink_edge":"a b"})"),
        std::string(R"({"edgelink_edge":7})"), std::string(R"({"edgelink_edge":"e1/../x"})")}) {
    PluginVerdict v = decide(login(metas), known);
    CHECK_FALSE(v.allow);
    CHECK(v.code == "malformed");
  }
}

TEST_CASE("frps plugin: a tcp proxy is allowed only on its edge's live session port",
          "[dispatcher][frps-plugin]") {
  auto parsed = parsePluginRequest(newProxy(kE1, "tcp", 31022));
  REQUIRE(parsed.request);
  CHECK(parsed.request->op == PluginOp::kNewProxy);
  CHECK(parsed.request->remotePort == 31022);
  CHECK(parsed.request->proxyName == "e1.ssh");
  CHECK(needsPortLookup(*parsed.request));
  CHECK_FALSE(needsEdgeLookup(*parsed.request));

  CHECK(decide(newProxy(kE1, "tcp", 31022), holder("e1", "active")).allow);
  CHECK(decide(newProxy(kE1, "tcp", 31022), holder("e1", "opening")).allow);

  PluginVerdict none = decide(newProxy(kE1, "tcp", 31022), PluginFacts{});
  CHECK_FALSE(none.allow);
  CHECK(none.code == "no_session");
  CHECK_THAT(none.reason, Catch::Contains("no session of edge e1 is open on port 31022"));

  PluginVerdict ended = decide(newProxy(kE1, "tcp", 31022), holder("e1", "closed"));
  CHECK(ended.code == "no_session");

  PluginVerdict other = decide(newProxy(kE1, "tcp", 31022), holder("e2"));
  CHECK_FALSE(other.allow);
  CHECK(other.code == "other_edge");
  CHECK_THAT(other.reason, !Catch::Contains("e2"));  // the other edge is not disclosed
}

TEST_CASE("frps plugin: the proxy's own metadata must name its client's edge",
          "[dispatcher][frps-plugin]") {
  CHECK(decide(newProxy(kE1, "tcp", 31022, kE1), holder("e1")).allow);
  CHECK(decide(newProxy(kE1, "tcp", 31022, "{}"), holder("e1")).allow);
  PluginVerdict v = decide(newProxy(kE1, "tcp", 31022, R"({"edgelink_edge":"e2"})"), holder("e1"));
  CHECK_FALSE(v.allow);
  CHECK(v.code == "edge_mismatch");
  // The session's edge is what the client's login says, not what a proxy claims.
  PluginVerdict claimed =
      decide(newProxy(R"({"edgelink_edge":"e2"})", "tcp", 31022, kE1), holder("e1"));
  CHECK(claimed.code == "edge_mismatch");
  CHECK(decide(newProxy("{}", "tcp", 31022), holder("e1")).code == "no_edge");
  CHECK(decide(newProxy("null", "tcp", 31022), holder("e1")).code == "no_edge");
}

TEST_CASE(
    "frps plugin: stcp without an stcp session, other proxy types and portless tcp are "
    "refused",
    "[dispatcher][frps-plugin]") {
  // A tcp session's port holder says nothing about stcp (frps_plugin_stcp_test.cpp has the rest).
  PluginVerdict stcp = decide(newProxy(kE1, "stcp", 0), holder("e1"));
  CHECK_FALSE(stcp.allow);
  CHECK(stcp.code == "no_stcp_session");
  for (const char* type : {"udp", "http", "https", "xtcp", "tcpmux", "sudp", ""}) {
    PluginVerdict v = decide(newProxy(kE1, type, 31022), holder("e1"));
    CHECK_FALSE(v.allow);
    CHECK(v.code == "proxy_type");
  }
  auto portless = parsePluginRequest(newProxy(kE1, "tcp", 0));
  REQUIRE(portless.request);
  CHECK_FALSE(needsPortLookup(*portless.request));
  CHECK(decidePlugin(*portless.request, holder("e1")).code == "no_remote_port");
}

TEST_CASE("frps plugin: unreadable requests and other ops are refused with a reason",
          "[dispatcher][frps-plugin]") {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "malformed"},
      {"not json", "malformed"},
      {"[]", "malformed"},
      {R"({"op":"Login"})", "malformed"},
      {R"({"op":"Login","content":[]})", "malformed"},
      {R"({"op":7,"content":{}})", "malformed"},
      {R"({"content":{}})", "malformed"},
      {R"({"op":"Ping","content":{}})", "unknown_op"},
      {R"({"op":"CloseProxy","content":{}})", "unknown_op"},
      {R"({"op":"NewProxy","content":{"user":{"metas":{"edgelink_edge":"e1"}}}})", "malformed"},
      {R"({"op":"NewProxy","content":{"proxy_name":"x","proxy_type":"tcp","remote_port":-1,)"
       R"("user":{"metas":{"edgelink_edge":"e1"}}}})",
       "malformed"},
      {R"({"op":"NewProxy","content":{"proxy_name":"x","proxy_type":"tcp","remote_port":"22",)"
       R"("user":{"metas":{"edgelink_edge":"e1"}}}})",
       "malformed"},
      {R"({"op":"NewProxy","content":{"proxy_name":"x","proxy_type":"tcp","remote_port":70000,)"
       R"("user":{"metas":{"edgelink_edge":"e1"}}}})",
       "malformed"},
      {std::string(kMaxPluginBodyBytes + 1, ' '), "malformed"},
      {std::string(60000, '['), "malformed"},
  };
  for (const auto& [body, code] : cases) {
    INFO(body.substr(0, 120));
    auto parsed = parsePluginRequest(body);
    CHECK_FALSE(parsed.request);
    CHECK_FALSE(parsed.rejected.allow);
    CHECK(parsed.rejected.code == code);
    CHECK_FALSE(parsed.rejected.reason.empty());
    CHECK(parsed.op == (body.find("\"NewProxy\"") != std::string::npos       ? "NewProxy"
                        : body.find("\"op\":\"Login\"") != std::string::npos ? "Login"
                                                                             : ""));
  }
  // A long hostile op is not echoed back.
  auto longOp = parsePluginRequest(R"({"op":")" + std::string(500, 'A') + R"(","content":{}})");
  CHECK(longOp.rejected.reason.size() < 100);
}

TEST_CASE("frps plugin: fuzzed requests never crash and are never allowed without facts",
          "[dispatcher][frps-plugin][fuzz]") {
  const std::string base = newProxy(kE1, "tcp", 31022);
  std::mt19937 rng(20261202);
  for (int i = 0; i < 3000; ++i) {
    std::string body = base;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < edits; ++k) {
      const size_t at = rng() % body.size();
      switch (rng() % 3) {
        case 0:
          body[at] = static_cast<char>(rng() % 256);
          break;
        case 1:
          body.erase(at, 1 + rng() % 8);
          break;
        default:
          body.insert(at, std::string(1 + rng() % 4, "{}[]\":,0"[rng() % 8]));
      }
      if (body.empty()) {
        body = "x";
      }
    }
    auto parsed = parsePluginRequest(body);
    if (parsed.request) {
      CHECK_FALSE(decidePlugin(*parsed.request, PluginFacts{}).allow);
    } else {
      CHECK_FALSE(parsed.rejected.allow);
    }
  }
}

TEST_CASE("frps plugin: the answers are frp's response shape", "[dispatcher][frps-plugin]") {
  rapidjson::Document allow;
  allow.Parse(pluginResponseJson(allowPlugin()).c_str());
  CHECK_FALSE(allow["reject"].GetBool());
  CHECK(allow["unchange"].GetBool());
  rapidjson::Document reject;
  reject.Parse(pluginResponseJson(rejectPlugin("no_session", "no \"session\"\n")).c_str());
  CHECK(reject["reject"].GetBool());
  CHECK(std::string(reject["reject_reason"].GetString()) == "no \"session\"\n");
}
