// Signed requests and answers with the real agent on the real broker: forged, altered and
// unsigned requests never act (frpc stand-in never started) and never crash the agent; a request
// signed by the Python reference signer acts; what the agent produces verifies with its board key;
// `edge-agent key` prints that key.

#include <sys/stat.h>
#include <sys/wait.h>

#include <catch2/catch.hpp>

#include "agent_harness.h"
#include "core/strings.h"
#include "envelope/json_util.h"

using namespace edgelink;
using namespace edgelink::testing;

namespace {

const char* const kStartBody = R"({"services":{"ssh":31022}})";

std::string errorOf(const envelope::Envelope& e) {
  const char* v = json::getString(e.body(), "error");
  return v ? v : "";
}

struct Run {
  int status = -1;
  std::string out;
  std::string err;
};

Run runProgram(std::vector<std::string> argv, const TempDir& dir,
               const std::string& stdinText = "") {
  static int runs = 0;  // the output files are appended to: one pair per run
  const std::string n = std::to_string(++runs);
  SpawnOptions opts;
  opts.argv = std::move(argv);
  opts.stdoutPath = dir.file("run.out" + n);
  opts.stderrPath = dir.file("run.err" + n);
  if (!stdinText.empty()) {
    writeText(dir.file("run.in"), stdinText);
    opts.stdinPath = dir.file("run.in");
  }
  auto p = Subprocess::spawn(opts);
  REQUIRE(p.ok());
  Run r;
  int ws = p->waitFor(30000).value_or(-1);
  r.status = ws >= 0 && WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
  r.out = readText(dir.file("run.out" + n));
  r.err = readText(dir.file("run.err" + n));
  return r;
}

}  // namespace

TEST_CASE("signing (real agent): forged, altered and unsigned starts are refused, none acts",
          "[agent][signing]") {
  AgentUnderTest agent;
  agent.start();
  auto stranger = security::SigningKey::generate();
  REQUIRE(stranger.ok());
  struct Case {
    const char* name;
    int status;
  };
  std::vector<Case> cases;
  auto produce = [&](const char* name, int status, const std::string& value,
                     const KafkaTestClient::Headers& headers) {
    agent.produceWithHeaders(value, headers);
    cases.push_back({name, status});
  };
  auto start = [](const std::string& id) {
    return requestJson(envelope::Id::text(id), "frp_start", kStartBody, nowMs());
  };
  const std::string k(security::kKeyIdHeader), s(security::kSignatureHeader);
  {
    const std::string v = start("unsigned");
    produce("unsigned", 401, v, {});
  }
  {
    std::string v = start("truncated");
    auto h = agent.signatureHeaders(v);
    produce("truncated", 401, v.substr(0, v.size() - 3), h);
  }
  {
    std::string v = start("altered");
    auto h = agent.signatureHeaders(v);
    v.replace(v.find("31022"), 5, "31099");
    produce("altered", 401, v, h);
  }
  {
    std::string v = start("wrong-topic");
    produce("wrong-topic", 401, v, agent.signatureHeaders(v, nullptr, agent.topic() + "x"));
  }
  {
    std::string v = start("wrong-key");
    produce("wrong-key", 403, v, agent.signatureHeaders(v, &*stranger));
  }
  {
    std::string v = start("swapped");
    auto h = agent.signatureHeaders(v);
    produce("swapped", 401, v, {{k, h[1].second}, {s, h[0].second}});
  }
  {
    std::string v = start("duplicated");
    auto h = agent.signatureHeaders(v);
    produce("duplicated", 401, v, {h[0], h[1], h[1]});
  }
  {
    std::string v = start("short-sig");
    auto h = agent.signatureHeaders(v);
    produce("short-sig", 401, v, {h[0], {s, h[1].second.substr(0, 40)}});
  }
  {
    std::string v = start("key-only");
    produce("key-only", 401, v, {agent.signatureHeaders(v)[0]});
  }
  for (const auto& c : cases) {
    INFO("case " << c.name);
    auto r = agent.response(envelope::Id::text(c.name));
    CHECK(r.statusCode == c.status);
    CHECK_THAT(errorOf(r), Catch::Contains("signature check failed"));
    CHECK_THAT(errorOf(r), Catch::Contains("not acted on"));
  }
  // The agent is alive and answers a valid signed ping; nothing ever started frpc.
  auto ping = agent.send("ping");
  CHECK(agent.response(ping).statusCode == 200);
  CHECK(agent.frpcStarts().empty());
  CHECK(agent.running());
  const std::string log = agent.agentLog();
  CHECK_THAT(log, Catch::Contains("type=frp_start from=web_backend edge=e1 outcome=401"));
  CHECK_THAT(log, Catch::Contains("outcome=403"));
}

