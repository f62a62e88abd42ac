// Web ssh's pure parts: the terminal WebSocket's control messages and status messages, and the
// dispatcher's known-hosts lines.
#include <rapidjson/document.h>

#include <catch2/catch.hpp>
#include <string>

#include "web/ssh_bridge.h"
#include "web/terminal.h"

using namespace edgelink;
using namespace edgelink::dispatcher::web;

namespace {

Error parseError(const std::string& text) {
  auto r = parseControlMessage(text);
  REQUIRE_FALSE(r.ok());
  return r.error();
}

}  // namespace

TEST_CASE("a start message with user, password and size", "[dispatcher][web][terminal]") {
  auto r = parseControlMessage(
      R"({"type":"start","user":"root","password":"pa\"ss wörd","cols":132,"rows":43})");
  REQUIRE(r.ok());
  auto* start = std::get_if<StartMessage>(&*r);
  REQUIRE(start != nullptr);
  CHECK(start->user == "root");
  REQUIRE(start->password.has_value());
  CHECK(*start->password == "pa\"ss wörd");
  CHECK(start->cols == 132);
  CHECK(start->rows == 43);
}

TEST_CASE("a start message without a password uses the deployment key",
          "[dispatcher][web][terminal]") {
  auto r = parseControlMessage(R"({"cols":80,"rows":24,"user":"ops-1.x_y","type":"start"})");
  REQUIRE(r.ok());
  auto& start = std::get<StartMessage>(*r);
  CHECK(start.user == "ops-1.x_y");
  CHECK_FALSE(start.password.has_value());
}

TEST_CASE("a resize message", "[dispatcher][web][terminal]") {
  auto r = parseControlMessage(R"({"type":"resize","cols":1000,"rows":1})");
  REQUIRE(r.ok());
  auto& resize = std::get<ResizeMessage>(*r);
  CHECK(resize.cols == 1000);
  CHECK(resize.rows == 1);
}

TEST_CASE("control messages that are not JSON objects are refused", "[dispatcher][web][terminal]") {
  CHECK_THAT(parseError("").message, Catch::Contains("not JSON"));
  CHECK_THAT(parseError("{").message, Catch::Contains("not JSON"));
  CHECK_THAT(parseError(R"({"type":"resize","cols":1,"rows":1} x)").message,
             Catch::Contains("not JSON"));
  CHECK_THAT(parseError("[1,2]").message, Catch::Contains("JSON object"));
  CHECK_THAT(parseError("\"start\"").message, Catch::Contains("JSON object"));
  // invalid UTF-8 in a string
  CHECK_THAT(parseError("{\"type\":\"start\",\"user\":\"r\xff\",\"cols\":1,\"rows\":1}").message,
             Catch::Contains("not JSON"));
  CHECK(parseError("{").status == Status::kBadRequest);
}

TEST_CASE("the type is required and must be start or resize", "[dispatcher][web][terminal]") {
  CHECK(parseError(R"({"cols":1,"rows":1})").field == "type");
  CHECK(parseError(R"({"type":1,"cols":1,"rows":1})").field == "type");
  auto e = parseError(R"({"type":"exec","cols":1,"rows":1})");
  CHECK(e.field == "type");
  CHECK_THAT(e.message, Catch::Contains("unknown control message type 'exec'"));
}

TEST_CASE("unknown and duplicate members are refused", "[dispatcher][web][terminal]") {
  auto e = parseError(R"({"type":"resize","cols":1,"rows":1,"user":"root"})");
  CHECK(e.field == "user");
  CHECK_THAT(e.message, Catch::Contains("unknown member"));
  CHECK(parseError(R"({"type":"start","user":"root","cols":1,"rows":1,"command":"id"})").field ==
        "command");
  auto d = parseError(R"({"type":"resize","cols":1,"cols":2,"rows":1})");
  CHECK(d.field == "cols");
  CHECK_THAT(d.message, Catch::Contains("duplicate"));
}

