#include "envelope/envelope.h"

#include <catch2/catch.hpp>
#include <set>

#include "envelope/types.h"
#include "jsonschema/json_util.h"

using namespace edgelink;
using namespace edgelink::envelope;

namespace {
Envelope decodeOk(Decoder& d, const std::string& text) {
  auto r = d.decode(text);
  if (!r) {
    FAIL("decode failed: " << r.error().describe());
  }
  return std::move(r).value();
}
}  // namespace

TEST_CASE("the original design's example decodes to the canonical form", "[envelope]") {
  Decoder d;
  // Verbatim from the original design, the missing comma fixed, with a real timestamp.
  auto e = decodeOk(
      d,
      R"({"request":{"id":111,"sender":"web_backend","timestamp":"2026-11-21T08:00:00.000Z","description":"setup and start frp","type":"change_frp_client_config","body":[{"edge_ssh_remote_port":3997,"edge_fcc_web_config_page_remote_port":3998, "camera_admin_web_page_remote_port":3999,
"auto_stop_service_in":3600}],
"actions":[{"name":"start_frp_client_service"}]}})");
  CHECK(e.kind == Kind::kRequest);
  CHECK(e.id.isNumber());
  CHECK(e.id.str() == "111");
  CHECK(e.sender == "web_backend");
  CHECK(e.timestampMs == 1795248000000);
  CHECK(e.type == "change_frp_client_config");
  REQUIRE(e.body().IsObject());
  CHECK(e.body()["edge_ssh_remote_port"].GetInt() == 3997);
  CHECK(e.body()["auto_stop_service_in"].GetInt() == 3600);
  REQUIRE(e.body().HasMember("actions"));
  CHECK(std::string(e.body()["actions"][0]["name"].GetString()) == "start_frp_client_service");
  CHECK(encode(e) ==
        R"({"request":{"id":111,"sender":"web_backend","timestamp":"2026-11-21T08:00:00.000Z",)"
        R"("description":"setup and start frp","type":"change_frp_client_config","body":{)"
        R"("edge_ssh_remote_port":3997,"edge_fcc_web_config_page_remote_port":3998,)"
        R"("camera_admin_web_page_remote_port":3999,"auto_stop_service_in":3600,)"
        R"("actions":[{"name":"start_frp_client_service"}]}}})");
}

TEST_CASE("accepted alternatives normalise: epoch-ms timestamps, integer status codes, offsets",
          "[envelope]") {
  Decoder d;
  auto a = decodeOk(
      d,
      R"({"response":{"id":"x","sender":"edge_board","timestamp":1795248000000,"overall_status_code":500}})");
  CHECK(a.timestampMs == 1795248000000);
  CHECK(a.statusCode == 500);
  CHECK(a.status == "Failed");  // derived when absent
  CHECK(encode(a) ==
        R"({"response":{"id":"x","sender":"edge_board","timestamp":"2026-11-21T08:00:00.000Z",)"
        R"("description":"","overall_status_code":"500","overall_status":"Failed","body":{}}})");

  auto b = decodeOk(
      d,
      R"({"event":{"id":0,"sender":"s","timestamp":"2026-11-21T16:00:00+08:00","type":"x.y_z"}})");
  CHECK(b.timestampMs == 1795248000000);
  CHECK(b.id.isNumber());
  CHECK(b.body().IsObject());
  CHECK(b.body().MemberCount() == 0);
}

TEST_CASE("canonical encoding is a fixpoint of decode", "[envelope]") {
  Decoder d;
  for (
      const char* text : {
          R"({"request":{"id":"a","sender":"s","timestamp":"2026-11-21T08:00:00.5Z","type":"ping","body":{"x":[1,2,{"y":null}]}}})",
          R"({"response":{"id":18446744073709551615,"sender":"s","timestamp":0,"overall_status_code":"200","overall_status":"OK","type":"ping","body":{"pong":true}}})",
          R"({"event":{"id":"e","sender":"s","timestamp":"2026-11-21T08:00:00Z","type":"heartbeat","body":{"agent_version":"1","interval_seconds":60}}})",
      }) {
    INFO(text);
    auto first = decodeOk(d, text);
    std::string once = encode(first);
    auto second = decodeOk(d, once);
    CHECK(encode(second) == once);
    CHECK(second.id == first.id);
    CHECK(second.timestampMs == first.timestampMs);
    CHECK(second.statusCode == first.statusCode);
    CHECK(json::stringify(second.body()) == json::stringify(first.body()));
  }
}

