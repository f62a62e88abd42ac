#include "unit_util.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <stdexcept>

#include "core/subprocess.h"

namespace edgelink::agent::test {

std::string fakesDir() {
  return EDGELINK_FAKES_DIR;
}

std::vector<envelope::Envelope> sent(const Actions& actions) {
  std::vector<envelope::Envelope> out;
  envelope::Decoder decoder;
  for (const Action& a : actions) {
    if (const auto* send = std::get_if<action::Send>(&a)) {
      auto d = decoder.decode(send->value);
      INFO(send->value);
      REQUIRE(d.ok());
      out.push_back(std::move(*d));
    }
  }
  return out;
}

AgentOptions validOptions(const testing::TempDir& dir) {
  testing::writeText(dir.file("token"), "t0ken\n");
  ::chmod(dir.file("token").c_str(), 0600);
  AgentOptions o;
  o.edgeId = "elevator-0042";
  o.kafkaBrokers = "127.0.0.1:9092";
  o.stateDir = dir.file("state");
  o.frpcPath = fakesDir() + "/fake_frpc.py";
  o.frpsAddr = "frps.example.com";
  o.frpsTokenFile = dir.file("token");
  o.services = {"ssh=127.0.0.1:22", "fcc_web=127.0.0.1:80", "camera_admin=192.168.1.64:80"};
  o.remotePorts = "30000-39999";
  // Tests of other things send unsigned requests; signed_requests_test.cpp turns this on.
  o.requireSignedRequests = false;
  // Tests of other things see the one get_config asked at start, never its retries or refresh
  // (config_fetch_test.cpp and remote_config_core_test.cpp test those).
  o.configRefresh = 0;
  o.configRequestTimeout = 3600;
  return o;
}

AgentConfig validConfig(const testing::TempDir& dir) {
  auto v = validate(validOptions(dir));
  INFO(v.problems.toError().message);
  REQUIRE(v.problems.empty());
  return v.config;
}

envelope::Envelope roundTrip(const envelope::Envelope& e) {
  envelope::Decoder decoder;
  std::string bytes = envelope::encode(e);
  auto d = decoder.decode(bytes);
  INFO(bytes);
  if (!d) {
    FAIL("the agent's own output does not decode: " << d.error().describe());
  }
  return std::move(*d);
}

std::string runPython(const std::string& script, const std::vector<std::string>& args) {
  testing::TempDir dir("agent-py");
  SpawnOptions opts;
  opts.argv = {"python3", "-c", script};
  opts.argv.insert(opts.argv.end(), args.begin(), args.end());
  opts.stdoutPath = dir.file("out");
  opts.stderrPath = dir.file("err");
  auto p = Subprocess::spawn(opts);
  if (!p) {
    throw std::runtime_error(p.error().describe());
  }
  int status = p->waitFor(60000).value_or(-1);
  if (status != 0) {
    throw std::runtime_error("python3 failed: " + testing::readText(dir.file("err")));
  }
  return testing::readText(dir.file("out"));
}

std::string parseFrpcConfigs(const std::vector<std::string>& paths) {
  static const char* kScript = R"PY(
import json, sys, tomllib
sys.path.insert(0, sys.argv[1])
import fake_frpc
out = []
for path in sys.argv[2:]:
    try:
        cfg = fake_frpc.load_config(path)
        if cfg["legacy"]:
            # frpc reads INI leniently (unknown keys are ignored): the sections and keys as
            # written, for the caller to check exactly.
            with open(path, encoding="utf-8") as f:
                raw = fake_frpc.parse_ini(f.read())
        else:
            with open(path, "rb") as f:
                raw = tomllib.load(f)
        out.append({"ok": True, "cfg": cfg, "raw": raw})
    except fake_frpc.ConfigError as e:
        out.append({"ok": False, "error": str(e)})
print(json.dumps(out))
)PY";
  std::vector<std::string> args = {fakesDir()};
  args.insert(args.end(), paths.begin(), paths.end());
  return runPython(kScript, args);
}

}  // namespace edgelink::agent::test
