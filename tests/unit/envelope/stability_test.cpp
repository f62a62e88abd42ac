// Pins the names on the wire. A failure here means deployed agents or web backends break:
// change the protocol on purpose (and docs/PROTOCOL.md), never by accident.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "envelope/envelope.h"
#include "envelope/types.h"

using namespace edgelink::envelope;

TEST_CASE("request, event and stop-reason names are stable", "[stability]") {
  CHECK(std::strcmp(request_type::kChangeFrpClientConfig, "change_frp_client_config") == 0);
  CHECK(std::strcmp(request_type::kFrpStart, "frp_start") == 0);
  CHECK(std::strcmp(request_type::kFrpStop, "frp_stop") == 0);
  CHECK(std::strcmp(request_type::kFrpStatus, "frp_status") == 0);
  CHECK(std::strcmp(request_type::kSystemInfo, "system_info") == 0);
  CHECK(std::strcmp(request_type::kPing, "ping") == 0);
  CHECK(std::strcmp(event_type::kAgentStarted, "agent_started") == 0);
  CHECK(std::strcmp(event_type::kAgentStopping, "agent_stopping") == 0);
  CHECK(std::strcmp(event_type::kHeartbeat, "heartbeat") == 0);
  CHECK(std::strcmp(event_type::kFrpStarted, "frp_started") == 0);
  CHECK(std::strcmp(event_type::kFrpStopped, "frp_stopped") == 0);
  CHECK(std::strcmp(stop_reason::kRequested, "requested") == 0);
  CHECK(std::strcmp(stop_reason::kAutoStop, "auto_stop") == 0);
  CHECK(std::strcmp(stop_reason::kExitedUnexpectedly, "exited_unexpectedly") == 0);
  CHECK(std::strcmp(stop_reason::kAgentShutdown, "agent_shutdown") == 0);
  CHECK(std::strcmp(stop_reason::kExpiredWhileDown, "expired_while_down") == 0);
  CHECK(std::strcmp(legacy::kActionStart, "start_frp_client_service") == 0);
  CHECK(std::strcmp(legacy::kActionStop, "stop_frp_client_service") == 0);
  CHECK(std::strcmp(legacy::kPortFields[0].field, "edge_ssh_remote_port") == 0);
  CHECK(std::strcmp(legacy::kPortFields[1].field, "edge_fcc_web_config_page_remote_port") == 0);
  CHECK(std::strcmp(legacy::kPortFields[2].field, "camera_admin_web_page_remote_port") == 0);
  CHECK(std::strcmp(legacy::kAutoStopField, "auto_stop_service_in") == 0);
  CHECK(std::strcmp(kStatusSucceed, "Succeed") == 0);
}

TEST_CASE("the request outcomes counted in heartbeats are stable", "[stability]") {
  CHECK(std::strcmp(request_outcome::kOk, "ok") == 0);
  CHECK(std::strcmp(request_outcome::kRejected, "rejected") == 0);
  CHECK(std::strcmp(request_outcome::kStale, "stale") == 0);
  CHECK(std::strcmp(request_outcome::kFailed, "failed") == 0);
  CHECK(std::strcmp(request_outcome::kRedelivered, "redelivered") == 0);
}

