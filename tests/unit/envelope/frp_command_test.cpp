#include "envelope/frp_command.h"

#include <catch2/catch.hpp>

#include "envelope/envelope.h"
#include "envelope/types.h"

using namespace edgelink;
using namespace edgelink::envelope;

namespace {
Envelope decodeOk(const std::string& text) {
  Decoder d;
  auto r = d.decode(text);
  if (!r) {
    FAIL(r.error().describe());
  }
  return std::move(r).value();
}
}  // namespace

TEST_CASE("legacy start reads ports by their fixed fields and the auto-stop", "[frp]") {
  auto req = decodeOk(
      R"({"request":{"id":111,"sender":"web_backend","timestamp":0,"type":"change_frp_client_config","body":[{"edge_ssh_remote_port":3997,"edge_fcc_web_config_page_remote_port":3998, "camera_admin_web_page_remote_port":3999,"auto_stop_service_in":3600}],"actions":[{"name":"start_frp_client_service"}]}})");
  auto cmd = readFrpCommand(req);
  REQUIRE(cmd.ok());
  CHECK(cmd->action == FrpAction::kStart);
  CHECK(cmd->services ==
        std::map<std::string, uint16_t>{{"ssh", 3997}, {"fcc_web", 3998}, {"camera_admin", 3999}});
  CHECK(cmd->autoStopSeconds == 3600);
}

TEST_CASE("legacy stop needs no ports", "[frp]") {
  auto req = decodeOk(
      R"({"request":{"id":1,"sender":"w","timestamp":0,"type":"change_frp_client_config","body":{},"actions":[{"name":"stop_frp_client_service"}]}})");
  auto cmd = readFrpCommand(req);
  REQUIRE(cmd.ok());
  CHECK(cmd->action == FrpAction::kStop);
}

TEST_CASE("a legacy start without any port is a 400 naming the body", "[frp]") {
  auto req = decodeOk(
      R"({"request":{"id":1,"sender":"w","timestamp":0,"type":"change_frp_client_config","body":{"auto_stop_service_in":60,"actions":[{"name":"start_frp_client_service"}]}}})");
  auto cmd = readFrpCommand(req);
  REQUIRE_FALSE(cmd.ok());
  CHECK(cmd.error().status == Status::kBadRequest);
  CHECK(cmd.error().field == "request.body");
  CHECK_THAT(cmd.error().message, Catch::Contains("edge_ssh_remote_port"));
}

TEST_CASE("one port given to two services is a 400", "[frp]") {
  auto req = decodeOk(
      R"({"request":{"id":1,"sender":"w","timestamp":0,"type":"frp_start","body":{"services":{"ssh":4000,"fcc_web":4000}}}})");
  auto cmd = readFrpCommand(req);
  REQUIRE_FALSE(cmd.ok());
  CHECK_THAT(cmd.error().message, Catch::Contains("port 4000 is given to both"));
}

TEST_CASE("canonical start and stop", "[frp]") {
  auto start = decodeOk(
      R"({"request":{"id":"a","sender":"w","timestamp":0,"type":"frp_start","body":{"services":{"ssh":31022,"plc_web":31025},"auto_stop_seconds":900}}})");
  auto cmd = readFrpCommand(start);
  REQUIRE(cmd.ok());
  CHECK(cmd->services.at("plc_web") == 31025);
  CHECK(cmd->autoStopSeconds == 900);
  auto stop = decodeOk(R"({"request":{"id":"b","sender":"w","timestamp":0,"type":"frp_stop"}})");
  CHECK(readFrpCommand(stop)->action == FrpAction::kStop);
  auto ping = decodeOk(R"({"request":{"id":"c","sender":"w","timestamp":0,"type":"ping"}})");
  CHECK_FALSE(readFrpCommand(ping).ok());
}

TEST_CASE("written bodies decode back to the same command in both formats", "[frp]") {
  FrpCommand cmd;
  cmd.services = {{"ssh", 31022}, {"camera_admin", 31024}};
  cmd.autoStopSeconds = 1800;
  for (bool legacyFormat : {true, false}) {
    INFO(legacyFormat);
    auto req = Envelope::request(
        Id::generate(), "cloud_dispatcher", 0,
        legacyFormat ? request_type::kChangeFrpClientConfig : request_type::kFrpStart);
    if (legacyFormat) {
      REQUIRE(writeLegacyFrpBody(req, cmd).ok());
    } else {
      writeCanonicalFrpBody(req, cmd);
    }
    auto back = decodeOk(encode(req));
    auto read = readFrpCommand(back);
    REQUIRE(read.ok());
    CHECK(read->services == cmd.services);
    CHECK(read->autoStopSeconds == cmd.autoStopSeconds);
  }
}

