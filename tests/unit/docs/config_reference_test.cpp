// The configuration reference in docs/AGENT.md ("## Options") and docs/DISPATCHER.md
// ("## Configuration") is checked against the options the daemons register: every option has a
// row, every row is an option, and every default the docs state is the option's default.
#include <catch2/catch.hpp>
#include <map>
#include <set>

#include "agent_config.h"
#include "core/strings.h"
#include "core/time_format.h"
#include "harness/test_util.h"
#include "options.h"

namespace {

struct Row {
  std::string key;
  std::string defaultText;  ///< the second cell as written
};

/// The "| `key` | default | meaning |" rows between `heading` and the next "## " heading.
std::map<std::string, Row> tableRows(const std::string& doc, const std::string& heading) {
  std::map<std::string, Row> rows;
  const auto start = doc.find("\n" + heading + "\n");
  REQUIRE(start != std::string::npos);
  const auto end = doc.find("\n## ", start + heading.size() + 1);
  for (const auto& line : edgelink::split(doc.substr(start, end - start), '\n')) {
    if (line.rfind("| `", 0) != 0) {
      continue;
    }
    const auto cells = edgelink::split(line, '|');  // "", key, default, meaning, ""
    REQUIRE(cells.size() >= 4);
    const std::string key(edgelink::trim(cells[1]));
    REQUIRE(key.size() > 2);
    Row r{key.substr(1, key.size() - 2), std::string(edgelink::trim(cells[2]))};
    rows[r.key] = r;
  }
  return rows;
}

/// Config keys of an app: long names of its options, less the ones that are not keys.
std::map<std::string, const CLI::Option*> configKeys(const CLI::App& app) {
  static const std::set<std::string> notKeys = {"help", "version", "config", "json", "verbose"};
  std::map<std::string, const CLI::Option*> out;
  for (const CLI::Option* o : app.get_options()) {
    if (o->get_lnames().empty() || notKeys.count(o->get_lnames().front()) != 0) {
      continue;
    }
    out[o->get_lnames().front()] = o;
  }
  return out;
}

/// A default cell that states one value: `600`, `10m`, `edge.`. Others ("(required)", "libpq
/// defaults", a sentence) are prose the test leaves alone.
std::optional<std::string> statedDefault(const std::string& cell) {
  if (cell.size() < 3 || cell.front() != '`' || cell.back() != '`' ||
      cell.find('`', 1) != cell.size() - 1) {
    return std::nullopt;
  }
  return cell.substr(1, cell.size() - 2);
}

bool sameDefault(const std::string& documented, const std::string& actual) {
  if (documented == actual || (documented == "false" && actual.empty())) {  // a flag, off
    return true;
  }
  // Durations: the docs may say 10m where the option's default is 600 (seconds).
  auto d = edgelink::parseDurationSeconds(documented);
  auto a = edgelink::parseDurationSeconds(actual);
  if (d && a && *d == *a) {
    return true;
  }
  // Lists: CLI11 writes [a,b,c].
  return "[" + documented + "]" == actual;
}

void checkReference(const CLI::App& app, const std::string& docPath, const std::string& heading) {
  const std::string doc = edgelink::testing::readText(docPath);
  REQUIRE_FALSE(doc.empty());
  const auto rows = tableRows(doc, heading);
  const auto keys = configKeys(app);
  INFO(docPath << " " << heading);
  REQUIRE(keys.size() > 10);
  for (const auto& [key, option] : keys) {
    INFO("option --" << key);
    auto row = rows.find(key);
    CHECK(row != rows.end());
    if (row == rows.end()) {
      continue;
    }
    if (auto documented = statedDefault(row->second.defaultText)) {
      INFO("documented default " << *documented << ", actual " << option->get_default_str());
      CHECK(sameDefault(*documented, option->get_default_str()));
    }
  }
  for (const auto& [key, row] : rows) {
    INFO("documented key " << key);
    CHECK(keys.count(key) == 1);
  }
}

}  // namespace

TEST_CASE("docs/AGENT.md documents every agent option with its default", "[docs]") {
  CLI::App app;
  edgelink::agent::AgentOptions options;
  edgelink::agent::addOptions(app, options);
  checkReference(app, EDGELINK_SOURCE_DIR "/docs/AGENT.md", "## Options");
}

TEST_CASE("docs/DISPATCHER.md documents every dispatcher option with its default", "[docs]") {
  CLI::App app;
  edgelink::dispatcher::Options options;
  options.addTo(app);
  checkReference(app, EDGELINK_SOURCE_DIR "/docs/DISPATCHER.md", "## Configuration");
}

TEST_CASE("the reference check notices a missing row and a wrong default", "[docs]") {
  CLI::App app;
  std::string a = "x";
  int64_t b = 600;
  app.add_option("--alpha", a, "")->capture_default_str();
  app.add_option("--beta", b, "")->capture_default_str();
  const std::string doc =
      "\n## Options\n\n| key | default | meaning |\n| --- | --- | --- |\n"
      "| `alpha` | `y` | a |\n| `gamma` | | c |\n";
  const auto rows = tableRows(doc, "## Options");
  CHECK(rows.count("alpha") == 1);
  CHECK(rows.count("beta") == 0);
  CHECK(rows.count("gamma") == 1);
  CHECK_FALSE(sameDefault(*statedDefault(rows.at("alpha").defaultText), "x"));
  CHECK(sameDefault("10m", "600"));
  CHECK(sameDefault("ssh,fcc_web", "[ssh,fcc_web]"));
  CHECK_FALSE(statedDefault("(required)"));
  CHECK_FALSE(statedDefault("`^` + escaped prefix + `.+`"));
  CHECK(configKeys(app).size() == 2);
}
