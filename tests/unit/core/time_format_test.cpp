#include "core/time_format.h"

#include <catch2/catch.hpp>

using edgelink::formatDuration;
using edgelink::formatRfc3339Ms;
using edgelink::parseDurationSeconds;
using edgelink::parseRfc3339Ms;

TEST_CASE("RFC 3339 parses UTC, offsets, fractions and the lenient forms RFC 3339 allows",
          "[time]") {
  CHECK(parseRfc3339Ms("1970-01-01T00:00:00Z") == 0);
  CHECK(parseRfc3339Ms("2026-11-21T08:00:00.000Z") == 1795248000000);
  CHECK(parseRfc3339Ms("2026-11-21T16:00:00+08:00") == 1795248000000);
  CHECK(parseRfc3339Ms("2026-11-21T07:30:00-00:30") == 1795248000000);
  CHECK(parseRfc3339Ms("2026-11-21t08:00:00z") == 1795248000000);
  CHECK(parseRfc3339Ms("2026-11-21 08:00:00Z") == 1795248000000);
  CHECK(parseRfc3339Ms("2026-11-21T08:00:00.5Z") == 1795248000500);
  CHECK(parseRfc3339Ms("2026-11-21T08:00:00.123456789Z") == 1795248000123);
  CHECK(parseRfc3339Ms("2024-02-29T00:00:00Z").has_value());
  CHECK(parseRfc3339Ms("2016-12-31T23:59:60Z") == *parseRfc3339Ms("2016-12-31T23:59:59.999Z"));
}

TEST_CASE("RFC 3339 rejects impossible dates and malformed text", "[time]") {
  for (const char* bad :
       {"", "2026-11-21", "2026-11-21T08:00:00", "2026-13-01T00:00:00Z", "2026-00-01T00:00:00Z",
        "2026-02-29T00:00:00Z", "2026-04-31T00:00:00Z", "2026-11-21T24:00:00Z",
        "2026-11-21T08:60:00Z", "2026-11-21T08:00:61Z", "2026-11-21T08:00:00.Z",
        "2026-11-21T08:00:00+0800", "2026-11-21T08:00:00+24:00", "2026-11-21T08:00:00Z ",
        " 2026-11-21T08:00:00Z", "26-11-21T08:00:00Z", "2026/11/21T08:00:00Z",
        "2026-11-21T08:00:00ZZ", "abcd-ef-ghTij:kl:mnZ"}) {
    INFO(bad);
    CHECK_FALSE(parseRfc3339Ms(bad).has_value());
  }
}

TEST_CASE("RFC 3339 formatting is UTC with milliseconds and round-trips", "[time]") {
  CHECK(formatRfc3339Ms(0) == "1970-01-01T00:00:00.000Z");
  CHECK(formatRfc3339Ms(1795248000123) == "2026-11-21T08:00:00.123Z");
  CHECK(formatRfc3339Ms(-1) == "1969-12-31T23:59:59.999Z");
  for (int64_t ms : {int64_t{0}, int64_t{951782400000}, int64_t{1795248000999},
                     int64_t{253402300799999}, int64_t{4102444800000}}) {
    CHECK(parseRfc3339Ms(formatRfc3339Ms(ms)) == ms);
  }
}

TEST_CASE("durations parse in s/m/h/d units and render for humans", "[time]") {
  CHECK(parseDurationSeconds("90") == 90);
  CHECK(parseDurationSeconds("90s") == 90);
  CHECK(parseDurationSeconds("15m") == 900);
  CHECK(parseDurationSeconds("2h") == 7200);
  CHECK(parseDurationSeconds("1h30m") == 5400);
  CHECK(parseDurationSeconds("1d") == 86400);
  CHECK_FALSE(parseDurationSeconds(""));
  CHECK_FALSE(parseDurationSeconds("1h30"));
  CHECK_FALSE(parseDurationSeconds("-5m"));
  CHECK_FALSE(parseDurationSeconds("5x"));
  CHECK_FALSE(parseDurationSeconds("h"));
  CHECK(formatDuration(3725) == "1h 2m 5s");
  CHECK(formatDuration(59) == "59s");
  CHECK(formatDuration(90061) == "1d 1h 1m 1s");
}
