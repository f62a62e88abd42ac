// The envelope decoder eats untrusted bytes from Kafka. Each row: input, expected status,
// expected field ("" when the error is not about a field), and a fragment of the message.
#include <catch2/catch.hpp>

#include "envelope/envelope.h"
#include "envelope/salvage.h"

using namespace edgelink;
using namespace edgelink::envelope;

namespace {

struct Case {
  std::string name;
  std::string input;
  Status status;
  std::string field;
  std::string messagePart;
  size_t maxBytes =
      64 * 1024;  // deep-nesting rows raise it so the parser, not the size check, is tested
};

// A request with one header field replaced (value is raw JSON, or omitted when empty).
std::string requestWith(const std::string& key, const std::string& value) {
  std::string out = R"({"request":{)";
  bool first = true;
  for (const auto& [k, v] :
       std::vector<std::pair<std::string, std::string>>{{"id", "1"},
                                                        {"sender", R"("web_backend")"},
                                                        {"timestamp", R"("2026-11-21T08:00:00Z")"},
                                                        {"type", R"("ping")"}}) {
    std::string val = k == key ? value : v;
    if (val.empty()) {
      continue;
    }
    out += std::string(first ? "" : ",") + "\"" + k + "\":" + val;
    first = false;
  }
  if (key != "id" && key != "sender" && key != "timestamp" && key != "type") {
    out += ",\"" + key + "\":" + value;
  }
  return out + "}}";
}

// A legacy start request with the given body (raw JSON).
std::string legacyWithBody(const std::string& body) {
  return R"({"request":{"id":2,"sender":"web_backend","timestamp":"2026-11-21T08:00:00Z","type":"change_frp_client_config","body":)" +
         body + "}}";
}

std::string startWithPort(const std::string& port) {
  return legacyWithBody(R"({"edge_ssh_remote_port":)" + port +
                        R"(,"actions":[{"name":"start_frp_client_service"}]})");
}

std::string responseWithCode(const std::string& code) {
  return R"({"response":{"id":3,"sender":"edge_board","timestamp":0)" +
         (code.empty() ? std::string() : ",\"overall_status_code\":" + code) + "}}";
}

std::string nested(size_t depth) {
  return std::string(depth, '[') + std::string(depth, ']');
}

std::string nestedInBody(size_t depth) {
  std::string inner;
  for (size_t i = 0; i < depth; ++i) {
    inner += R"({"a":)";
  }
  inner += "1" + std::string(depth, '}');
  return R"({"request":{"id":1,"sender":"s","timestamp":0,"type":"ping","body":)" + inner + "}}";
}

const std::string kPortsField = "request.body.edge_ssh_remote_port";

std::vector<Case> cases() {
  using S = Status;
  std::string valid = requestWith("x", "1");
  return {
      {"empty input", "", S::kBadRequest, "", "invalid JSON"},
      {"only whitespace", "   \n", S::kBadRequest, "", "invalid JSON"},
      {"truncated", R"({"request":{"id":1,"sender")", S::kBadRequest, "", "invalid JSON"},
      {"truncated string", R"({"request":{"id":"abc)", S::kBadRequest, "", "invalid JSON"},
      {"null document", "null", S::kBadRequest, "", "got null"},
      {"array document", "[]", S::kBadRequest, "", "got array"},
      {"string document", R"("request")", S::kBadRequest, "", "got string"},
      {"empty object", "{}", S::kBadRequest, "", "expected one of request, response, event"},
      {"unknown kind", R"({"command":{"id":1}})", S::kBadRequest, "",
       "unknown envelope kind \"command\""},
      {"two kinds", R"({"request":{},"event":{}})", S::kBadRequest, "", "more than one"},
      {"kind not an object", R"({"request":[1]})", S::kBadRequest, "request", "expected object"},
      {"100k-deep arrays", nested(100000), S::kBadRequest, "", "nesting deeper than 32", 1 << 20},
      {"100k-deep objects in body", nestedInBody(100000), S::kBadRequest, "", "nesting deeper",
       1 << 20},
      {"33-deep in body", nestedInBody(31), S::kBadRequest, "", "nesting deeper"},
      {"raw NUL after document", valid + std::string(1, '\0'), S::kBadRequest, "",
       "unexpected data after"},
      {"raw NUL inside string", std::string(R"({"request":{"id":"a)") + '\0' + R"(b"}})",
       S::kBadRequest, "", "invalid JSON"},
      {"escaped NUL in string", requestWith("sender", R"("web\u0000backend")"), S::kBadRequest, "",
       "NUL"},
      {"escaped NUL in key", R"({"request":{"i\u0000d":1}})", S::kBadRequest, "", "NUL"},
      {"invalid UTF-8", requestWith("sender", "\"web\xff\""), S::kBadRequest, "", "invalid UTF-8"},
      {"overlong UTF-8", requestWith("sender", "\"\xc0\xaf\""), S::kBadRequest, "",
       "invalid UTF-8"},
      {"lone surrogate escape", requestWith("sender", R"("\ud800")"), S::kBadRequest, "",
       "invalid JSON"},
      {"lone low surrogate escape", requestWith("sender", R"("\udc00")"), S::kBadRequest, "",
       "lone surrogate"},
      {"lone low surrogate in a body key", requestWith("body", R"({"a\uDFFFb":1})"), S::kBadRequest,
       "", "lone surrogate"},
      {"high surrogate followed by text", requestWith("sender", R"("\ud800x")"), S::kBadRequest, "",
       "invalid JSON"},
      {"trailing garbage", valid + " x", S::kBadRequest, "", "unexpected data after"},
      {"two documents", valid + valid, S::kBadRequest, "", "unexpected data after"},
      {"comment", R"({"request":{/* c */"id":1}})", S::kBadRequest, "", "invalid JSON"},
      {"NaN literal", requestWith("id", "NaN"), S::kBadRequest, "", "invalid JSON"},
      {"single quotes", "{'request':{}}", S::kBadRequest, "", "invalid JSON"},
      {"number too big for double", startWithPort("1e400"), S::kBadRequest, "", "invalid JSON"},
      {"oversize message", requestWith("description", "\"" + std::string(70000, 'x') + "\""),
       S::kTooLarge, "", "exceeds the limit of 65536 bytes"},
      {"huge description", requestWith("description", "\"" + std::string(5000, 'x') + "\""),
       S::kBadRequest, "request.description", "5000 characters"},
      {"10 KB id", requestWith("id", "\"" + std::string(10240, 'i') + "\""), S::kBadRequest,
       "request.id", "10240 characters"},
      {"empty id", requestWith("id", R"("")"), S::kBadRequest, "request.id", "got a string of 0"},
      {"negative id", requestWith("id", "-1"), S::kBadRequest, "request.id", "got -1"},
      {"fractional id", requestWith("id", "1.5"), S::kBadRequest, "request.id", "got number"},
      {"id beyond uint64", requestWith("id", "18446744073709551616"), S::kBadRequest, "request.id",
       "got number"},
      {"boolean id", requestWith("id", "true"), S::kBadRequest, "request.id", "got boolean"},
      {"null id", requestWith("id", "null"), S::kBadRequest, "request.id", "got null"},
      {"object id", requestWith("id", "{}"), S::kBadRequest, "request.id", "got object"},
      {"missing id", requestWith("id", ""), S::kBadRequest, "request.id", "required field missing"},
      {"missing sender", requestWith("sender", ""), S::kBadRequest, "request.sender", "required"},
      {"empty sender", requestWith("sender", R"("")"), S::kBadRequest, "request.sender",
       "non-empty"},
      {"numeric sender", requestWith("sender", "7"), S::kBadRequest, "request.sender",
       "got integer"},
      {"boolean timestamp", requestWith("timestamp", "false"), S::kBadRequest, "request.timestamp",
       "expected RFC 3339 string or epoch milliseconds, got boolean"},
      {"impossible date", requestWith("timestamp", R"("2026-02-30T00:00:00Z")"), S::kBadRequest,
       "request.timestamp", "not a valid date-time"},
      {"timestamp without zone", requestWith("timestamp", R"("2026-11-21T08:00:00")"),
       S::kBadRequest, "request.timestamp", "RFC 3339"},
      {"negative epoch", requestWith("timestamp", "-5"), S::kBadRequest, "request.timestamp",
       "got -5"},
      {"fractional epoch", requestWith("timestamp", "1795248000000.5"), S::kBadRequest,
       "request.timestamp", "got number"},
      {"epoch beyond year 9999", requestWith("timestamp", "253402300800000"), S::kBadRequest,
       "request.timestamp", "got 253402300800000"},
      {"missing type", requestWith("type", ""), S::kBadRequest, "request.type", "required"},
      {"type with spaces", requestWith("type", R"("change frp")"), S::kBadRequest, "request.type",
       "type name"},
      {"type too long", requestWith("type", "\"" + std::string(100, 't') + "\""), S::kBadRequest,
       "request.type", "type name"},
      {"port 0", startWithPort("0"), S::kBadRequest, kPortsField,
       "expected TCP port number 1-65535, got 0"},
      {"port 65536", startWithPort("65536"), S::kBadRequest, kPortsField, "got 65536"},
      {"port -1", startWithPort("-1"), S::kBadRequest, kPortsField, "got -1"},
      {"port 1.5", startWithPort("1.5"), S::kBadRequest, kPortsField, "got number"},
      {"port as string", startWithPort(R"("22")"), S::kBadRequest, kPortsField, "got string"},
      {"port as injection string", startWithPort(R"("22\nremotePort = 1")"), S::kBadRequest,
       kPortsField, "got string"},
      {"negative auto stop",
       legacyWithBody(
           R"({"edge_ssh_remote_port":3997,"auto_stop_service_in":-10,"actions":[{"name":"start_frp_client_service"}]})"),
       S::kBadRequest, "request.body.auto_stop_service_in", "got -10"},
      {"missing actions", legacyWithBody(R"({"edge_ssh_remote_port":3997})"), S::kBadRequest,
       "request.body.actions", "required"},
      {"empty actions", legacyWithBody(R"({"actions":[]})"), S::kBadRequest, "request.body.actions",
       "got 0 items"},
      {"two actions",
       legacyWithBody(
           R"({"actions":[{"name":"start_frp_client_service"},{"name":"stop_frp_client_service"}]})"),
       S::kBadRequest, "request.body.actions", "got 2 items"},
      {"unknown action", legacyWithBody(R"({"actions":[{"name":"format_disk"}]})"), S::kBadRequest,
       "request.body.actions[0].name", "\"format_disk\""},
      {"actions in both places",
       R"({"request":{"id":2,"sender":"w","timestamp":0,"type":"change_frp_client_config","body":{"actions":[{"name":"stop_frp_client_service"}]},"actions":[{"name":"stop_frp_client_service"}]}})",
       S::kBadRequest, "request.actions", "both"},
      {"legacy body array of two", legacyWithBody(R"([{},{}])"), S::kBadRequest, "request.body",
       "array of 2"},
      {"legacy body array of a number", legacyWithBody("[5]"), S::kBadRequest, "request.body",
       "array of 1"},
      {"body as string", legacyWithBody(R"("start")"), S::kBadRequest, "request.body",
       "got string"},
      {"array body for ping", requestWith("body", "[]"), S::kBadRequest, "request.body",
       "got array"},
      {"status code text", responseWithCode(R"("ok")"), S::kBadRequest,
       "response.overall_status_code", "got \"ok\""},
      {"status code 999", responseWithCode(R"("999")"), S::kBadRequest,
       "response.overall_status_code", "got \"999\""},
      {"status code 99", responseWithCode("99"), S::kBadRequest, "response.overall_status_code",
       "got 99"},
      {"status code missing", responseWithCode(""), S::kBadRequest, "response.overall_status_code",
       "required"},
      {"event without type", R"({"event":{"id":1,"sender":"s","timestamp":0}})", S::kBadRequest,
       "event.type", "required"},
      {"duplicate header key",
       R"({"request":{"id":1,"id":2,"sender":"s","timestamp":0,"type":"ping"}})", S::kBadRequest,
       "request.id", "duplicate key"},
      {"duplicate body key", requestWith("body", R"({"a":1,"b":2,"a":3})"), S::kBadRequest,
       "request.body.a", "duplicate key"},
      {"duplicate key among many",
       requestWith("body",
                   [] {
                     std::string b = "{";
                     for (int i = 0; i < 100; ++i)
                       b += "\"k" + std::to_string(i) + "\":1,";
                     return b + "\"k50\":2}";
                   }()),
       S::kBadRequest, "request.body.k50", "duplicate key"},
      {"frp_start without services",
       R"({"request":{"id":1,"sender":"s","timestamp":0,"type":"frp_start","body":{}}})",
       S::kBadRequest, "request.body.services", "required"},
      {"frp_start with hostile service name",
       R"({"request":{"id":1,"sender":"s","timestamp":0,"type":"frp_start","body":{"services":{"ssh\"]\n[x":22}}}})",
       S::kBadRequest, "request.body.services", "unexpected key"},
      {"frp_start port as string",
       R"({"request":{"id":1,"sender":"s","timestamp":0,"type":"frp_start","body":{"services":{"ssh":"22"}}}})",
       S::kBadRequest, "request.body.services.ssh", "expected TCP port number 1-65535, got string"},
      {"heartbeat interval 0",
       R"({"event":{"id":1,"sender":"s","timestamp":0,"type":"heartbeat","body":{"agent_version":"1","interval_seconds":0}}})",
       S::kBadRequest, "event.body.interval_seconds", "got 0"},
      {"ping response pong false",
       R"({"response":{"id":1,"sender":"s","timestamp":0,"type":"ping","overall_status_code":"200","body":{"pong":false}}})",
       S::kBadRequest, "response.body.pong", "got false"},
  };
}

}  // namespace

