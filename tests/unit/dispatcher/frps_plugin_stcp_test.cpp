// frps's server plugin and stcp sessions, decided: an agent's stcp proxy only for a service of its
// edge's live stcp session; a maintainer's visitor logs in only with the proof of a live stcp
// session of the edge it names (the proof checked against vectors computed apart, with Python's
// hmac), and registers no proxy. Requests are shaped as frp v0.70.1 sends them.
#include <catch2/catch.hpp>

#include "cli/visitor.h"
#include "domain/frps_plugin.h"

using namespace edgelink::dispatcher;

namespace {

const std::string kSecret = "s3cr3t-0123456789abcdefghijklmnopqrstuvwxyz_";
// python3 -c 'import hmac,hashlib,base64; print(base64.urlsafe_b64encode(hmac.new(
//   b"s3cr3t-0123456789abcdefghijklmnopqrstuvwxyz_", b"edgelink-visitor-v1\ne1\n42",
//   hashlib.sha256).digest()).rstrip(b"=").decode())'
const std::string kProof42 = "jXYj4dJumUtvF4kUDQeX-AZXQJm4bowLc7pLSQ_fBUM";
// The same for session 43.
const std::string kProof43 = "spo-kj4jCAkkwKg5lWqM22NAl4_f8QYs-Yk0WgbTvwQ";

std::string login(const std::string& metas) {
  return R"({"version":"0.1.0","op":"Login","content":{"version":"0.70.1","hostname":"",)"
         R"("os":"linux","arch":"amd64","user":"","privilege_key":"0123abcd","timestamp":1,)"
         R"("run_id":"r1","pool_count":1,"metas":)" +
         metas + R"(,"client_address":"127.0.0.1:5000"}})";
}

std::string visitorMetas(const std::string& edge, const std::string& session,
                         const std::string& proof) {
  return R"({"edgelink_edge":")" + edge + R"(","edgelink_session":")" + session +
         R"(","edgelink_proof":")" + proof + "\"}";
}

std::string stcpProxy(const std::string& name,
                      const std::string& userMetas = R"({"edgelink_edge":"e1"})",
                      const std::string& type = "stcp") {
  return R"({"version":"0.1.0","op":"NewProxy","content":{"user":{"user":"","metas":)" + userMetas +
         R"(,"run_id":"r1"},"proxy_name":")" + name + R"(","proxy_type":")" + type +
         R"(","sk":"x","metas":{"edgelink_edge":"e1"}}})";
}

PluginRequest parsed(const std::string& body) {
  ParsedPluginRequest p = parsePluginRequest(body);
  INFO(p.rejected.code << ": " << p.rejected.reason);
  REQUIRE(p.request);
  return *p.request;
}

SessionFacts session(const std::string& edge, const std::string& mode = "stcp",
                     const std::string& state = "active", const std::string& id = "42") {
  return SessionFacts{id, edge, state, mode, {"fcc_web", "ssh"}, mode == "stcp" ? kSecret : ""};
}

PluginFacts live(const SessionFacts& s) {
  PluginFacts f;
  f.liveSession = s;
  return f;
}

PluginFacts visited(const SessionFacts& s) {
  PluginFacts f;
  f.visitorSession = s;
  return f;
}

}  // namespace

