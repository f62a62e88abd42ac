// docs/PROTOCOL.md explains schemas/: keep them consistent. Every request/event type and stop
// reason the code knows, and every body schema file, is named in the document; every complete
// envelope shown in a ```json block decodes as a valid message.
#include <catch2/catch.hpp>
#include <regex>
#include <sstream>

#include "envelope/envelope.h"
#include "envelope/schema_registry.h"
#include "envelope/types.h"
#include "harness/test_util.h"

using namespace edgelink;
using namespace edgelink::envelope;

namespace {

std::string protocolDoc() {
  std::string text = testing::readText(std::string(EDGELINK_SOURCE_DIR) + "/docs/PROTOCOL.md");
  REQUIRE_FALSE(text.empty());
  return text;
}

std::vector<std::string> jsonBlocks(const std::string& doc) {
  std::vector<std::string> blocks;
  size_t pos = 0;
  while ((pos = doc.find("```json\n", pos)) != std::string::npos) {
    size_t start = pos + 8;
    size_t end = doc.find("```", start);
    REQUIRE(end != std::string::npos);
    blocks.push_back(doc.substr(start, end - start));
    pos = end + 3;
  }
  return blocks;
}

}  // namespace

TEST_CASE("PROTOCOL.md names every type, stop reason, request outcome and body schema", "[docs]") {
  const std::string doc = protocolDoc();
  for (const char* name : {request_type::kChangeFrpClientConfig,
                           request_type::kFrpStart,
                           request_type::kFrpStop,
                           request_type::kFrpStatus,
                           request_type::kSystemInfo,
                           request_type::kPing,
                           event_type::kAgentStarted,
                           event_type::kAgentStopping,
                           event_type::kHeartbeat,
                           event_type::kFrpStarted,
                           event_type::kFrpStopped,
                           stop_reason::kRequested,
                           stop_reason::kAutoStop,
                           stop_reason::kExitedUnexpectedly,
                           stop_reason::kAgentShutdown,
                           stop_reason::kExpiredWhileDown,
                           stop_reason::kReplaced,
                           stop_reason::kStartFailed,
                           legacy::kActionStart,
                           legacy::kActionStop,
                           legacy::kAutoStopField,
                           request_outcome::kOk,
                           request_outcome::kRejected,
                           request_outcome::kStale,
                           request_outcome::kFailed,
                           request_outcome::kRedelivered}) {
    INFO(name);
    CHECK(doc.find(std::string("`") + name + "`") != std::string::npos);
  }
  for (const auto& path : SchemaRegistry::embedded().paths()) {
    auto slash = path.rfind('/');
    if (path.rfind("bodies/", 0) != 0 || path.find("/error.json") != std::string::npos) {
      continue;
    }
    std::string type = path.substr(slash + 1, path.size() - slash - 1 - 5);
    INFO(path);
    CHECK(doc.find("`" + type + "`") != std::string::npos);
  }
  for (const char* code : {"200", "400", "403", "404", "408", "409", "413", "500", "503", "504"}) {
    INFO(code);
    CHECK(doc.find(std::string("| ") + code + " |") != std::string::npos);
  }
}

TEST_CASE("every complete envelope in the docs decodes", "[docs]") {
  Decoder decoder;
  for (const char* file :
       {"docs/PROTOCOL.md", "docs/DISPATCHER.md", "README.md", "README.zh-CN.md"}) {
    const std::string doc = testing::readText(std::string(EDGELINK_SOURCE_DIR) + "/" + file);
    INFO(file);
    REQUIRE_FALSE(doc.empty());
    int decoded = 0;
    for (const auto& block : jsonBlocks(doc)) {
      std::string trimmed = block.substr(block.find_first_not_of(" \n"));
      bool envelope = trimmed.rfind("{\"request\"", 0) == 0 ||
                      trimmed.rfind("{\"response\"", 0) == 0 || trimmed.rfind("{\"event\"", 0) == 0;
      bool elided = block.find("...") != std::string::npos;
      if (!envelope || elided) {
        continue;
      }
      INFO(block);
      auto r = decoder.decode(block);
      CHECK(r.ok());
      ++decoded;
    }
    CHECK(decoded >= 1);
  }
}
