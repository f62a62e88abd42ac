#include "config/cli_config.h"

#include <stdlib.h>

#include <catch2/catch.hpp>

#include "core/time_format.h"
#include "harness/test_util.h"

using namespace edgelink;

namespace {

struct Options {
  std::string edgeId;
  int64_t maxAge = 600;
  std::vector<std::string> services;
  std::vector<std::string> defaults = {"ssh", "web"};
};

config::ParseOutcome run(CLI::App& app, Options& o, const std::vector<std::string>& args) {
  config::addConfigFile(app);
  app.add_option("--edge-id", o.edgeId);
  app.add_option("--max-age", o.maxAge)->transform(config::durationSeconds());
  config::addListOption(app, "--service", o.services, "services");
  config::addListOption(app, "--default", o.defaults, "with a default")->delimiter(',');
  std::vector<const char*> argv = {"test"};
  for (const auto& a : args) {
    argv.push_back(a.c_str());
  }
  return config::parse(app, static_cast<int>(argv.size()), argv.data());
}

/// Parses `text` as the --config file at `path`, then `args`.
config::ParseOutcome runFile(const std::string& path, const std::string& text, Options& o,
                             std::vector<std::string> args = {}) {
  testing::writeText(path, text);
  args.insert(args.begin(), {"--config", path});
  CLI::App app;
  return run(app, o, args);
}

}  // namespace

TEST_CASE("config files carry every option, flags override, repeated keys collect", "[config]") {
  testing::TempDir dir;
  Options o;
  auto r = runFile(dir.file("a.conf"),
                   "# comment\nedge-id = \"e-1\"\nmax-age = \"15m\"\n"
                   "service = [\"ssh=127.0.0.1:22\", \"fcc_web=127.0.0.1:80\"]\n",
                   o, {"--edge-id", "e-2"});
  REQUIRE(r.proceed);
  CHECK(o.edgeId == "e-2");
  CHECK(o.maxAge == 900);
  CHECK(o.services.size() == 2);
}

TEST_CASE("a list key may be an empty array: none, replacing its default", "[config]") {
  testing::TempDir dir;
  SECTION("[] in the file") {
    Options o;
    o.services = {"left-over"};
    auto r = runFile(dir.file("e.conf"), "service = []\ndefault = [ ]\n", o);
    INFO(r.message);
    REQUIRE(r.proceed);
    CHECK(o.services.empty());
    CHECK(o.defaults.empty());
  }
  SECTION("a flag on the command line still overrides the file's []") {
    Options o;
    auto r = runFile(dir.file("e.conf"), "default = []\n", o, {"--default", "a,b"});
    REQUIRE(r.proceed);
    CHECK(o.defaults == std::vector<std::string>{"a", "b"});
  }
  SECTION("not given: the default stays, and --help shows it") {
    CLI::App app;
    Options o;
    auto r = run(app, o, {});
    REQUIRE(r.proceed);
    CHECK(o.defaults == std::vector<std::string>{"ssh", "web"});
    CHECK_THAT(app.help(), Catch::Contains("[ssh,web]"));
  }
  SECTION("values, and repeated keys, still collect") {
    Options o;
    // `" ,` too: CLI11 2.1 reads an empty item there.
    auto r = runFile(dir.file("e.conf"), "service = [\"a=1\" ,\"b=2\"]\nservice = \"c=3\"\n", o);
    REQUIRE(r.proceed);
    CHECK(o.services == std::vector<std::string>{"a=1", "b=2", "c=3"});
  }
  SECTION("[] for a key that takes one value is an error naming the key") {
    Options o;
    auto r = runFile(dir.file("e.conf"), "edge-id = []\n", o);
    REQUIRE_FALSE(r.proceed);
    CHECK(r.exitCode == 2);
    CHECK_THAT(r.message, Catch::Contains("edge-id: an empty list [] is not a value here"));
  }
  SECTION("[] for a number is refused too") {
    Options o;
    auto r = runFile(dir.file("e.conf"), "max-age = []\n", o);
    REQUIRE_FALSE(r.proceed);
    CHECK_THAT(r.message, Catch::Contains("max-age"));
  }
}

TEST_CASE("an unknown config key is an error naming the file and the key", "[config]") {
  testing::TempDir dir;
  Options o;
  auto r = runFile(dir.file("b.conf"), "edge-id = \"e\"\nedge-idd = \"typo\"\n", o);
  REQUIRE_FALSE(r.proceed);
  CHECK(r.exitCode == 2);
  CHECK_THAT(r.message, Catch::Contains("unknown key 'edge-idd'"));
  CHECK_THAT(r.message, Catch::Contains(dir.file("b.conf")));
}