TEST_CASE("bad input table: every row is rejected with its status, field and message",
          "[envelope][bad-input]") {
  auto table = cases();
  REQUIRE(table.size() >= 40);
  for (const auto& c : table) {
    INFO(c.name);
    Limits limits;
    limits.maxBytes = c.maxBytes;
    Decoder d(limits);
    auto r = d.decode(c.input);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().status == c.status);
    CHECK(r.error().field == c.field);
    CHECK_THAT(r.error().message, Catch::Contains(c.messagePart));
  }
}

TEST_CASE("the decoder keeps working after each bad input", "[envelope][bad-input]") {
  Limits limits;
  limits.maxBytes = 1 << 20;
  Decoder d(limits);
  const std::string good =
      R"({"request":{"id":1,"sender":"s","timestamp":0,"type":"frp_start","body":{"services":{"ssh":22}}}})";
  for (const auto& c : cases()) {
    INFO(c.name);
    (void)d.decode(c.input);
    REQUIRE(d.decode(good).ok());
  }
}

namespace {

// Requests refused before the schema whose header is still readable: the answer goes to `id`.
struct Readable {
  std::string name;
  std::string input;
  Status status;
  std::string messagePart;
  std::optional<std::string> id;  ///< nullopt: no id can be read
  std::string sender;
  std::string type;
  size_t maxBytes = 64 * 1024;
};

const std::string kHead =
    R"({"request":{"id":"r-1","sender":"web_backend","timestamp":"2026-11-21T08:00:00Z","type":"change_frp_client_config",)";

std::vector<Readable> readableCases() {
  using S = Status;
  const std::string ok = R"("body":{"actions":[{"name":"stop_frp_client_service"}]}}})";
  std::string deepBody = R"("body":{"a":)" + nested(40) + "}}}";
  std::string deepFirst = R"({"request":{"body":)" + nested(100000) +
                          R"(,"id":7,"sender":"w","timestamp":0,"type":"ping"}})";
  return {
      {"truncated after the id", kHead + R"("body":{"actions":[{"na)", S::kBadRequest,
       "invalid JSON at byte", "r-1", "web_backend", "change_frp_client_config"},
      {"truncated right after the id", R"({"request":{"id":42,"sender":"w")", S::kBadRequest,
       "invalid JSON", "42", "w", ""},
      {"trailing data", kHead + ok + " trailing", S::kBadRequest, "unexpected data after", "r-1",
       "web_backend", "change_frp_client_config"},
      {"two documents", kHead + ok + kHead + ok, S::kBadRequest, "unexpected data after", "r-1",
       "web_backend", "change_frp_client_config"},
      {"raw newline in a string", kHead + R"("description":"two)" + "\n" + R"(lines",)" + ok,
       S::kBadRequest, "invalid JSON at byte", "r-1", "web_backend", "change_frp_client_config"},
      {"invalid UTF-8 in another string", kHead + "\"description\":\"\xff\"," + ok, S::kBadRequest,
       "invalid UTF-8", "r-1", "web_backend", "change_frp_client_config"},
      {"overlong UTF-8 in another string", kHead + "\"description\":\"\xc0\xaf\"," + ok,
       S::kBadRequest, "invalid UTF-8", "r-1", "web_backend", "change_frp_client_config"},
      {"\\u0000 in another string", kHead + R"("description":"a\u0000b",)" + ok, S::kBadRequest,
       "NUL", "r-1", "web_backend", "change_frp_client_config"},
      {"lone surrogate in another string", kHead + R"("description":"\ud800",)" + ok,
       S::kBadRequest, "invalid JSON at byte", "r-1", "web_backend", "change_frp_client_config"},
      {"lone low surrogate in another string", kHead + R"("description":"\udfff",)" + ok,
       S::kBadRequest, "lone surrogate", "r-1", "web_backend", "change_frp_client_config"},
      {"1e400 in the body",
       kHead +
           R"("body":{"edge_ssh_remote_port":1e400,"actions":[{"name":"start_frp_client_service"}]}}})",
       S::kBadRequest, "Number too big", "r-1", "web_backend", "change_frp_client_config"},
      {"nesting deeper than the limit in the body", kHead + deepBody, S::kBadRequest,
       "nesting deeper than 32", "r-1", "web_backend", "change_frp_client_config"},
      {"100k-deep body before the id", deepFirst, S::kBadRequest, "nesting deeper", "7", "w",
       "ping", 1 << 20},
      {"oversize with the id first",
       kHead + R"("description":")" + std::string(70000, 'x') + "\"," + ok, S::kTooLarge,
       "exceeds the limit of 65536", "r-1", "web_backend", "change_frp_client_config"},
      {"oversize with the id last",
       R"({"request":{"body":{"pad":")" + std::string(1 << 20, 'p') +
           R"("},"type":"ping","sender":"w","timestamp":0,"id":"last"}})",
       S::kTooLarge, "exceeds the limit", "last", "w", "ping"},
      {"oversize and broken", kHead + R"("description":")" + std::string(70000, 'x'), S::kTooLarge,
       "exceeds the limit", "r-1", "web_backend", "change_frp_client_config"},
      // What must stay unreadable.
      {"truncated inside the id", R"({"request":{"id":"abc)", S::kBadRequest, "invalid JSON",
       std::nullopt, "", ""},
      {"id given twice", R"({"request":{"id":1,"id":2,"sender":"w",)" + std::string("\xff"),
       S::kBadRequest, "invalid UTF-8", std::nullopt, "w", ""},
      {"two kinds", R"({"request":{"id":1,"sender":"w"},"event":{"id":2}} x)", S::kBadRequest,
       "unexpected data", std::nullopt, "", ""},
      {"id with a NUL escape", R"({"request":{"id":"a\u0000","sender":"w"} x)", S::kBadRequest,
       "NUL", std::nullopt, "w", ""},
      {"id with a lone surrogate", R"({"request":{"id":"\udc00","sender":"w"} x)", S::kBadRequest,
       "invalid JSON", std::nullopt, "w", ""},
      {"id with invalid UTF-8", "{\"request\":{\"id\":\"\xfe\",\"sender\":\"w\"}}", S::kBadRequest,
       "invalid UTF-8", std::nullopt, "w", ""},
      {"negative id", R"({"request":{"id":-1,"sender":"w"} x)", S::kBadRequest, "invalid JSON",
       std::nullopt, "w", ""},
      {"id beyond uint64", R"({"request":{"id":18446744073709551616,"sender":"w"} x)",
       S::kBadRequest, "invalid JSON", std::nullopt, "w", ""},
      {"id nested deeper", R"({"x":{"request":{"id":1}}} x)", S::kBadRequest, "unexpected data",
       std::nullopt, "", ""},
      {"300-character id", R"({"request":{"id":")" + std::string(300, 'i') + R"("}} x)",
       S::kBadRequest, "unexpected data", std::nullopt, "", ""},
  };
}

}  // namespace