TEST_CASE("cols and rows are integers from 1 to 1000", "[dispatcher][web][terminal]") {
  CHECK(parseError(R"({"type":"resize","rows":1})").field == "cols");
  CHECK(parseError(R"({"type":"resize","cols":1})").field == "rows");
  CHECK(parseError(R"({"type":"resize","cols":0,"rows":1})").field == "cols");
  CHECK(parseError(R"({"type":"resize","cols":1001,"rows":1})").field == "cols");
  CHECK(parseError(R"({"type":"resize","cols":-5,"rows":1})").field == "cols");
  CHECK(parseError(R"({"type":"resize","cols":80.5,"rows":1})").field == "cols");
  CHECK(parseError(R"({"type":"resize","cols":"80","rows":1})").field == "cols");
  CHECK(parseError(R"({"type":"resize","cols":80,"rows":1e9})").field == "rows");
  CHECK(parseError(R"({"type":"resize","cols":80,"rows":4294967297})").field == "rows");
  CHECK_THAT(parseError(R"({"type":"resize","cols":80,"rows":0})").message,
             Catch::Contains("1 to 1000"));
}

TEST_CASE("the user name is checked", "[dispatcher][web][terminal]") {
  CHECK(parseError(R"({"type":"start","cols":1,"rows":1})").field == "user");
  CHECK(parseError(R"({"type":"start","user":null,"cols":1,"rows":1})").field == "user");
  CHECK(parseError(R"({"type":"start","user":"","cols":1,"rows":1})").field == "user");
  CHECK(parseError(R"({"type":"start","user":"-oProxyCommand","cols":1,"rows":1})").field ==
        "user");
  CHECK(parseError(R"({"type":"start","user":"root@host","cols":1,"rows":1})").field == "user");
  CHECK(parseError(R"({"type":"start","user":"a b","cols":1,"rows":1})").field == "user");
  CHECK(parseError("{\"type\":\"start\",\"user\":\"ro\\u0000ot\",\"cols\":1,\"rows\":1}").field ==
        "user");
  std::string longest(kMaxUserLength, 'u');
  CHECK(parseControlMessage(R"({"type":"start","user":")" + longest + R"(","cols":1,"rows":1})")
            .ok());
  CHECK(parseError(R"({"type":"start","user":")" + longest + R"(u","cols":1,"rows":1})").field ==
        "user");
}

TEST_CASE("the password is a string without NUL, at most 1024 bytes",
          "[dispatcher][web][terminal]") {
  CHECK(parseError(R"({"type":"start","user":"root","password":7,"cols":1,"rows":1})").field ==
        "password");
  CHECK(parseError(R"({"type":"start","user":"root","password":"a\u0000b","cols":1,"rows":1})")
            .field == "password");
  std::string longest(kMaxPasswordLength, 'p');
  CHECK(parseControlMessage(R"({"type":"start","user":"root","password":")" + longest +
                            R"(","cols":1,"rows":1})")
            .ok());
  auto e = parseError(R"({"type":"start","user":"root","password":")" + longest +
                      R"(p","cols":1,"rows":1})");
  CHECK(e.field == "password");
  // The password is never echoed in an error.
  CHECK(e.message.find("pppp") == std::string::npos);
}

TEST_CASE("a control message larger than 4096 bytes is refused as too large",
          "[dispatcher][web][terminal]") {
  std::string padded = R"({"type":"resize","cols":1,"rows":1})";
  padded += std::string(kMaxControlMessageBytes - padded.size(), ' ');
  CHECK(parseControlMessage(padded).ok());
  auto e = parseError(padded + " ");
  CHECK(e.status == Status::kTooLarge);
  CHECK_THAT(e.message, Catch::Contains("4096"));
}

TEST_CASE("status messages are JSON with type, state and an escaped message",
          "[dispatcher][web][terminal]") {
  std::string text = statusMessage(TerminalState::kClosed, "session 7 \"ended\"\n");
  rapidjson::Document doc;
  doc.Parse(text.c_str());
  REQUIRE(doc.IsObject());
  CHECK(doc.MemberCount() == 3);
  CHECK(std::string(doc["type"].GetString()) == "status");
  CHECK(std::string(doc["state"].GetString()) == "closed");
  CHECK(std::string(doc["message"].GetString()) == "session 7 \"ended\"\n");
  CHECK(statusMessage(TerminalState::kConnecting, "x") ==
        R"({"type":"status","state":"connecting","message":"x"})");
  CHECK(statusMessage(TerminalState::kConnected, "") ==
        R"({"type":"status","state":"connected","message":""})");
}