TEST_CASE("the canonical encoding of each kind is stable", "[stability]") {
  auto req = Envelope::request(Id::number(7), "web_backend", 1795248000000, "ping", "d");
  CHECK(
      encode(req) ==
      R"({"request":{"id":7,"sender":"web_backend","timestamp":"2026-11-21T08:00:00.000Z","description":"d","type":"ping","body":{}}})");
  auto resp = Envelope::response(req, "edge_board", 1795248000001, 404, "unknown type");
  CHECK(
      encode(resp) ==
      R"({"response":{"id":7,"sender":"edge_board","timestamp":"2026-11-21T08:00:00.001Z","description":"unknown type","type":"ping","overall_status_code":"404","overall_status":"Failed","body":{}}})");
  auto expiring = Envelope::request(Id::text("x"), "cloud_dispatcher", 1795248000000, "ping");
  expiring.expiresAtMs = 1795248030000;
  CHECK(
      encode(expiring) ==
      R"({"request":{"id":"x","sender":"cloud_dispatcher","timestamp":"2026-11-21T08:00:00.000Z","expires_at":"2026-11-21T08:00:30.000Z","description":"","type":"ping","body":{}}})");
  auto toCloud = Envelope::request(Id::text("c"), "edge_board", 1795248000000, "get_config");
  toCloud.recipient = kRecipientCloud;
  CHECK(
      encode(toCloud) ==
      R"({"request":{"id":"c","sender":"edge_board","timestamp":"2026-11-21T08:00:00.000Z","recipient":"cloud","description":"","type":"get_config","body":{}}})");
  Decoder decoder;
  auto back = decoder.decode(encode(toCloud));
  REQUIRE(back);
  CHECK(back->recipient == "cloud");
  CHECK(back->clone().recipient == "cloud");
  auto toEdge = decoder.decode(encode(req));
  REQUIRE(toEdge);
  CHECK(toEdge->recipient.empty());
  auto ev = Envelope::event(Id::text("e"), "edge_board", 0, "agent_stopping");
  CHECK(
      encode(ev) ==
      R"({"event":{"id":"e","sender":"edge_board","timestamp":"1970-01-01T00:00:00.000Z","description":"","type":"agent_stopping","body":{}}})");
}

TEST_CASE("isTypeName, the one type-name check, agrees with the schemas' typeName", "[stability]") {
  Decoder decoder;
  for (const std::string& type : std::vector<std::string>{
           "ping", "a", "a.b_c9", "x.y.z_1", std::string(64, 'a'), std::string(65, 'a'), "", "Ping",
           "9a", "a-b", "a b", "_a", "\u00e9t\u00e9"}) {
    INFO(type);
    const std::string text =
        R"({"request":{"id":"1","sender":"s","timestamp":"2026-11-21T08:00:00.000Z","type":")" +
        type + R"(","body":{}}})";
    auto decoded = decoder.decode(text);
    CHECK(decoded.ok() == isTypeName(type));
  }
}

TEST_CASE("a long number survives re-encoding to its last digits", "[stability]") {
  // Found by fuzzing (tests/fuzz/regressions/envelope/long-number-reencoded): RapidJSON's parser
  // is exact to 15 significant digits, so 999999999999919829e9 decodes one ulp off the value its
  // shortest encoding names. Its full-precision mode is not used: undefined behaviour in Debian
  // 12's RapidJSON 1.1.0 (tests/fuzz/regressions/envelope/long-zero-fraction).
  Decoder decoder;
  for (const char* number :
       {"999999999999919829e9", "9.999999999999199e26", "0.1000000000000000055511151231257827",
        "123456789012345678901234", "0.0000000000000000000000000"}) {
    const std::string text =
        std::string(R"({"request":{"id":113,"sender":"web_backend",)") +
        R"("timestamp":"2026-11-21T08:00:00.000Z","type":"change_frp_client_config",)" +
        R"("body":[{"edge_ssh_remote_port":3997,"auto_stop_service_in":)" + number +
        R"(}],"actions":[{"name":"start_frp_client_service"}]}})";
    auto first = decoder.decode(text);
    REQUIRE(first);
    const std::string canonical = encode(*first);
    auto again = decoder.decode(canonical);
    REQUIRE(again);
    const std::string reencoded = encode(*again);
    const std::string key = "\"auto_stop_service_in\":";
    REQUIRE(canonical.find(key) != std::string::npos);
    REQUIRE(reencoded.find(key) != std::string::npos);
    const double x = std::strtod(canonical.c_str() + canonical.find(key) + key.size(), nullptr);
    const double y = std::strtod(reencoded.c_str() + reencoded.find(key) + key.size(), nullptr);
    CHECK(std::fabs(x - y) <= 1e-14 * std::fabs(x));
    CHECK(std::fabs(x - std::strtod(number, nullptr)) <= 1e-14 * std::fabs(x));
    CHECK(reencoded.substr(0, reencoded.find(key)) == canonical.substr(0, canonical.find(key)));
  }
}