TEST_CASE("readable ids survive every failure before the schema, whatever follows them",
          "[envelope][bad-input]") {
  for (const auto& c : readableCases()) {
    INFO(c.name);
    Limits limits;
    limits.maxBytes = c.maxBytes;
    Decoder d(limits);
    auto r = d.decode(c.input);
    REQUIRE_FALSE(r.ok());
    const DecodeError& e = r.error();
    CHECK(e.status == c.status);
    CHECK_THAT(e.message, Catch::Contains(c.messagePart));
    if (c.id) {
      REQUIRE(e.id.has_value());
      CHECK(e.id->str() == *c.id);
      CHECK(e.kind == Kind::kRequest);
    } else {
      CHECK_FALSE(e.id.has_value());
    }
    CHECK(e.sender == c.sender);
    CHECK(e.type == c.type);
  }
}

TEST_CASE("a readable numeric id stays numeric and the timestamp is read when it can be",
          "[envelope][bad-input]") {
  Decoder d;
  auto r =
      d.decode(R"({"request":{"id":9,"sender":"w","timestamp":"2026-11-21T08:00:00Z","x":tru)");
  REQUIRE_FALSE(r.ok());
  REQUIRE(r.error().id.has_value());
  CHECK(r.error().id->isNumber());
  REQUIRE(r.error().timestampMs.has_value());
  CHECK(*r.error().timestampMs == 1795248000000);
  auto s =
      d.decode(R"({"request":{"id":"s","sender":"w","timestamp":1795248000000,"type":"pi ng"}})");
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().field == "request.type");
  REQUIRE(s.error().timestampMs.has_value());
  CHECK(*s.error().timestampMs == 1795248000000);
}

TEST_CASE("a valid surrogate pair still decodes", "[envelope][bad-input]") {
  Decoder d;
  auto r = d.decode(
      R"({"request":{"id":1,"sender":"s\ud83d\ude00","timestamp":0,"type":"ping","body":{"\uD83D\uDE00":"\u00e9"}}})");
  REQUIRE(r.ok());
  CHECK(r->sender == "s\xF0\x9F\x98\x80");
}

// Found by fuzzing (tests/fuzz/regressions/ingest_batch/empty-value-null-data): librdkafka hands
// over an empty value (a tombstone) as a null pointer with no length; the decoder copied from it.
TEST_CASE("an empty value with no bytes behind it is refused like empty input",
          "[envelope][bad-input]") {
  Decoder d;
  auto r = d.decode(std::string_view());
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().status == Status::kBadRequest);
  CHECK_THAT(r.error().message, Catch::Contains("invalid JSON"));
  CHECK(d.decode(R"({"request":{"id":1,"sender":"s","timestamp":0,"type":"ping"}})").ok());
}