TEST_CASE("known-hosts lines are found by exact name", "[dispatcher][web][ssh]") {
  std::string text =
      "# the dispatcher's pinned host keys\n"
      "edge:e1 ssh-ed25519 AAAAkey1\n"
      "edge:e10 ssh-ed25519 AAAAkey10\n"
      "\n"
      "[127.0.0.1]:2222,edge:e2 ecdsa-sha2-nistp256 AAAAkey2 comment here\n"
      "@revoked edge:e1 ssh-ed25519 AAAArevoked\n"
      "|1|hashed= ssh-ed25519 AAAAhashed\n"
      "broken-line-without-key\n"
      "edge:e1 ssh-rsa AAAArsa1\n";
  auto e1 = knownHostKeys(text, "edge:e1");
  REQUIRE(e1.size() == 2);
  CHECK(e1[0] == KnownHostKey{"ssh-ed25519", "AAAAkey1"});
  CHECK(e1[1] == KnownHostKey{"ssh-rsa", "AAAArsa1"});
  auto e2 = knownHostKeys(text, "edge:e2");
  REQUIRE(e2.size() == 1);
  CHECK(e2[0] == KnownHostKey{"ecdsa-sha2-nistp256", "AAAAkey2"});
  CHECK(knownHostKeys(text, "[127.0.0.1]:2222").size() == 1);
  CHECK(knownHostKeys(text, "edge:e").empty());
  CHECK(knownHostKeys(text, "e1").empty());
  CHECK(knownHostKeys("", "edge:e1").empty());
  CHECK(knownHostLine("edge:e3", {"ssh-ed25519", "AAAAx"}) == "edge:e3 ssh-ed25519 AAAAx");
  CHECK(knownHostKeys(knownHostLine("edge:e3", {"ssh-ed25519", "AAAAx"}), "edge:e3").size() == 1);
}

TEST_CASE("host key policies by name", "[dispatcher][web][ssh]") {
  CHECK(parseHostKeyPolicy("strict") == HostKeyPolicy::kStrict);
  CHECK(parseHostKeyPolicy("accept-new") == HostKeyPolicy::kAcceptNew);
  CHECK_FALSE(parseHostKeyPolicy("yes").has_value());
  CHECK(std::string(hostKeyPolicyName(HostKeyPolicy::kStrict)) == "strict");
  CHECK(std::string(hostKeyPolicyName(HostKeyPolicy::kAcceptNew)) == "accept-new");
}

TEST_CASE("the session id in a terminal path", "[dispatcher][web][terminal]") {
  CHECK(terminalSessionId("/api/v1/sessions/7/terminal") == 7);
  CHECK(terminalSessionId("/api/v1/sessions/9223372036854775807/terminal") == INT64_MAX);
  CHECK_FALSE(terminalSessionId("/api/v1/sessions/9223372036854775808/terminal"));
  CHECK_FALSE(terminalSessionId("/api/v1/sessions/99999999999999999999/terminal"));
  CHECK_FALSE(terminalSessionId("/api/v1/sessions//terminal"));
  CHECK_FALSE(terminalSessionId("/api/v1/sessions/0/terminal"));
  CHECK_FALSE(terminalSessionId("/api/v1/sessions/07/terminal"));
  CHECK_FALSE(terminalSessionId("/api/v1/sessions/-7/terminal"));
  CHECK_FALSE(terminalSessionId("/api/v1/sessions/+7/terminal"));
  CHECK_FALSE(terminalSessionId("/api/v1/sessions/7x/terminal"));
  CHECK_FALSE(terminalSessionId("/api/v1/sessions/7/terminal/"));
  CHECK_FALSE(terminalSessionId("/api/v1/sessions/7/8/terminal"));
  CHECK_FALSE(terminalSessionId("/api/v1/sessions/7"));
  CHECK_FALSE(terminalSessionId("/api/v2/sessions/7/terminal"));
  CHECK_FALSE(terminalSessionId(""));
}