TEST_CASE("visitor proof: HMAC-SHA256 of the session keyed with its secret, base64url",
          "[dispatcher][frps-plugin][stcp]") {
  // Vectors from Python's hmac (see kProof42), not from this code.
  CHECK(visitorProof("k", "e1", "7") == "o1XlJgqU6QlHItxMryvi6jV6LSq1wugJyCRbGxmnVQQ");
  CHECK(visitorProof("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "elevator-0042", "12") ==
        "ZNxDSvS_VyC7F73Qrvf3o0Kz-PXuy8CrLOkIqLxAt-s");
  CHECK(visitorProof(kSecret, "e1", "42") == kProof42);
  CHECK(visitorProof(kSecret, "e1", "43") == kProof43);
  CHECK(visitorProof(kSecret, "e1", "42") != kSecret);
  CHECK(visitorProofMatches(kProof42, kSecret, "e1", "42"));
  CHECK_FALSE(visitorProofMatches(kProof43, kSecret, "e1", "42"));
  CHECK_FALSE(visitorProofMatches(kProof42, kSecret, "e2", "42"));
  CHECK_FALSE(visitorProofMatches(kProof42.substr(1), kSecret, "e1", "42"));
  CHECK_FALSE(visitorProofMatches(kProof42 + "A", kSecret, "e1", "42"));
  CHECK_FALSE(visitorProofMatches(kSecret, kSecret, "e1", "42"));
  CHECK_FALSE(visitorProofMatches(visitorProof("", "e1", "42"), "", "e1", "42"));
}

TEST_CASE("frps plugin: an stcp proxy is allowed for a service of its edge's live stcp session",
          "[dispatcher][frps-plugin][stcp]") {
  PluginRequest r = parsed(stcpProxy("e1.ssh"));
  CHECK_FALSE(r.visitor);
  CHECK(needsLiveSessionLookup(r));
  CHECK_FALSE(needsPortLookup(r));
  CHECK_FALSE(needsEdgeLookup(r));
  CHECK_FALSE(needsVisitorSessionLookup(r));
  CHECK(decidePlugin(r, live(session("e1"))).allow);
  CHECK(decidePlugin(r, live(session("e1", "stcp", "opening"))).allow);
  CHECK(decidePlugin(parsed(stcpProxy("e1.fcc_web")), live(session("e1"))).allow);
  CHECK(proxyService("e1", "e1.ssh") == "ssh");
  CHECK(proxyService("e1", "e1.") == "");
  CHECK(proxyService("e1", "e10.ssh") == "");
  CHECK(proxyService("e1", "e2.ssh") == "");
  // A tcp proxy never needs the stcp lookup.
  CHECK_FALSE(
      needsLiveSessionLookup(parsed(stcpProxy("e1.ssh", R"({"edgelink_edge":"e1"})", "tcp"))));
}

TEST_CASE(
    "frps plugin: an stcp proxy without a live stcp session of its edge and service is "
    "refused",
    "[dispatcher][frps-plugin][stcp]") {
  PluginRequest r = parsed(stcpProxy("e1.ssh"));
  PluginVerdict none = decidePlugin(r, PluginFacts{});
  CHECK_FALSE(none.allow);
  CHECK(none.code == "no_stcp_session");
  CHECK_THAT(none.reason, Catch::Contains("edge e1 has no live stcp session"));

  PluginVerdict ended = decidePlugin(r, live(session("e1", "stcp", "closed")));
  CHECK(ended.code == "no_stcp_session");
  CHECK(decidePlugin(r, live(session("e1", "stcp", "failed"))).code == "no_stcp_session");

  PluginVerdict tcp = decidePlugin(r, live(session("e1", "tcp")));
  CHECK_FALSE(tcp.allow);
  CHECK(tcp.code == "no_stcp_session");
  CHECK_THAT(tcp.reason, Catch::Contains("is tcp, not stcp"));

  PluginVerdict other = decidePlugin(r, live(session("e2")));
  CHECK_FALSE(other.allow);
  CHECK(other.code == "other_edge");
  CHECK_THAT(other.reason, !Catch::Contains("e2"));

  PluginVerdict unknown = decidePlugin(parsed(stcpProxy("e1.rdp")), live(session("e1")));
  CHECK_FALSE(unknown.allow);
  CHECK(unknown.code == "unknown_service");
  CHECK_THAT(unknown.reason, Catch::Contains("does not include service rdp"));

  for (const char* name : {"e2.ssh", "ssh", "e1.", "e10.ssh", "e1"}) {
    INFO(name);
    PluginVerdict v = decidePlugin(parsed(stcpProxy(name)), live(session("e1")));
    CHECK_FALSE(v.allow);
    CHECK(v.code == "proxy_name");
  }
  // Other types stay refused, whatever the session.
  for (const char* type : {"xtcp", "sudp", "udp"}) {
    PluginVerdict v = decidePlugin(parsed(stcpProxy("e1.ssh", R"({"edgelink_edge":"e1"})", type)),
                                   live(session("e1")));
    CHECK(v.code == "proxy_type");
  }
}

TEST_CASE("frps plugin: a visitor registers no proxy", "[dispatcher][frps-plugin][stcp]") {
  for (const char* type : {"stcp", "tcp"}) {
    PluginRequest r = parsed(stcpProxy("e1.ssh", visitorMetas("e1", "42", kProof42), type));
    CHECK(r.visitor);
    CHECK(r.sessionId == "42");
    CHECK_FALSE(needsLiveSessionLookup(r));
    CHECK_FALSE(needsPortLookup(r));
    PluginFacts all = live(session("e1"));
    all.portHolder = PortHolder{"e1", "active", "ssh"};
    PluginVerdict v = decidePlugin(r, all);
    CHECK_FALSE(v.allow);
    CHECK(v.code == "visitor_proxy");
    CHECK_THAT(v.reason, Catch::Contains("visitors register no proxies"));
  }
  // Without its proof too: the session meta alone makes a client a visitor.
  PluginRequest bare =
      parsed(stcpProxy("e1.ssh", R"({"edgelink_edge":"e1","edgelink_session":"42"})"));
  CHECK(decidePlugin(bare, live(session("e1"))).code == "visitor_proxy");
}

TEST_CASE("frps plugin: a visitor logs in with its live stcp session's proof",
          "[dispatcher][frps-plugin][stcp]") {
  PluginRequest r = parsed(login(visitorMetas("e1", "42", kProof42)));
  CHECK(r.visitor);
  CHECK(r.sessionId == "42");
  CHECK(r.proof == kProof42);
  CHECK(needsVisitorSessionLookup(r));
  CHECK_FALSE(needsEdgeLookup(r));
  CHECK(decidePlugin(r, visited(session("e1"))).allow);
  CHECK(decidePlugin(r, visited(session("e1", "stcp", "opening"))).allow);
  // An agent's login is unchanged: no session lookup, the edge must be known.
  PluginRequest agent = parsed(login(R"({"edgelink_edge":"e1"})"));
  CHECK_FALSE(agent.visitor);
  CHECK_FALSE(needsVisitorSessionLookup(agent));
  CHECK(needsEdgeLookup(agent));
}

TEST_CASE(
    "frps plugin: a visitor login without the right proof of a live stcp session of its "
    "edge is refused, and the reason holds neither secret nor proof",
    "[dispatcher][frps-plugin][stcp]") {
  struct Case {
    const char* what;
    std::string metas;
    PluginFacts facts;
    const char* code;
  };
  std::string altered = kProof42;
  altered[10] = altered[10] == 'A' ? 'B' : 'A';
  const std::vector<Case> cases = {
      {"wrong proof", visitorMetas("e1", "42", altered), visited(session("e1")), "bad_proof"},
      {"another session's proof", visitorMetas("e1", "42", kProof43), visited(session("e1")),
       "bad_proof"},
      {"the secret as proof", visitorMetas("e1", "42", kSecret), visited(session("e1")),
       "bad_proof"},
      {"no such session", visitorMetas("e1", "42", kProof42), PluginFacts{}, "no_stcp_session"},
      {"another session", visitorMetas("e1", "42", kProof42),
       visited(session("e1", "stcp", "active", "43")), "no_stcp_session"},
      {"another edge's session", visitorMetas("e1", "42", kProof42), visited(session("e2")),
       "no_stcp_session"},
      {"closed session", visitorMetas("e1", "42", kProof42),
       visited(session("e1", "stcp", "closed")), "no_stcp_session"},
      {"failed session", visitorMetas("e1", "42", kProof42),
       visited(session("e1", "stcp", "failed")), "no_stcp_session"},
      {"tcp session", visitorMetas("e1", "42", kProof42), visited(session("e1", "tcp")),
       "no_stcp_session"},
      {"missing proof", R"({"edgelink_edge":"e1","edgelink_session":"42"})", visited(session("e1")),
       "no_proof"},
      {"empty proof", visitorMetas("e1", "42", ""), visited(session("e1")), "no_proof"},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    PluginRequest r = parsed(login(c.metas));
    PluginVerdict v = decidePlugin(r, c.facts);
    CHECK_FALSE(v.allow);
    CHECK(v.code == c.code);
    CHECK_FALSE(v.reason.empty());
    CHECK_THAT(v.reason, !Catch::Contains(kSecret));
    CHECK_THAT(v.reason, !Catch::Contains(kProof42));
    CHECK_THAT(v.reason, !Catch::Contains(kProof43));
  }
  CHECK_FALSE(needsVisitorSessionLookup(parsed(login(visitorMetas("e1", "42", "")))));
}

TEST_CASE("frps plugin: unreadable visitor metadata is refused",
          "[dispatcher][frps-plugin][stcp]") {
  for (const std::string& metas :
       {visitorMetas("e1", "042", kProof42), visitorMetas("e1", "4x", kProof42),
        visitorMetas("e1", "", kProof42), visitorMetas("e1", "1234567890123456789", kProof42),
        std::string(R"({"edgelink_edge":"e1","edgelink_session":42})"),
        std::string(R"({"edgelink_edge":"e1","edgelink_proof":"x"})")}) {
    INFO(metas);
    ParsedPluginRequest p = parsePluginRequest(login(metas));
    CHECK_FALSE(p.request);
    CHECK(p.rejected.code == "malformed");
    CHECK(p.op == "Login");
  }
}

TEST_CASE("the printed visitor config carries the edge, the session and its proof",
          "[dispatcher][frps-plugin][stcp]") {
  VisitorSettings vs;
  vs.frpsHost = "frps.example.com";
  const std::string c = visitorConfig(vs, "e1", 42, {{"ssh", 0}}, kSecret);
  CHECK_THAT(c, Catch::Contains("metadatas.edgelink_edge = \"e1\"\n"
                                "metadatas.edgelink_session = \"42\"\n"
                                "metadatas.edgelink_proof = \"" +
                                kProof42 + "\"\n"));
  // Top-level keys: before the first [[visitors]] table.
  CHECK(c.find("metadatas.edgelink_proof") < c.find("[[visitors]]"));
}
