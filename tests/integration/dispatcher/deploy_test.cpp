// What ships beside the binary: the systemd unit and the example configuration.
#include <catch2/catch.hpp>
#include <regex>
#include <set>

#include "core/subprocess.h"
#include "dispatcher_harness.h"

using namespace edgelink;
using namespace edgelink::testing;

namespace {

std::string sourceFile(const std::string& rel) {
  return std::string(EDGELINK_SOURCE_DIR) + "/" + rel;
}

struct Ran {
  int code = -1;
  std::string output;
};

Ran runTool(const std::vector<std::string>& argv, const std::string& outPath) {
  SpawnOptions opts;
  opts.argv = argv;
  opts.stdoutPath = outPath;
  opts.stderrPath = outPath;
  auto p = Subprocess::spawn(opts);
  REQUIRE(p);
  auto status = p->waitFor(60000);
  REQUIRE(status);
  return {WIFEXITED(*status) ? WEXITSTATUS(*status) : -1, readText(outPath)};
}

}  // namespace

TEST_CASE("systemd-analyze verify accepts the unit with the built binary", "[dispatcher][deploy]") {
  TempDir dir;
  std::string unit = readText(sourceFile("systemd/cloud-dispatcher.service"));
  REQUIRE_FALSE(unit.empty());
  CHECK_THAT(unit, Catch::Contains("Type=notify"));
  CHECK_THAT(unit, Catch::Contains("WatchdogSec="));
  CHECK_THAT(unit, Catch::Contains("Restart=always"));
  CHECK_THAT(unit, Catch::Matches("(.|\\n)*\\nUser=[a-z]+\\n(.|\\n)*"));
  const std::string installed = "/usr/local/bin/cloud-dispatcher";
  REQUIRE(unit.find(installed) != std::string::npos);
  unit.replace(unit.find(installed), installed.size(), dispatcherPath());
  writeText(dir.file("cloud-dispatcher.service"), unit);
  auto r = runTool({"systemd-analyze", "verify", dir.file("cloud-dispatcher.service")},
                   dir.file("verify.out"));
  CHECK(r.code == 0);
  CHECK(r.output.empty());  // systemd warns about unknown keys without failing
}

TEST_CASE("the example config loads, names every option, and passes verify",
          "[dispatcher][deploy]") {
  TempDir dir;
  const std::string example = sourceFile("config/cloud-dispatcher.example.conf");
  auto verify = runTool({dispatcherPath(), "--config", example, "verify"}, dir.file("v.out"));
  CHECK(verify.code == 0);
  CHECK_THAT(verify.output, Catch::Contains("configuration OK"));
  // Every option the binary has is a key in the example (set or commented).
  auto help = runTool({dispatcherPath(), "--help"}, dir.file("help.out"));
  CHECK(help.code == 0);
  const std::string text = readText(example);
  std::set<std::string> options;
  std::regex flag("\n +(?:-[a-z], ?)?--([a-z][a-z0-9-]+)");
  for (std::sregex_iterator it(help.output.begin(), help.output.end(), flag), end; it != end;
       ++it) {
    options.insert((*it)[1]);
  }
  for (const char* notAKey : {"help", "version", "config", "json", "verbose", "help-all"}) {
    options.erase(notAKey);
  }
  CHECK(options.size() >= 25);
  for (const auto& o : options) {
    INFO("option --" << o);
    CHECK(std::regex_search(text, std::regex("(^|\\n)#? ?" + o + " = ")));
  }
}