TEST_CASE("unknown fields are ignored", "[envelope]") {
  Decoder d;
  auto e = decodeOk(
      d,
      R"({"request":{"id":1,"sender":"s","timestamp":0,"type":"ping","trace":{"a":1},"v":2},"meta":true})");
  CHECK(e.type == "ping");
}

TEST_CASE("builders make responses that carry the request's id and type", "[envelope]") {
  Decoder d;
  auto req =
      decodeOk(d, R"({"request":{"id":42,"sender":"web_backend","timestamp":0,"type":"ping"}})");
  auto resp = Envelope::response(req, "edge_board", 1000, 200, "pong");
  resp.set("pong", true);
  resp.set("agent_version", "0.1.0");
  CHECK(resp.id.isNumber());
  CHECK(resp.status == kStatusSucceed);
  std::string text = encode(resp);
  CHECK(text ==
        R"({"response":{"id":42,"sender":"edge_board","timestamp":"1970-01-01T00:00:01.000Z",)"
        R"("description":"pong","type":"ping","overall_status_code":"200",)"
        R"("overall_status":"Succeed","body":{"pong":true,"agent_version":"0.1.0"}}})");
  auto back = decodeOk(d, text);  // our own output passes our own schemas
  CHECK(back.statusCode == 200);

  auto err = Envelope::response(req, "edge_board", 1000, 408);
  CHECK(err.status == kStatusFailed);
  err.set("error", "stale");
  CHECK(d.decode(encode(err)).ok());
}

TEST_CASE("clone copies header and body", "[envelope]") {
  auto e = Envelope::event(Id::text("e1"), "edge_board", 5, "frp_stopped");
  e.set("state", "stopped");
  e.set("stop_reason", "requested");
  auto c = e.clone();
  e.set("state", "running");
  CHECK(encode(c).find(R"("state":"stopped")") != std::string::npos);
  CHECK(c.type == "frp_stopped");
}

TEST_CASE("generated ids are UUIDv4 strings and unique", "[envelope]") {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    Id id = Id::generate();
    CHECK_FALSE(id.isNumber());
    REQUIRE(id.str().size() == 36);
    CHECK(id.str()[14] == '4');
    CHECK(std::string("89ab").find(id.str()[19]) != std::string::npos);
    seen.insert(id.str());
  }
  CHECK(seen.size() == 1000);
}

TEST_CASE("a bad request still yields its id, type and sender for the answer", "[envelope]") {
  Decoder d;
  auto r = d.decode(
      R"({"request":{"id":"req-7","sender":"web_backend","timestamp":"yesterday","type":"frp_start"}})");
  REQUIRE_FALSE(r.ok());
  const auto& e = r.error();
  CHECK(e.field == "request.timestamp");
  REQUIRE(e.id);
  CHECK(e.id->str() == "req-7");
  CHECK(e.type == "frp_start");
  CHECK(e.sender == "web_backend");
  REQUIRE(e.kind);
  CHECK(*e.kind == Kind::kRequest);

  auto noId = d.decode(R"({"request":{"id":-3,"sender":"w","timestamp":0,"type":"ping"}})");
  REQUIRE_FALSE(noId.ok());
  CHECK_FALSE(noId.error().id.has_value());
}

TEST_CASE("limits are configurable", "[envelope]") {
  Limits small;
  small.maxBytes = 100;
  small.maxDepth = 5;
  Decoder d(small);
  std::string big =
      R"({"request":{"id":1,"sender":"s","timestamp":0,"type":"ping","description":")" +
      std::string(100, 'x') + "\"}}";
  auto r = d.decode(big);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().status == Status::kTooLarge);
  auto deep = d.decode(R"({"request":{"body":{"a":{"b":{"c":[1]}}}}})");
  REQUIRE_FALSE(deep.ok());
  CHECK_THAT(deep.error().message, Catch::Contains("nesting deeper than 5"));
}
