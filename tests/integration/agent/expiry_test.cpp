// A request's own expires_at through the real agent (issue #17 item 1): past it the agent answers
// 408 exactly as for max age and never acts; the earlier of the two limits is the reason given;
// redelivery is answered from the stored response.
#include <catch2/catch.hpp>

#include "agent_harness.h"
#include "core/time_format.h"
#include "envelope/json_util.h"

using namespace edgelink;
using namespace edgelink::testing;

namespace {

std::string str(const envelope::Envelope& e, const char* key) {
  const char* v = json::getString(e.body(), key);
  return v ? v : "";
}

/// An frp_start for ssh on 31022 sent at `sentMs` that expires at `expiresMs` (epoch ms, or RFC
/// 3339 when `rfc3339`).
std::string expiringStart(const std::string& id, int64_t sentMs, int64_t expiresMs, bool rfc3339) {
  const std::string expires =
      rfc3339 ? "\"" + formatRfc3339Ms(expiresMs) + "\"" : std::to_string(expiresMs);
  return R"({"request":{"id":")" + id + R"(","sender":"web_backend","timestamp":")" +
         formatRfc3339Ms(sentMs) + R"(","expires_at":)" + expires +
         R"(,"type":"frp_start","body":{"services":{"ssh":31022}}}})";
}

}  // namespace

TEST_CASE("a request past its expires_at is answered 408 and never acted on",
          "[agent][contract][expiry]") {
  AgentUnderTest agent;
  agent.start();
  const int64_t now = nowMs();
  agent.produceRaw(expiringStart("expired-1", now - 5000, now - 2000, true));
  auto r = agent.response(envelope::Id::text("expired-1"));
  CHECK(r.statusCode == 408);
  CHECK(r.description == "request expired");
  CHECK(str(r, "expired_by") == "expires_at");
  CHECK(str(r, "request_expires_at") == formatRfc3339Ms(now - 2000));
  CHECK_THAT(str(r, "error"), Catch::Contains("(its expires_at)"));
  CHECK_THAT(str(r, "error"), Catch::Contains("not acted on"));
  // Redelivered (a web backend retrying the same id): the stored answer again, still no frpc.
  agent.produceRaw(expiringStart("expired-1", now - 5000, now - 2000, true));
  REQUIRE(
      waitUntil([&] { return agent.responseCount(envelope::Id::text("expired-1")) == 2; }, 20000));
  CHECK(agent.frpcStarts().empty());
  // Epoch milliseconds are accepted as for timestamp; one still ahead is acted on.
  agent.produceRaw(expiringStart("on-time", now, nowMs() + 600000, false));
  CHECK(agent.response(envelope::Id::text("on-time")).statusCode == 200);
  CHECK(agent.frpcStarts().size() == 1);
}

TEST_CASE("when both expires_at and max age have passed the agent names the earlier one",
          "[agent][contract][expiry]") {
  AgentUnderTest agent;
  agent.start({"--max-request-age", "60s"});
  const int64_t now = nowMs();
  // Sent 100 s ago: max age ran out 40 s ago. Expired 70 s ago (earlier): expires_at wins.
  agent.produceRaw(expiringStart("first-expiry", now - 100000, now - 70000, false));
  auto a = agent.response(envelope::Id::text("first-expiry"));
  CHECK(a.statusCode == 408);
  CHECK(str(a, "expired_by") == "expires_at");
  // Expired 10 s ago (later than max age): max age wins. A far expires_at never extends it.
  agent.produceRaw(expiringStart("first-max-age", now - 100000, now - 10000, false));
  auto b = agent.response(envelope::Id::text("first-max-age"));
  CHECK(b.statusCode == 408);
  CHECK(str(b, "expired_by") == "max_age");
  CHECK_THAT(str(b, "error"), Catch::Contains("older than max_age 60 s"));
  agent.produceRaw(expiringStart("far-expiry", now - 100000, now + 3600000, false));
  auto c = agent.response(envelope::Id::text("far-expiry"));
  CHECK(c.statusCode == 408);
  CHECK(str(c, "expired_by") == "max_age");
  CHECK(agent.frpcStarts().empty());
}
