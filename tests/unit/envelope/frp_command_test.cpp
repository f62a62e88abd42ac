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
