#include "core/log_json.h"

#include <rapidjson/document.h>
#include <spdlog/sinks/ostream_sink.h>

#include <catch2/catch.hpp>
#include <sstream>

#include "core/logging.h"

using namespace edgelink;

namespace {

std::string escaped(std::string_view text) {
  std::string out;
  log::appendJsonEscaped(text, out);
  return out;
}

/// Logs `message` through a logger whose sink formats JSON lines; returns the one line.
std::string logged(const std::string& message, std::map<std::string, std::string> fixed = {},
                   spdlog::level::level_enum level = spdlog::level::info) {
  std::ostringstream out;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_st>(out);
  sink->set_formatter(std::make_unique<log::JsonFormatter>(std::move(fixed)));
  spdlog::logger logger("agent", sink);
  logger.set_level(spdlog::level::trace);
  logger.log(level, message);
  return out.str();
}

rapidjson::Document parsed(const std::string& line) {
  rapidjson::Document doc;
  doc.Parse(line.data(), line.size());
  INFO(line);
  REQUIRE_FALSE(doc.HasParseError());
  REQUIRE(doc.IsObject());
  return doc;
}

}  // namespace

TEST_CASE("JSON log strings escape quotes, backslashes and control characters", "[log]") {
  CHECK(escaped("plain text") == "plain text");
  CHECK(escaped("a \"quoted\" \\ path") == "a \\\"quoted\\\" \\\\ path");
  CHECK(escaped("two\nlines\tand\r\x01\x1f\x7f") ==
        "two\\nlines\\tand\\u000d\\u0001\\u001f\\u007f");
  CHECK(escaped(std::string("nul\0byte", 8)) == "nul\\u0000byte");
}

TEST_CASE("JSON log strings keep valid UTF-8 and replace every invalid byte", "[log]") {
  CHECK(escaped("caf\xc3\xa9 \xe4\xb8\xad \xf0\x9f\x98\x80") ==
        "caf\xc3\xa9 \xe4\xb8\xad \xf0\x9f\x98\x80");
  CHECK(escaped("\xff") == "\\ufffd");
  CHECK(escaped("\xc3") == "\\ufffd");                                   // truncated at the end
  CHECK(escaped("\xe4\xb8x") == "\\ufffd\\ufffdx");                      // truncated before ASCII
  CHECK(escaped("\xc0\x80") == "\\ufffd\\ufffd");                        // overlong NUL
  CHECK(escaped("\xe0\x80\xaf") == "\\ufffd\\ufffd\\ufffd");             // overlong '/'
  CHECK(escaped("\xed\xa0\x80") == "\\ufffd\\ufffd\\ufffd");             // a UTF-16 surrogate
  CHECK(escaped("\xf4\x90\x80\x80") == "\\ufffd\\ufffd\\ufffd\\ufffd");  // past U+10FFFF
  CHECK(escaped("\x80 ok") == "\\ufffd ok");
}

TEST_CASE("request fields are read from key=value tokens, punctuation trimmed", "[log]") {
  auto f = log::requestFields(
      "request id=0190f3a2 type=frp_start from=cloud_dispatcher edge=e-1: outcome=200 ms=12; "
      "note=x");
  CHECK(f == std::map<std::string, std::string>{{"id", "0190f3a2"},
                                                {"type", "frp_start"},
                                                {"from", "cloud_dispatcher"},
                                                {"edge", "e-1"},
                                                {"outcome", "200"},
                                                {"ms", "12"}});
  CHECK(log::requestFields("stored (id=abc, edge=e2)") ==
        std::map<std::string, std::string>{{"id", "abc"}, {"edge", "e2"}});
  CHECK(log::requestFields("request id=\"uuid-1\" type=ping (request id=\"7\")") ==
        std::map<std::string, std::string>{{"id", "uuid-1"}, {"type", "ping"}});
  CHECK(log::requestFields("id=\"\"").empty());
  CHECK(log::requestFields("no fields here; a=b c = d").empty());
  CHECK(log::requestFields("id= type=").empty());
  CHECK(log::requestFields("").empty());
  CHECK(log::requestFields("=====").empty());
}

TEST_CASE("a JSON log line is one object with time, level, logger, fields and msg", "[log]") {
  std::string line = logged("request id=r1 type=ping from=cli edge=e1 outcome=200 ms=3");
  CHECK(line.back() == '\n');
  CHECK(line.find('\n') == line.size() - 1);
  auto doc = parsed(line);
  CHECK(std::string(doc["level"].GetString()) == "info");
  CHECK(std::string(doc["logger"].GetString()) == "agent");
  CHECK(std::string(doc["id"].GetString()) == "r1");
  CHECK(std::string(doc["type"].GetString()) == "ping");
  CHECK(std::string(doc["outcome"].GetString()) == "200");
  REQUIRE(doc["ms"].IsNumber());
  CHECK(doc["ms"].GetInt() == 3);
  CHECK(std::string(doc["msg"].GetString()) ==
        "request id=r1 type=ping from=cli edge=e1 outcome=200 ms=3");
  std::string time = doc["time"].GetString();
  CHECK(time.size() == 24);  // 2026-12-02T17:45:20.123Z
  CHECK(time[10] == 'T');
  CHECK(time.back() == 'Z');
}

TEST_CASE("JSON log lines carry the process's fixed fields, and a message's own edge wins",
          "[log]") {
  auto doc = parsed(logged("heartbeat sent", {{"edge", "elevator-7"}}, spdlog::level::warn));
  CHECK(std::string(doc["edge"].GetString()) == "elevator-7");
  CHECK(std::string(doc["level"].GetString()) == "warning");
  auto other = parsed(logged("request id=x edge=elevator-9", {{"edge", "elevator-7"}}));
  CHECK(std::string(other["edge"].GetString()) == "elevator-9");
}

TEST_CASE("JSON log lines stay valid JSON whatever the message holds", "[log]") {
  std::string hostile = "bad \"input\" \\ \n\t\x01 \xff\xfe id=\"x\xc3 ms=1.2.3 ms=007";
  auto doc = parsed(logged(hostile));
  CHECK(std::string(doc["id"].GetString()) == "\"x\xef\xbf\xbd");  // U+FFFD, as UTF-8
  CHECK(doc["ms"].IsString());                                     // not a number: kept as text
  auto big = parsed(logged(std::string(100000, 'x') + " id=end"));
  CHECK(std::string(big["id"].GetString()) == "end");
}

TEST_CASE("log formats parse strictly", "[log]") {
  CHECK(log::parseFormat("text").value() == log::Format::kText);
  CHECK(log::parseFormat("json").value() == log::Format::kJson);
  auto bad = log::parseFormat("JSON");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message == "unknown log format 'JSON': expected text or json");
}