TEST_CASE("the legacy format cannot carry services beyond its three fields", "[frp]") {
  FrpCommand cmd;
  cmd.services = {{"plc_web", 31030}};
  auto req = Envelope::request(Id::generate(), "d", 0, request_type::kChangeFrpClientConfig);
  auto r = writeLegacyFrpBody(req, cmd);
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error().message, Catch::Contains("plc_web"));
}

namespace {
const char* const kSecret = "q3Jx0m8ZbV2yH7tWn4cLr9sKd1fG6pAe5uQiOzXjB-_";

Result<FrpCommand> readStart(const std::string& body) {
  Decoder d;
  auto r =
      d.decode(R"({"request":{"id":"s","sender":"w","timestamp":0,"type":"frp_start","body":)" +
               body + "}}");
  if (!r) {
    return r.error().toError();  // the schemas refused it
  }
  return readFrpCommand(*r);
}
}  // namespace

TEST_CASE("an stcp start reads its service names and secret, with no ports", "[frp][stcp]") {
  auto cmd = readStart(std::string(R"({"mode":"stcp","secret_key":")") + kSecret +
                       R"(","services":["ssh","fcc_web"],"auto_stop_seconds":600})");
  REQUIRE(cmd.ok());
  CHECK(cmd->mode == FrpMode::kStcp);
  CHECK(cmd->secretKey == kSecret);
  CHECK(cmd->services == std::map<std::string, uint16_t>{{"fcc_web", 0}, {"ssh", 0}});
  CHECK(cmd->autoStopSeconds == 600);
  // mode tcp, spelled out or not, is the port map as before.
  auto tcp = readStart(R"({"mode":"tcp","services":{"ssh":31022}})");
  REQUIRE(tcp.ok());
  CHECK(tcp->mode == FrpMode::kTcp);
  CHECK(tcp->secretKey.empty());
}

TEST_CASE("stcp and tcp starts refuse each other's shapes, naming the field", "[frp][stcp]") {
  const std::string secret = kSecret;
  struct Case {
    std::string body;
    std::string field;
  };
  for (const auto& c : std::vector<Case>{
           {R"({"mode":"stcp","services":["ssh"]})", "request.body.secret_key"},
           {R"({"mode":"stcp","secret_key":")" + secret + R"(","services":{"ssh":31022}})",
            "request.body.services"},
           {R"({"services":{"ssh":31022},"secret_key":")" + secret + "\"}",
            "request.body.secret_key"},
           {R"({"services":["ssh"]})", "request.body.services"},
           {R"({"mode":"stcp","secret_key":"short","services":["ssh"]})",
            "request.body.secret_key"},
           {R"({"mode":"stcp","secret_key":")" + secret + R"(","services":["ssh","ssh"]})",
            "request.body.services"},
           {R"({"mode":"udp","services":{"ssh":31022}})", "request.body.mode"}}) {
    INFO(c.body);
    auto r = readStart(c.body);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().status == Status::kBadRequest);
    CHECK(r.error().field == c.field);
    // The secret is never quoted back.
    CHECK_THAT(r.error().message, !Catch::Contains(secret));
  }
}

TEST_CASE("an stcp start round-trips through the canonical body, never the legacy one",
          "[frp][stcp]") {
  FrpCommand cmd;
  cmd.mode = FrpMode::kStcp;
  cmd.secretKey = kSecret;
  cmd.services = {{"ssh", 0}, {"camera_admin", 0}};
  cmd.autoStopSeconds = 900;
  auto req = Envelope::request(Id::generate(), "cloud_dispatcher", 0, request_type::kFrpStart);
  writeCanonicalFrpBody(req, cmd);
  auto back = readFrpCommand(decodeOk(encode(req)));
  REQUIRE(back.ok());
  CHECK(back->mode == FrpMode::kStcp);
  CHECK(back->secretKey == cmd.secretKey);
  CHECK(back->services == cmd.services);
  CHECK(back->autoStopSeconds == 900);
  auto legacy = Envelope::request(Id::generate(), "d", 0, request_type::kChangeFrpClientConfig);
  auto r = writeLegacyFrpBody(legacy, cmd);
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error().message, Catch::Contains("stcp"));
}