TEST_CASE("a snake_case key gets a hint with the flag's name", "[config]") {
  testing::TempDir dir;
  Options o;
  auto r = runFile(dir.file("d.conf"), "edge_id = \"e\"\n", o);
  REQUIRE_FALSE(r.proceed);
  CHECK_THAT(r.message, Catch::Contains("did you mean 'edge-id'?"));
}

TEST_CASE("a section header is explained: keys are flat", "[config]") {
  testing::TempDir dir;
  Options o;
  auto r = runFile(dir.file("c.conf"), "[kafka]\nbrokers = \"x\"\n", o);
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

TEST_CASE("an environment variable names the config file unless --config is given", "[config]") {
  testing::TempDir dir;
  testing::writeText(dir.file("env.conf"), "edge-id = \"from-env\"\n");
  testing::writeText(dir.file("flag.conf"), "edge-id = \"from-flag\"\n");
  const std::string var = "EDGELINK_CLI_CONFIG_TEST";
  ::setenv(var.c_str(), dir.file("env.conf").c_str(), 1);
  auto parseWith = [&](const std::vector<std::string>& args, Options& o) {
    CLI::App app;
    config::addConfigFile(app, var);
    app.add_option("--edge-id", o.edgeId);
    std::vector<const char*> argv = {"test"};
    for (const auto& a : args) {
      argv.push_back(a.c_str());
    }
    return config::parse(app, static_cast<int>(argv.size()), argv.data());
  };
  Options fromEnv;
  REQUIRE(parseWith({}, fromEnv).proceed);
  CHECK(fromEnv.edgeId == "from-env");
  Options flagWins;
  REQUIRE(parseWith({"--config", dir.file("flag.conf")}, flagWins).proceed);
  CHECK(flagWins.edgeId == "from-flag");
  Options overridden;
  REQUIRE(parseWith({"--edge-id", "from-cli"}, overridden).proceed);
  CHECK(overridden.edgeId == "from-cli");
  ::setenv(var.c_str(), dir.file("missing.conf").c_str(), 1);
  Options missing;
  auto r = parseWith({}, missing);
  CHECK_FALSE(r.proceed);
  CHECK(r.exitCode == 2);
  CHECK_THAT(r.message, Catch::Contains(var));
  CHECK_THAT(r.message, Catch::Contains("missing.conf"));
  ::unsetenv(var.c_str());
  Options none;
  REQUIRE(parseWith({}, none).proceed);
  CHECK(none.edgeId.empty());
}

TEST_CASE("a missing or unknown command is named with the valid ones", "[config]") {
  auto parseArgs = [](const std::vector<std::string>& args) {
    CLI::App app;
    app.require_subcommand(1);
    app.fallthrough();
    auto* session = app.add_subcommand("session", "");
    session->require_subcommand(1);
    session->add_subcommand("open", "");
    session->add_subcommand("close", "");
    app.add_subcommand("run", "");
    std::vector<const char*> argv = {"/usr/bin/tool"};
    for (const auto& a : args) {
      argv.push_back(a.c_str());
    }
    return config::parse(app, static_cast<int>(argv.size()), argv.data());
  };
  auto unknown = parseArgs({"frob"});
  CHECK(unknown.exitCode == 2);
  CHECK_THAT(unknown.message,
             Catch::StartsWith("unknown command 'frob'; tool commands: session, run"));
  auto nested = parseArgs({"session", "frob"});
  CHECK_THAT(
      nested.message,
      Catch::StartsWith("unknown command 'session frob'; tool session commands: open, close"));
  auto missing = parseArgs({"session"});
  CHECK_THAT(missing.message,
             Catch::StartsWith("tool session: a command is required: open, close"));
  auto none = parseArgs({});
  CHECK_THAT(none.message, Catch::StartsWith("tool: a command is required: session, run"));
}

TEST_CASE("durations are shown as the docs write them", "[config]") {
  CHECK(config::durationText(7200) == "2h");
  CHECK(config::durationText(600) == "10m");
  CHECK(config::durationText(90) == "1m30s");
  CHECK(config::durationText(604800) == "7d");
  CHECK(config::durationText(86400 + 3600 + 1) == "1d1h1s");
  CHECK(config::durationText(0) == "0");
  for (int64_t s : {1, 59, 60, 61, 3599, 3600, 5400, 86399, 86400, 31536000}) {
    INFO(s);
    CHECK(parseDurationSeconds(config::durationText(s)) == s);
  }
  CLI::App app;
  int64_t v = 7200;
  config::durationDefault(
      app.add_option("--auto-stop", v, "")->transform(config::durationSeconds()), v);
  CHECK_THAT(app.help(), Catch::Contains("=2h"));
}
