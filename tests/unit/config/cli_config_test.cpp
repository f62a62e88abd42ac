#include "config/cli_config.h"

#include <catch2/catch.hpp>

#include "harness/test_util.h"

using namespace edgelink;

namespace {

struct Options {
  std::string edgeId;
  int64_t maxAge = 600;
  std::vector<std::string> services;
};

config::ParseOutcome run(CLI::App& app, Options& o, const std::vector<std::string>& args) {
  config::addConfigFile(app);
  app.add_option("--edge-id", o.edgeId);
  app.add_option("--max-age", o.maxAge)->transform(config::durationSeconds());
  app.add_option("--service", o.services);
  std::vector<const char*> argv = {"test"};
  for (const auto& a : args) {
    argv.push_back(a.c_str());
  }
  return config::parse(app, static_cast<int>(argv.size()), argv.data());
}

}  // namespace

TEST_CASE("config files carry every option, flags override, repeated keys collect", "[config]") {
  testing::TempDir dir;
  testing::writeText(dir.file("a.conf"),
                     "# comment\nedge-id = \"e-1\"\nmax-age = \"15m\"\n"
                     "service = [\"ssh=127.0.0.1:22\", \"fcc_web=127.0.0.1:80\"]\n");
  CLI::App app;
  Options o;
  auto r = run(app, o, {"--config", dir.file("a.conf"), "--edge-id", "e-2"});
  REQUIRE(r.proceed);
  CHECK(o.edgeId == "e-2");
  CHECK(o.maxAge == 900);
  CHECK(o.services.size() == 2);
}

TEST_CASE("an unknown config key is an error naming the file and the key", "[config]") {
  testing::TempDir dir;
  testing::writeText(dir.file("b.conf"), "edge-id = \"e\"\nedge-idd = \"typo\"\n");
  CLI::App app;
  Options o;
  auto r = run(app, o, {"--config", dir.file("b.conf")});
  REQUIRE_FALSE(r.proceed);
  CHECK(r.exitCode == 2);
  CHECK_THAT(r.message, Catch::Contains("unknown key 'edge-idd'"));
  CHECK_THAT(r.message, Catch::Contains(dir.file("b.conf")));
}

TEST_CASE("a snake_case key gets a hint with the flag's name", "[config]") {
  testing::TempDir dir;
  testing::writeText(dir.file("d.conf"), "edge_id = \"e\"\n");
  CLI::App app;
  Options o;
  auto r = run(app, o, {"--config", dir.file("d.conf")});
  REQUIRE_FALSE(r.proceed);
  CHECK_THAT(r.message, Catch::Contains("did you mean 'edge-id'?"));
}

TEST_CASE("a section header is explained: keys are flat", "[config]") {
  testing::TempDir dir;
  testing::writeText(dir.file("c.conf"), "[kafka]\nbrokers = \"x\"\n");
  CLI::App app;
  Options o;
  auto r = run(app, o, {"--config", dir.file("c.conf")});
  REQUIRE_FALSE(r.proceed);
  CHECK_THAT(r.message, Catch::Contains("unknown section [kafka]"));
}

TEST_CASE("bad durations and missing files name the option", "[config]") {
  CLI::App app;
  Options o;
  auto r = run(app, o, {"--max-age", "ten minutes"});
  REQUIRE_FALSE(r.proceed);
  CHECK_THAT(r.message, Catch::Contains("--max-age"));
  CHECK_THAT(r.message, Catch::Contains("ten minutes"));
  CLI::App app2;
  Options o2;
  auto missing = run(app2, o2, {"--config", "/nonexistent/edge-agent.conf"});
  REQUIRE_FALSE(missing.proceed);
  CHECK_THAT(missing.message, Catch::Contains("/nonexistent/edge-agent.conf"));
}

TEST_CASE("problems are all collected, each naming its key", "[config]") {
  config::Problems p;
  CHECK(p.empty());
  p.add("edge_id", "required");
  p.add("frps_port", "expected 1-65535, got 0");
  REQUIRE(p.lines().size() == 2);
  CHECK(p.toError().message == "edge_id: required\nfrps_port: expected 1-65535, got 0");
}
