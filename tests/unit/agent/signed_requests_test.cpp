// Signed requests on the agent's side, pure: the signing options, the judgement of a request's
// signature headers (request_policy), triage's refusals, and AgentCore's answers (401/403 never
// act and never take an id in the processed-id store; signed replays get the stored answer or
// 408). No Kafka, no daemon; the cloud's keys are made here.

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "agent_core.h"
#include "core/clock.h"
#include "envelope/json_util.h"
#include "security/signature.h"
#include "state.h"
#include "unit_util.h"

using namespace edgelink;
using namespace edgelink::agent;
using security::FoundHeaders;
using security::SigningKey;

namespace {

SigningKey newKey() {
  auto k = SigningKey::generate();
  REQUIRE(k.ok());
  return std::move(*k);
}

std::string requestBytes(int64_t id, const std::string& type, int64_t ts,
                         const std::string& body = "") {
  return R"({"request":{"id":)" + std::to_string(id) + R"(,"sender":"web_backend","timestamp":)" +
         std::to_string(ts) + R"(,"type":")" + type + "\"" +
         (body.empty() ? "" : ",\"body\":" + body) + "}}";
}

FoundHeaders signedFor(const SigningKey& key, const std::string& topic, const std::string& value) {
  auto s = security::signMessage(key, topic, value);
  return FoundHeaders{{s.keyId}, {s.signature}};
}

bool hasProblem(const Validated& v, const std::string& prefix) {
  for (const auto& line : v.problems.lines()) {
    if (line.rfind(prefix, 0) == 0) {
      return true;
    }
  }
  return false;
}

std::string errorOf(const envelope::Envelope& e) {
  const char* v = json::getString(e.body(), "error");
  return v ? v : "";
}

constexpr const char* kTopic = "edge.elevator-0042";
const char* const kStart = R"({"services":{"ssh":31022}})";

}  // namespace

// ---------------------------------------------------------------------------------------------
// Configuration

TEST_CASE("signing config: requiring signatures without trusted keys names both keys",
          "[agent][config][signing]") {
  testing::TempDir dir;
  AgentOptions o = test::validOptions(dir);
  o.requireSignedRequests = true;
  auto v = validate(o);
  REQUIRE(hasProblem(v, "trusted-keys"));
  CHECK(v.problems.toError().message.find("require-signed-requests") != std::string::npos);
  o.requireSignedRequests = false;  // the migration: no keys needed
  CHECK(validate(o).problems.empty());
}

TEST_CASE("signing config: trusted keys inline and from PEM or base64 files, all loaded",
          "[agent][config][signing]") {
  testing::TempDir dir;
  SigningKey a = newKey(), b = newKey(), c = newKey();
  testing::writeText(dir.file("b.pem"), b.publicKey().pem());
  testing::writeText(dir.file("c.pub"), c.publicKey().base64() + "\n");
  AgentOptions o = test::validOptions(dir);
  o.requireSignedRequests = true;
  o.trustedKeys = {a.publicKey().base64(), dir.file("b.pem"), dir.file("c.pub")};
  auto v = validate(o);
  INFO(v.problems.toError().message);
  REQUIRE(v.problems.empty());
  CHECK(v.config.trustedKeys.keys().size() == 3);
  CHECK(v.config.trustedKeys.find(b.keyId()) != nullptr);
  CHECK(v.config.keyFilePath == dir.file("state") + "/agent.key");

  o.trustedKeys = {"not-a-key", dir.file("missing.pem")};
  auto bad = validate(o);
  CHECK(bad.problems.lines().size() >= 2);
  CHECK(hasProblem(bad, "trusted-keys: 'not-a-key'"));
  CHECK(hasProblem(bad, "trusted-keys: '" + dir.file("missing.pem") + "'"));
}

TEST_CASE("signing config: allow-unsigned takes read-only types only", "[agent][config][signing]") {
  testing::TempDir dir;
  AgentOptions o = test::validOptions(dir);
  o.allowUnsigned = {"ping", "frp_status", "system_info"};
  CHECK(validate(o).problems.empty());
  o.allowUnsigned = {"ping", "frp_start", "reboot"};
  auto v = validate(o);
  CHECK(v.problems.lines().size() == 2);
  CHECK(hasProblem(v, "allow-unsigned: 'frp_start'"));
  CHECK(hasProblem(v, "allow-unsigned: 'reboot'"));
}

