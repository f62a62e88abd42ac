// Bad input through the real dispatcher (issue #9 items 1-2, the dispatcher's side): no message
// of any size or shape stalls ingest, and a request whose id can be read but fails before the
// schema is stored as a request with its answer, its raw message kept in rejected_messages.
#include <catch2/catch.hpp>

#include "dispatcher_harness.h"
#include "harness/kafka_test_client.h"
#include "test_messages.h"

using namespace edgelink;
using namespace edgelink::testing;

namespace {

/// A ping request with id `id` padded to `bytes` bytes in all.
std::string paddedRequest(const std::string& id, size_t bytes) {
  const std::string head = R"({"request":{"id":")" + id +
                           R"(","sender":"web_backend","timestamp":)" + std::to_string(nowMs()) +
                           R"(,"type":"ping","description":")";
  const std::string tail = "\"}}";
  return head + std::string(bytes - head.size() - tail.size(), 'p') + tail;
}

}  // namespace

TEST_CASE("oversize and garbage messages do not stall the dispatcher's ingest",
          "[dispatcher][bad-input]") {
  // A topic accepting 8 MiB (made without `edges add`, or with its limit raised): the
  // dispatcher must not depend on the broker refusing large messages.
  DispatcherHarness::Setup setup;
  setup.topicConfigs["max.message.bytes"] = std::to_string(8 * 1024 * 1024);
  DispatcherHarness h(setup);
  h.startDaemon();
  KafkaTestClient kafka(h.broker().bootstrap());
  const std::vector<size_t> sizes = {65 * 1024 + 1, 400 * 1024, 1024 * 1024,
                                     size_t{6 * 1024 * 1024}};
  for (size_t bytes : sizes) {
    kafka.produce(h.topic("e1"), "e1", paddedRequest("big-" + std::to_string(bytes), bytes));
  }
  kafka.produce(h.topic("e1"), "e1", std::string(200 * 1024, '['));
  kafka.produce(h.topic("e1"), "e1", "\xff\xfe garbage \x01");
  kafka.produce(h.topic("e1"), "e1", "");
  kafka.produce(h.topic("e1"), "e1", requestJson("after-bad-input"));
  REQUIRE(h.waitFor("SELECT count(*) FROM requests WHERE id = 'after-bad-input'", "1"));
  for (size_t bytes : sizes) {
    INFO(bytes << " bytes");
    const std::string id = "big-" + std::to_string(bytes);
    CHECK(h.sql("SELECT status_code || ' ' || payload_bytes || ' ' || length(payload)"
                " FROM rejected_messages WHERE message_id = '" +
                id + "'") == "413 " + std::to_string(bytes) + " 4096");
    // The id could be read: the request is recorded, so the edge's 413 will join it.
    CHECK(h.count("SELECT count(*) FROM requests WHERE id = '" + id + "'") == 1);
  }
  CHECK(h.count("SELECT count(*) FROM rejected_messages WHERE message_id IS NULL") == 3);
  CHECK(h.count("SELECT count(*) FROM rejected_messages") ==
        static_cast<int64_t>(sizes.size()) + 3);
  CHECK(h.daemon(0).tryWait() == std::nullopt);  // still running
}

TEST_CASE(
    "a request that fails before the schema and its 400 answer are one failed request with its "
    "raw message kept",
    "[dispatcher][bad-input]") {
  DispatcherHarness h;
  h.startDaemon();
  KafkaTestClient kafka(h.broker().bootstrap());
  const std::string ts = std::to_string(nowMs());
  auto head = [&](const std::string& id) {
    return R"({"request":{"id":")" + id + R"(","sender":"web_backend","timestamp":)" + ts +
           R"(,"type":"ping",)";
  };
  struct Row {
    std::string id;
    std::string bytes;
  };
  const std::vector<Row> rows = {
      {"truncated", head("truncated") + R"("body":{"x":[1,2)"},
      {"lone-surrogate", head("lone-surrogate") + R"("description":"\udfff","body":{}}})"},
      {"number-1e400", head("number-1e400") + R"("body":{"n":1e400}}})"},
      {"too-deep",
       head("too-deep") + R"("body":{"a":)" + std::string(40, '[') + std::string(40, ']') + "}}}"},
  };
  for (const auto& row : rows) {
    kafka.produce(h.topic("e1"), "e1", row.bytes);
    // The agent answers such a request 400 (its id could be read).
    kafka.produce(h.topic("e1"), "e1", responseJson(row.id, 400, "ping"));
  }
  for (const auto& row : rows) {
    INFO(row.id);
    REQUIRE(h.waitFor(
        "SELECT state || ' ' || status_code FROM request_status WHERE id = '" + row.id + "'",
        "failed 400"));
    CHECK(h.count("SELECT count(*) FROM requests WHERE id = '" + row.id + "'") == 1);
    CHECK(h.count("SELECT count(*) FROM responses WHERE id = '" + row.id + "'") == 1);
    CHECK(h.sql("SELECT kind || ' ' || status_code FROM rejected_messages WHERE message_id = '" +
                row.id + "'") == "request 400");
    CHECK(h.sql("SELECT sender || ' ' || type FROM requests WHERE id = '" + row.id + "'") ==
          "web_backend ping");
  }
  auto shown = h.cli({"requests", "show", "lone-surrogate", "--json"});
  CHECK(shown.code == 0);
  CHECK_THAT(shown.out, Catch::Contains("\"state\":\"failed\""));
  CHECK_THAT(shown.out, Catch::Contains("\"status_code\":400"));
}
