// Pattern (our JSON Schema regex engine) against std::regex with ECMAScript syntax, the
// semantics JSON Schema prescribes, over every pattern our schemas use plus a spread of
// constructs, on hand-picked and generated subjects.
#include "jsonschema/pattern.h"

#include <catch2/catch.hpp>
#include <random>
#include <regex>

using edgelink::jsonschema::Pattern;

namespace {

const std::vector<std::string> kPatterns = {
    // the schemas' own
    "^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt "
    "][0-9]{2}:[0-9]{2}:[0-9]{2}([.][0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$",
    "^[a-z][a-z0-9_.]*$",
    "^[1-5][0-9][0-9]$",
    "^[A-Za-z0-9._-]+$",
    "^[a-z][a-z0-9_]*$",
    // constructs
    "abc",
    "^abc",
    "abc$",
    "a|bc|d",
    "^a$|^bc$",
    "^(ab|cd)+$",
    "a{2,3}",
    "^a{2,3}$",
    "^a{2,}$",
    "^(a?b){1,2}c$",
    "x*",
    "^$",
    "^x*$",
    "[^a-c]",
    "^\\d+\\.\\d*$",
    "\\w\\s\\w",
    "^(a|)b$",
    "^.$",
    "(x|y)?z",
    "^[-a]+$",
    "^[a\\-z]+$",
    "[]a]",
    "^\\D\\W\\S$",
    "^(?:ab)+$",
    "a{0}b",
};

const std::vector<std::string> kSubjects = {
    "",
    "a",
    "ab",
    "abc",
    "xabcx",
    "aa",
    "aaa",
    "aaaa",
    "abab",
    "cdab",
    "abc d",
    "d",
    "bc",
    "2026-11-21T08:00:00.000Z",
    "2026-11-21t08:00:00+08:00",
    "2026-11-21T08:00:00Z ",
    "2026-11-21 08:00:00.5z",
    "2026-1-21T08:00:00Z",
    "change_frp_client_config",
    "Change",
    "x.y_z9",
    "200",
    "599",
    "600",
    "99",
    "edge-01.a_B",
    "edge 01",
    "3.14",
    "3.",
    ".5",
    "a b",
    "a\tb",
    "bc",
    "b",
    "abbc",
    "bbc",
    "abababc",
    "z",
    "xz",
    "yz",
    "xyz",
    "-a-",
    "a-z",
    "]",
    "#!-",
    "\n",
    "x\ny",
};

}  // namespace

TEST_CASE("Pattern agrees with ECMAScript std::regex", "[pattern]") {
  std::mt19937 rng(12345);
  std::vector<std::string> subjects = kSubjects;
  const std::string alphabet = "abcdxyz019-_.:TZ+ \n";
  for (int i = 0; i < 400; ++i) {
    std::string s;
    size_t len = rng() % 12;
    for (size_t k = 0; k < len; ++k) {
      s += alphabet[rng() % alphabet.size()];
    }
    subjects.push_back(s);
  }
  for (const auto& p : kPatterns) {
    INFO("pattern " << p);
    auto compiled = Pattern::compile(p);
    REQUIRE(compiled.ok());
    std::regex reference(p, std::regex::ECMAScript);
    for (const auto& s : subjects) {
      INFO("subject \"" << s << "\"");
      CHECK(compiled->search(s) == std::regex_search(s, reference));
    }
  }
}

TEST_CASE("Pattern refuses what it cannot run faithfully", "[pattern]") {
  for (const char* bad : {"a(b", "a)b", "[ab", "*a", "a{3,2}", "a\\1", "\\b", "a^b", "a$b", "^a|b",
                          "a{65}", "(a{10}){7}"}) {
    INFO(bad);
    CHECK_FALSE(Pattern::compile(bad).ok());
  }
}