TEST_CASE("signing config: a key file others may read is refused, naming key-file",
          "[agent][config][signing]") {
  testing::TempDir dir;
  AgentOptions o = test::validOptions(dir);
  o.keyFile = dir.file("board.key");
  REQUIRE(SigningKey::loadOrCreate(o.keyFile).ok());
  CHECK(validate(o).problems.empty());
  ::chmod(o.keyFile.c_str(), 0644);
  auto v = validate(o);
  REQUIRE(hasProblem(v, "key-file"));
  CHECK(v.problems.toError().message.find("chmod 600") != std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// Judging one request (triage)

namespace {

struct Judge {
  ManualClock clock;
  SigningKey cloud = newKey();
  SigningKey rotated = newKey();
  SigningKey stranger = newKey();
  security::KeyRing ring;
  Policy policy;
  envelope::Decoder decoder{envelope::Limits{4096, 32}};
  ProcessedIds processed;

  Judge() {
    ring.add(cloud.publicKey());
    ring.add(rotated.publicKey());
    policy.trustedKeys = &ring;
    policy.topic = kTopic;
    policy.allowUnsigned = {"ping"};
  }
  Triage run(const std::string& bytes, FoundHeaders headers) {
    TriageContext context(policy, decoder);
    context.processed = &processed;
    context.nowMs = clock.wallMs();
    Inbound in{bytes, 0, 5, -1};
    in.headers = std::move(headers);
    return triage(in, context);
  }
  Triage signedRun(const std::string& bytes, const SigningKey& key, const char* topic = kTopic) {
    return run(bytes, signedFor(key, topic, bytes));
  }
};

void requireRefused(const Triage& t, int status, security::Verdict verdict) {
  REQUIRE(t.verdict == Verdict::kAnswer);
  REQUIRE(t.response);
  CHECK(t.response->statusCode == status);
  REQUIRE(t.signatureRefused);
  CHECK(*t.signatureRefused == verdict);
  CHECK_FALSE(t.trusted);
  CHECK(errorOf(*t.response).find("not acted on") != std::string::npos);
}

}  // namespace

TEST_CASE("signed requests: a validly signed request acts, with either key of a rotation",
          "[agent][triage][signing]") {
  Judge j;
  const std::string start = requestBytes(7, "frp_start", j.clock.wallMs(), kStart);
  auto a = j.signedRun(start, j.cloud);
  CHECK(a.verdict == Verdict::kAct);
  CHECK(a.trusted);
  auto b = j.signedRun(start, j.rotated);
  CHECK(b.verdict == Verdict::kAct);
  CHECK(b.trusted);
}

TEST_CASE("signed requests: unsigned, unknown-key, altered, wrong-topic and malformed are refused",
          "[agent][triage][signing]") {
  Judge j;
  const std::string start = requestBytes(7, "frp_start", j.clock.wallMs(), kStart);
  auto unsignedStart = j.run(start, {});
  requireRefused(unsignedStart, 401, security::Verdict::kUnsigned);
  CHECK(errorOf(*unsignedStart.response).find("'frp_start' must be signed") != std::string::npos);
  requireRefused(j.signedRun(start, j.stranger), 403, security::Verdict::kUnknownKey);
  requireRefused(j.signedRun(start, j.cloud, "edge.elevator-0043"), 401,
                 security::Verdict::kBadSignature);
  auto headers = signedFor(j.cloud, kTopic, start);
  std::string altered = start;
  altered.replace(altered.find("31022"), 5, "31023");
  requireRefused(j.run(altered, headers), 401, security::Verdict::kBadSignature);
  FoundHeaders twice = headers;
  twice.signatures.push_back(headers.signatures[0]);
  requireRefused(j.run(start, twice), 401, security::Verdict::kMalformed);
  FoundHeaders swapped{headers.signatures, headers.keyIds};
  requireRefused(j.run(start, swapped), 401, security::Verdict::kMalformed);
  FoundHeaders truncated = headers;
  truncated.signatures[0].resize(20);
  requireRefused(j.run(start, truncated), 401, security::Verdict::kMalformed);
  // A future type nobody listed acts, so it must be signed too.
  requireRefused(j.run(requestBytes(8, "reboot", j.clock.wallMs()), {}), 401,
                 security::Verdict::kUnsigned);
}

TEST_CASE("signed requests: an undecodable unsigned request is refused 401, not answered 400",
          "[agent][triage][signing]") {
  Judge j;
  const std::string broken =
      R"({"request":{"id":9,"sender":"web_backend","type":"frp_start","timestamp":"x"}})";
  requireRefused(j.run(broken, {}), 401, security::Verdict::kUnsigned);
  // Signed by a trusted key, its decode error is answered as before (and may be remembered).
  auto t = j.signedRun(broken, j.cloud);
  REQUIRE(t.verdict == Verdict::kAnswer);
  CHECK(t.response->statusCode == 400);
  CHECK(t.trusted);
}

TEST_CASE("signed requests: allow-unsigned read-only types answer unsigned, untrusted",
          "[agent][triage][signing]") {
  Judge j;
  auto ping = j.run(requestBytes(7, "ping", j.clock.wallMs()), {});
  CHECK(ping.verdict == Verdict::kAct);
  CHECK_FALSE(ping.trusted);  // answered, but its answer is not its id's answer
  requireRefused(j.run(requestBytes(7, "frp_status", j.clock.wallMs()), {}), 401,
                 security::Verdict::kUnsigned);
  // A present but bad signature is never ignored, even on ping.
  const std::string p = requestBytes(7, "ping", j.clock.wallMs());
  requireRefused(j.signedRun(p, j.stranger), 403, security::Verdict::kUnknownKey);
  requireRefused(j.signedRun(p, j.cloud, "edge.other"), 401, security::Verdict::kBadSignature);
}

TEST_CASE("signed requests: old unsigned requests before the first start are skipped unanswered",
          "[agent][triage][signing]") {
  Judge j;
  const int64_t old = j.clock.wallMs() - 700'000;
  TriageContext context(j.policy, j.decoder);
  context.nowMs = j.clock.wallMs();
  context.silentBeforeMs = j.clock.wallMs() - 1000;
  const std::string bytes = requestBytes(7, "frp_start", old, kStart);
  auto t = triage(Inbound{bytes, 0, 5, old}, context);
  CHECK(t.verdict == Verdict::kSkipSilently);
  CHECK_FALSE(t.response);
  CHECK_FALSE(t.signatureRefused);
  // A recent one is refused as usual.
  const std::string recent = requestBytes(8, "frp_start", j.clock.wallMs(), kStart);
  requireRefused(triage(Inbound{recent, 0, 6, j.clock.wallMs()}, context), 401,
                 security::Verdict::kUnsigned);
}

TEST_CASE("signed requests: the migration acts on unsigned requests but refuses bad signatures",
          "[agent][triage][signing]") {
  Judge j;
  j.policy.requireSigned = false;
  const std::string start = requestBytes(7, "frp_start", j.clock.wallMs(), kStart);
  auto plain = j.run(start, {});
  CHECK(plain.verdict == Verdict::kAct);
  CHECK(plain.trusted);
  CHECK(j.signedRun(start, j.cloud).verdict == Verdict::kAct);
  requireRefused(j.signedRun(start, j.stranger), 403, security::Verdict::kUnknownKey);
  requireRefused(j.signedRun(start, j.cloud, "edge.other"), 401, security::Verdict::kBadSignature);
}

TEST_CASE("signed requests: an unsigned copy of an answered id is refused, not re-answered",
          "[agent][triage][signing]") {
  Judge j;
  const std::string start = requestBytes(7, "frp_start", j.clock.wallMs(), kStart);
  j.processed.add({"web_backend", envelope::Id::number(7), j.clock.wallMs(), "{\"stored\":1}"});
  auto replay = j.signedRun(start, j.cloud);
  REQUIRE(replay.verdict == Verdict::kResend);
  CHECK(replay.stored == "{\"stored\":1}");
  requireRefused(j.run(start, {}), 401, security::Verdict::kUnsigned);
  // An allowed unsigned ping with that id neither reads nor writes the store.
  CHECK(j.run(requestBytes(7, "ping", j.clock.wallMs()), {}).verdict == Verdict::kAct);
}

// ---------------------------------------------------------------------------------------------
// AgentCore

namespace {

struct SignedCore {
  testing::TempDir dir;
  SigningKey cloud = newKey();
  AgentConfig config = makeConfig();
  ManualClock clock;
  AgentCore core{config, clock};

  AgentConfig makeConfig() {
    AgentOptions o = test::validOptions(dir);
    o.requireSignedRequests = true;
    o.trustedKeys = {cloud.publicKey().base64()};
    o.allowUnsigned = {"ping"};
    auto v = validate(o);
    INFO(v.problems.toError().message);
    REQUIRE(v.problems.empty());
    return v.config;
  }
  SignedCore() {
    Actions all = core.begin(AgentState{}, StartupFacts{"board", 7});
    for (Action& a : core.onTimers()) {
      all.push_back(std::move(a));
    }
    deliver(all);
  }
  void deliver(const Actions& actions) {
    for (const Action& a : actions) {
      if (const auto* send = std::get_if<action::Send>(&a)) {
        (void)core.onDelivery(Delivery{send->opaque, Delivery::Outcome::kDelivered, {}, "t[0]"});
      }
    }
  }
  Actions message(int64_t offset, const std::string& bytes, FoundHeaders headers) {
    Inbound in{bytes, 0, offset, clock.wallMs()};
    in.headers = std::move(headers);
    Actions out = core.onMessage(in);
    deliver(out);
    return out;
  }
  Actions signedMessage(int64_t offset, const std::string& bytes) {
    return message(offset, bytes, signedFor(cloud, config.topic, bytes));
  }
};

/// The responses among `actions` (status codes), and whether anything but answering happened.
struct Seen {
  std::vector<int> statuses;
  std::vector<std::string> values;
  bool acted = false;
};
Seen seen(const Actions& actions) {
  Seen s;
  envelope::Decoder decoder;
  for (const Action& a : actions) {
    if (const auto* send = std::get_if<action::Send>(&a)) {
      auto e = decoder.decode(send->value);
      REQUIRE(e.ok());
      s.statuses.push_back(e->statusCode);
      s.values.push_back(send->value);
    } else if (const auto* persist = std::get_if<action::PersistState>(&a)) {
      s.acted = s.acted || persist->confirm;  // a start's first step: its state on disk
    } else {
      s.acted = true;  // frpc config, frpc, CPU samples, ...
    }
  }
  return s;
}

}  // namespace

TEST_CASE("signed core: an unsigned start is answered 401, acts on nothing, is not remembered",
          "[agent][core][signing]") {
  SignedCore c;
  auto out = seen(c.message(5, requestBytes(7, "frp_start", c.clock.wallMs(), kStart), {}));
  CHECK(out.statuses == std::vector<int>{401});
  CHECK_FALSE(out.acted);
  CHECK_FALSE(c.core.busy());
  CHECK(c.core.state().processed.find("web_backend", envelope::Id::number(7)) == nullptr);
  CHECK(c.core.counters().signatureFailures().at("unsigned") == 1);
  // Unknown key: 403, counted apart.
  auto stranger = newKey();
  const std::string bytes = requestBytes(8, "frp_start", c.clock.wallMs(), kStart);
  auto forged = seen(c.message(6, bytes, signedFor(stranger, c.config.topic, bytes)));
  CHECK(forged.statuses == std::vector<int>{403});
  CHECK_FALSE(forged.acted);
  CHECK(c.core.counters().signatureFailures().at("unknown_key") == 1);
  // The position moves past both (their answers delivered).
  CHECK(c.core.nextOffset(0) == 7);
}

TEST_CASE("signed core: a forged id does not pre-empt the genuine signed request",
          "[agent][core][signing]") {
  SignedCore c;
  const std::string start = requestBytes(7, "frp_start", c.clock.wallMs(), kStart);
  CHECK(seen(c.message(5, start, {})).statuses == std::vector<int>{401});
  // An allowed unsigned ping taking the same id is answered, and not remembered either.
  CHECK(seen(c.message(6, requestBytes(7, "ping", c.clock.wallMs()), {})).statuses ==
        std::vector<int>{200});
  CHECK(c.core.state().processed.find("web_backend", envelope::Id::number(7)) == nullptr);
  auto genuine = c.signedMessage(7, start);
  CHECK(seen(genuine).acted);
  REQUIRE(!genuine.empty());
  CHECK(std::get<action::PersistState>(genuine[0]).confirm);
  auto next = c.core.onStatePersisted({});
  REQUIRE(next.size() == 1);
  CHECK(std::holds_alternative<action::WriteFrpcConfig>(next[0]));
}

TEST_CASE("signed core: a signed replay gets the stored answer within the window, 408 after",
          "[agent][core][signing]") {
  SignedCore c;
  const std::string ping = requestBytes(9, "ping", c.clock.wallMs());
  auto first = seen(c.signedMessage(5, ping));
  REQUIRE(first.statuses == std::vector<int>{200});
  REQUIRE(c.core.state().processed.find("web_backend", envelope::Id::number(9)) != nullptr);
  c.clock.advanceMs(30'000);
  auto again = seen(c.signedMessage(6, ping));
  CHECK(again.values == first.values);  // byte for byte: received_at is the first one's
  // Past every window (max age, and the store's 2 x max age + skew): 408, never acted on.
  c.clock.advanceMs(2 * 600'000 + 60'000 + 1000);
  (void)c.core.onTimers();
  // The store forgets old answers when it next records one.
  CHECK(seen(c.signedMessage(7, requestBytes(10, "ping", c.clock.wallMs()))).statuses ==
        std::vector<int>{200});
  auto stale = seen(c.signedMessage(8, ping));
  CHECK(stale.statuses == std::vector<int>{408});
  CHECK_FALSE(stale.acted);
}