TEST_CASE("signing (real agent): a forged id does not pre-empt the genuine signed start",
          "[agent][signing]") {
  AgentUnderTest agent;
  agent.start();
  auto id = envelope::Id::text("taken-first");
  const std::string v = requestJson(id, "frp_start", kStartBody, nowMs());
  agent.produceWithHeaders(v, {});
  CHECK(agent.response(id).statusCode == 401);
  agent.produceRaw(v);  // the same request, signed
  auto genuine = agent.log().waitFor(
      [&](const envelope::Envelope& e) {
        return e.kind == envelope::Kind::kResponse && e.id == id && e.statusCode == 200;
      },
      20000);
  REQUIRE(genuine);
  CHECK(agent.frpcStarts().size() == 1);
}

TEST_CASE("signing (real agent): what the agent sends verifies with its board key",
          "[agent][signing]") {
  AgentUnderTest agent;
  agent.start();
  auto id = agent.send("ping");
  REQUIRE(agent.response(id).statusCode == 200);
  security::KeyRing board;
  board.add(agent.boardPublicKey());
  KafkaTestClient client(agent.broker().bootstrap());
  auto records = client.readFromStart(agent.topic(), 3, 20000);  // agent_started, ping, pong
  size_t fromAgent = 0;
  for (const auto& rec : records) {
    envelope::Decoder decoder;
    auto e = decoder.decode(rec.value);
    REQUIRE(e.ok());
    if (e->sender != "edge_board") {
      continue;
    }
    ++fromAgent;
    auto v = board.verify(agent.topic(), rec.value,
                          {rec.header(std::string(security::kKeyIdHeader)),
                           rec.header(std::string(security::kSignatureHeader))});
    INFO(rec.value);
    CHECK(v.valid());
    // And not with the cloud's key: it is the board's own.
    security::KeyRing cloud;
    cloud.add(agent.cloudKey().publicKey());
    CHECK(cloud
              .verify(agent.topic(), rec.value,
                      {rec.header(std::string(security::kKeyIdHeader)),
                       rec.header(std::string(security::kSignatureHeader))})
              .verdict == security::Verdict::kUnknownKey);
  }
  CHECK(fromAgent >= 2);
  struct stat st {};
  REQUIRE(::stat((agent.stateDir() + "/agent.key").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
}

TEST_CASE("signing (real agent): a start signed by the Python reference signer acts",
          "[agent][signing]") {
  AgentUnderTest agent;
  agent.start();
  TempDir dir;
  auto id = envelope::Id::text("python-signed");
  const std::string v = requestJson(id, "frp_start", kStartBody, nowMs());
  auto signer = runProgram({"python3", sourceDir() + "/tools/signing/edgelink_sign.py", "sign",
                            "--key", agent.cloudKeyFile(), "--topic", agent.topic()},
                           dir, v);
  INFO(signer.err);
  REQUIRE(signer.status == 0);
  KafkaTestClient::Headers headers;
  for (const auto& line : split(signer.out, '\n')) {
    auto colon = line.find(": ");
    if (colon != std::string::npos) {
      headers.emplace_back(line.substr(0, colon), line.substr(colon + 2));
    }
  }
  REQUIRE(headers.size() == 2);
  agent.produceWithHeaders(v, headers);
  CHECK(agent.response(id).statusCode == 200);
  CHECK(agent.frpcStarts().size() == 1);
}

TEST_CASE("edge-agent key prints the board's public key, made once, never the private key",
          "[agent][signing][cli]") {
  TempDir dir;
  const std::string state = dir.file("state");
  auto first = runProgram({edgeAgentPath(), "key", "--state-dir", state, "--edge-id", "e9"}, dir);
  INFO(first.err);
  REQUIRE(first.status == 0);
  const std::string pub(trim(first.out));
  auto parsed = security::PublicKey::parse(pub);
  REQUIRE(parsed.ok());
  CHECK_THAT(first.err, Catch::Contains("key id " + parsed->keyId()));
  CHECK_THAT(first.err, Catch::Contains("made now"));
  CHECK_THAT(first.err, Catch::Contains("cloud-dispatcher edges add e9 --key " + pub));
  auto key = security::SigningKey::loadFile(state + "/agent.key");
  REQUIRE(key.ok());
  CHECK(key->publicKey() == *parsed);
  CHECK(first.out.find("PRIVATE") == std::string::npos);
  CHECK(first.err.find("PRIVATE") == std::string::npos);
  // Again: the same key, not a new one.
  auto second = runProgram({edgeAgentPath(), "key", "--state-dir", state}, dir);
  CHECK(second.status == 0);
  CHECK(std::string(trim(second.out)) == pub);
  CHECK_THAT(second.err, !Catch::Contains("made now"));
  // A key file others may read is refused.
  ::chmod((state + "/agent.key").c_str(), 0644);
  auto refused = runProgram({edgeAgentPath(), "key", "--state-dir", state}, dir);
  CHECK(refused.status == 2);
  CHECK_THAT(refused.err, Catch::Contains("chmod 600"));
  CHECK(refused.out.empty());
}
