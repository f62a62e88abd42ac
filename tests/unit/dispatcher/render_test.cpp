#include "cli/render.h"

#include <algorithm>
#include <catch2/catch.hpp>

#include "cli/queries.h"

using namespace edgelink;
using namespace edgelink::dispatcher;

namespace {

std::vector<Record> sample() {
  return {
      {stringField("edge_id", "e1"), stringField("state", "succeeded"), numberField("code", 200),
       boolField("late", false),
       Field{"sent_at", FieldKind::kTimestamp, "2026-11-21T08:00:00.123Z"},
       Field{"body", FieldKind::kJson, "{\"pong\":true}"}},
      {stringField("edge_id", "elevator-0042"), stringField("state", "pending"), nullField("code"),
       boolField("late", true), Field{"sent_at", FieldKind::kTimestamp, "2026-11-21T08:01:00.000Z"},
       nullField("body")},
  };
}

}  // namespace

TEST_CASE("tables align columns and show missing values as '-'", "[dispatcher][render]") {
  std::string t = renderTable(sample(), {{"edge_id", "EDGE"},
                                         {"state", "STATE"},
                                         {"code", "CODE"},
                                         {"late", "LATE"},
                                         {"sent_at", "SENT"}});
  CHECK(t ==
        "EDGE           STATE      CODE  LATE  SENT\n"
        "e1             succeeded  200   no    2026-11-21 08:00:00\n"
        "elevator-0042  pending    -     yes   2026-11-21 08:01:00\n");
  CHECK(renderTable({}, {{"edge_id", "EDGE"}}) == "(none)\n");
}

TEST_CASE("long cells are cut on character boundaries", "[dispatcher][render]") {
  std::vector<Record> r = {{stringField("d", "ñññññññññññ")}};
  CHECK(renderTable(r, {{"d", "D", 6}}) == "D\nñññ...\n");
}

TEST_CASE("JSON keeps types: numbers, booleans, nulls and nested JSON", "[dispatcher][render]") {
  auto s = sample();
  CHECK(renderJsonObject(s[0]) ==
        "{\"edge_id\":\"e1\",\"state\":\"succeeded\",\"code\":200,\"late\":false,"
        "\"sent_at\":\"2026-11-21T08:00:00.123Z\",\"body\":{\"pong\":true}}\n");
  std::string arr = renderJsonArray(s);
  CHECK(arr.front() == '[');
  CHECK(arr.find("\"code\":null") != std::string::npos);
  CHECK(renderJsonArray({}) == "[]\n");
  std::vector<Record> quoted = {{stringField("x", "a\"b\n")}};
  CHECK(renderJsonArray(quoted) == "[{\"x\":\"a\\\"b\\n\"}]\n");
}

TEST_CASE("details list every field", "[dispatcher][render]") {
  std::string d = renderDetail(sample()[1]);
  CHECK(d ==
        "edge_id: elevator-0042\n"
        "state:   pending\n"
        "code:    -\n"
        "late:    yes\n"
        "sent_at: 2026-11-21T08:01:00.000Z\n"
        "body:    -\n");
}

TEST_CASE("PostgreSQL timestamps become RFC 3339", "[dispatcher][render]") {
  CHECK(pgTimestampToRfc3339("2026-11-21 08:00:00.123456+00") == "2026-11-21T08:00:00.123Z");
  CHECK(pgTimestampToRfc3339("2026-11-21 08:00:00+00") == "2026-11-21T08:00:00.000Z");
  CHECK(pgTimestampToRfc3339("infinity") == "infinity");
  CHECK(shortTimestamp("2026-11-21T08:00:00.123Z") == "2026-11-21 08:00:00");
}

TEST_CASE("exit codes: answers, timeouts, usage, Kafka and the database are distinct",
          "[dispatcher][render]") {
  CHECK(exitCodeForAnswer(200) == kExitOk);
  CHECK(exitCodeForAnswer(204) == kExitOk);
  CHECK(exitCodeForAnswer(408) == kExitFailed);
  CHECK(exitCodeForAnswer(500) == kExitFailed);
  CHECK(exitCodeForDbError(Error(Status::kUnavailable, "down")) == kExitDatabase);
  CHECK(exitCodeForDbError(Error(Status::kConflict, "busy")) == kExitFailed);
  std::vector<int> codes = {kExitOk,      kExitFailed, kExitUsage,
                            kExitTimeout, kExitKafka,  kExitDatabase};
  std::sort(codes.begin(), codes.end());
  CHECK(std::adjacent_find(codes.begin(), codes.end()) == codes.end());
}

TEST_CASE("an edge's clock offset is shown as off beyond the tolerance, in sync within it",
          "[dispatcher][render][clock]") {
  CHECK(formatClockOffset(3 * 3'600'000 + 12 * 60'000 + 5'000) == "+3h12m");
  CHECK(formatClockOffset(-45'900) == "-45s");
  CHECK(formatClockOffset(-(2 * 60'000 + 3'000)) == "-2m3s");
  Record off{stringField("edge_id", "e1"), numberField("clock_offset_ms", -11'520'000),
             stringField("key_id", "")};
  addClockField(off);
  REQUIRE(off.size() == 4);
  CHECK(off[2].name == "clock");
  CHECK(fieldText(off, "clock") == "clock -3h12m off");
  Record near{numberField("clock_offset_ms", 60'000)};
  addClockField(near);
  CHECK(fieldText(near, "clock") == "in sync");
  Record unknown{nullField("clock_offset_ms")};
  addClockField(unknown);
  REQUIRE(unknown.size() == 2);
  CHECK(unknown[1].kind == FieldKind::kNull);
}
