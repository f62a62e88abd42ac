// Every example under schemas/examples/ is decoded: valid/ ones must round-trip and also pass
// the integrators' envelope.schema.json; invalid/ ones must be rejected on the field their file
// name starts with ("<field>--<what>.json"; "envelope" for errors not tied to a field).
#include <dirent.h>

#include <algorithm>
#include <catch2/catch.hpp>

#include "envelope/envelope.h"
#include "envelope/types.h"
#include "harness/test_util.h"
#include "jsonschema/json_util.h"

using namespace edgelink;
using namespace edgelink::envelope;

namespace {

std::vector<std::string> listJson(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = opendir(dir.c_str());
  REQUIRE(d != nullptr);
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n.size() > 5 && n.substr(n.size() - 5) == ".json") {
      out.push_back(n);
    }
  }
  closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

const std::string kExamples = std::string(EDGELINK_SCHEMAS_DIR) + "/examples";

}  // namespace

TEST_CASE("valid examples decode, round-trip and pass envelope.schema.json", "[examples]") {
  auto files = listJson(kExamples + "/valid");
  REQUIRE(files.size() >= 20);
  const auto* integrators = SchemaRegistry::embedded().find("envelope.schema.json");
  REQUIRE(integrators != nullptr);
  Decoder d;
  for (const auto& name : files) {
    INFO(name);
    std::string text = testing::readText(kExamples + "/valid/" + name);
    auto r = d.decode(text);
    if (!r) {
      FAIL(r.error().describe());
    }
    // The kind and type are in the file name: <kind>-<type>...
    CHECK(name.rfind(kindName(r->kind), 0) == 0);
    std::string canonical = encode(*r);
    auto again = d.decode(canonical);
    REQUIRE(again.ok());
    CHECK(encode(*again) == canonical);
    CHECK(again->id == r->id);
    CHECK(again->timestampMs == r->timestampMs);

    rapidjson::Document doc;
    doc.Parse(text.c_str());
    rapidjson::SchemaValidator v(*integrators->schema);
    CHECK(doc.Accept(v));
  }
}

TEST_CASE("invalid examples are rejected on the field their name gives", "[examples]") {
  auto files = listJson(kExamples + "/invalid");
  REQUIRE(files.size() >= 25);
  Decoder d;
  for (const auto& name : files) {
    INFO(name);
    auto sep = name.find("--");
    REQUIRE(sep != std::string::npos);
    std::string field = name.substr(0, sep);
    if (field == "envelope") {
      field.clear();
    }
    auto r = d.decode(testing::readText(kExamples + "/invalid/" + name));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().field == field);
    CHECK_FALSE(r.error().message.empty());
  }
}

TEST_CASE("every request type has request and response body schemas and every event type one",
          "[examples]") {
  const auto& reg = SchemaRegistry::embedded();
  const auto valid = listJson(kExamples + "/valid");
  for (const char* t :
       {request_type::kChangeFrpClientConfig, request_type::kFrpStart, request_type::kFrpStop,
        request_type::kFrpStatus, request_type::kSystemInfo, request_type::kPing}) {
    INFO(t);
    CHECK(reg.body(Kind::kRequest, t) != nullptr);
    CHECK(reg.body(Kind::kResponse, t, true) != nullptr);
    CHECK(std::count_if(valid.begin(), valid.end(), [&](const std::string& n) {
            return n.rfind(std::string("request-") + t, 0) == 0;
          }) >= 1);
  }
  CHECK(reg.body(Kind::kResponse, "anything", false) != nullptr);  // error body
  for (const char* t : {event_type::kAgentStarted, event_type::kAgentStopping,
                        event_type::kHeartbeat, event_type::kFrpStarted, event_type::kFrpStopped}) {
    INFO(t);
    CHECK(reg.body(Kind::kEvent, t) != nullptr);
  }
}
