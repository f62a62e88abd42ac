// ctest runs each Catch test case by name and splits a name at ';': a test so named never runs
// (ctest reports two failing halves). Every test name in tests/ must do without one.
#include <catch2/catch.hpp>
#include <cctype>
#include <filesystem>
#include <string>

#include "harness/test_util.h"

namespace {

/// The name of the TEST_CASE starting at `at` (its string literals joined), or "" if unreadable.
std::string testName(const std::string& text, size_t at) {
  std::string name;
  size_t i = text.find('(', at) + 1;
  for (;;) {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i])) != 0) {
      ++i;
    }
    if (i >= text.size() || text[i] != '"') {
      return name;
    }
    size_t end = i + 1;
    while (end < text.size() && text[end] != '"') {
      end += text[end] == '\\' ? 2 : 1;
    }
    name += text.substr(i + 1, end - i - 1);
    i = end + 1;
  }
}

}  // namespace

TEST_CASE("no test name holds a semicolon (ctest would split it)", "[docs]") {
  namespace fs = std::filesystem;
  size_t names = 0;
  for (const auto& entry : fs::recursive_directory_iterator(EDGELINK_SOURCE_DIR "/tests")) {
    if (!entry.is_regular_file() || entry.path().extension() != ".cpp") {
      continue;
    }
    const std::string text = edgelink::testing::readText(entry.path().string());
    for (size_t at = text.find("TEST_CASE("); at != std::string::npos;
         at = text.find("TEST_CASE(", at + 1)) {
      if (at > 0 && text[at - 1] != '\n') {
        continue;  // a test case starts a line (this file names the macro in strings too)
      }
      const std::string name = testName(text, at);
      if (name.empty()) {
        continue;
      }
      ++names;
      INFO(entry.path().string() << ": " << name);
      CHECK(name.find(';') == std::string::npos);
    }
  }
  CHECK(names > 500);  // the scan found the suite's tests
}
