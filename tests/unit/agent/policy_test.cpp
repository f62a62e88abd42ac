#include <catch2/catch.hpp>

#include "core/clock.h"
#include "core/time_format.h"
#include "decisions/request_policy.h"
#include "envelope/json_util.h"
#include "unit_util.h"

using namespace edgelink;
using namespace edgelink::agent;

namespace {

envelope::Envelope request(int64_t ts, const std::string& sender = "web_backend") {
  return envelope::Envelope::request(envelope::Id::number(7), sender, ts, "frp_start");
}

std::string bodyString(const envelope::Envelope& e, const char* key) {
  const char* v = json::getString(e.body(), key);
  return v ? v : "";
}

}  // namespace

TEST_CASE("a request within max age and skew is acted on", "[agent][policy]") {
  ManualClock clock;
  Policy p;
  CHECK_FALSE(checkTimestamp(request(clock.wallMs()), p, clock.wallMs()));
  CHECK_FALSE(checkTimestamp(request(clock.wallMs() - 600'000), p, clock.wallMs()));
  CHECK_FALSE(checkTimestamp(request(clock.wallMs() + 60'000), p, clock.wallMs()));
}

TEST_CASE("a request older than max age is answered 408 with both times and not acted on",
          "[agent][policy]") {
  ManualClock clock;
  Policy p;
  const int64_t sent = clock.wallMs();
  clock.advanceMs(600'001);
  auto r = checkTimestamp(request(sent), p, clock.wallMs());
  REQUIRE(r);
  CHECK(r->statusCode == 408);
  CHECK(r->id == envelope::Id::number(7));
  CHECK(r->type == "frp_start");
  CHECK(bodyString(*r, "request_timestamp") == formatRfc3339Ms(sent));
  CHECK(bodyString(*r, "edge_time") == formatRfc3339Ms(clock.wallMs()));
  CHECK(json::member(r->body(), "max_age_seconds")->GetInt64() == 600);
  CHECK_THAT(bodyString(*r, "error"), Catch::Contains("600 s old"));
  CHECK(bodyString(*r, "expired_by") == "max_age");
  test::roundTrip(*r);
}

TEST_CASE("a request dated ahead beyond the tolerance is a 400 naming both clocks",
          "[agent][policy]") {
  ManualClock clock;
  Policy p;
  p.maxSkewMs = 30'000;
  const int64_t ahead = clock.wallMs() + 3'600'000;
  auto r = checkTimestamp(request(ahead), p, clock.wallMs());
  REQUIRE(r);
  CHECK(r->statusCode == 400);
  CHECK(bodyString(*r, "field") == "request.timestamp");
  CHECK_THAT(bodyString(*r, "error"), Catch::Contains(formatRfc3339Ms(ahead)));
  CHECK_THAT(bodyString(*r, "error"), Catch::Contains(formatRfc3339Ms(clock.wallMs())));
  CHECK_THAT(bodyString(*r, "error"), Catch::Contains("tolerance 30 s"));
  test::roundTrip(*r);
  // An NTP step on the edge changes the verdict: judged by the wall clock at handling time.
  clock.setWallMs(ahead);
  CHECK_FALSE(checkTimestamp(request(ahead), p, clock.wallMs()));
}

TEST_CASE("a request past its own expires_at is answered 408 naming expires_at",
          "[agent][policy][expiry]") {
  ManualClock clock;
  Policy p;
  auto r0 = request(clock.wallMs());
  r0.expiresAtMs = clock.wallMs() + 30'000;
  CHECK_FALSE(checkTimestamp(r0, p, clock.wallMs() + 30'000));  // at its expiry: still on time
  auto r = checkTimestamp(r0, p, clock.wallMs() + 45'000);
  REQUIRE(r);
  CHECK(r->statusCode == 408);
  CHECK(r->description == "request expired");
  CHECK(bodyString(*r, "expired_by") == "expires_at");
  CHECK(bodyString(*r, "request_expires_at") == formatRfc3339Ms(*r0.expiresAtMs));
  CHECK_THAT(bodyString(*r, "error"),
             Catch::Contains("expired at " + formatRfc3339Ms(*r0.expiresAtMs) +
                             " (its expires_at), 15 s before"));
  CHECK_THAT(bodyString(*r, "error"), Catch::Contains("not acted on"));
  // The members in the order the agent has always written them.
  std::vector<std::string> names;
  for (const auto& m : r->body().GetObject()) {
    names.emplace_back(m.name.GetString());
  }
  CHECK(names == std::vector<std::string>{"error", "request_timestamp", "request_expires_at",
                                          "edge_time", "max_age_seconds", "expired_by"});
  test::roundTrip(*r);
}

TEST_CASE("when both expires_at and max age have passed the earlier one is the reason",
          "[agent][policy][expiry]") {
  ManualClock clock;
  Policy p;
  const int64_t sent = clock.wallMs();
  auto early = request(sent);
  early.expiresAtMs = sent + 60'000;  // before sent + max age
  auto late = request(sent);
  late.expiresAtMs = sent + 3'600'000;  // after sent + max age
  const int64_t now = sent + 700'000;   // past both limits of `early`, past max age of `late`
  auto a = checkTimestamp(early, p, now);
  REQUIRE(a);
  CHECK(a->statusCode == 408);
  CHECK(bodyString(*a, "expired_by") == "expires_at");
  auto b = checkTimestamp(late, p, now);
  REQUIRE(b);
  CHECK(b->statusCode == 408);
  CHECK(bodyString(*b, "expired_by") == "max_age");
  CHECK_THAT(bodyString(*b, "error"), Catch::Contains("older than max_age 600 s"));
  // A distant expires_at does not extend max age, and an expires_at ahead keeps a fresh request.
  CHECK_FALSE(checkTimestamp(late, p, sent + 1'000));
}

TEST_CASE("only requests from others are for the agent, of known types", "[agent][policy]") {
  Policy p;
  p.sender = "edge_board";
  CHECK(isForUs(request(0), p));
  CHECK_FALSE(isForUs(request(0, "edge_board"), p));
  auto ev = envelope::Envelope::event(envelope::Id::text("e"), "web_backend", 0, "heartbeat");
  CHECK_FALSE(isForUs(ev, p));
  for (const char* t :
       {"change_frp_client_config", "frp_start", "frp_stop", "frp_status", "system_info", "ping"}) {
    CHECK(isKnownRequestType(t));
  }
  CHECK_FALSE(isKnownRequestType("reboot"));
}

TEST_CASE("error responses carry the message and field and pass the schemas", "[agent][policy]") {
  auto r = errorResponse(envelope::Id::text("x"), "frp_start", "edge_board", 1'700'000'000'000,
                         Error(Status::kForbidden, "no", "request.body.services.telnet"));
  auto back = test::roundTrip(r);
  CHECK(back.statusCode == 403);
  CHECK(back.status == "Failed");
  CHECK(bodyString(back, "field") == "request.body.services.telnet");
  auto noType = errorResponse(envelope::Id::number(1), "", "edge_board", 0,
                              Error(Status::kBadRequest, "bad"));
  CHECK(test::roundTrip(noType).type.empty());
}
