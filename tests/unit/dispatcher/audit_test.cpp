// The audit trail's pure parts: who an actor is (the CLI's user under sudo, a request's sender
// and whether its signature verified), the detail JSON, the audit-retention option.
#include "domain/audit.h"

#include <rapidjson/document.h>

#include <catch2/catch.hpp>

#include "options.h"
#include "security/ed25519.h"
#include "security/signature.h"

using namespace edgelink;
using namespace edgelink::dispatcher;

namespace {

rapidjson::Document parse(const std::string& json) {
  rapidjson::Document d;
  d.Parse(json.c_str());
  REQUIRE_FALSE(d.HasParseError());
  return d;
}

}  // namespace

TEST_CASE("the CLI's actor is its OS user, and who ran sudo", "[dispatcher][audit]") {
  auto plain = cliActor("alice", "");
  CHECK(plain.name == "alice");
  CHECK(plain.kind == "cli");
  CHECK(plain.keyId.empty());
  CHECK(cliActor("root", "alice").name == "alice (sudo root)");
  CHECK(cliActor("root", "root").name == "root");  // sudo to oneself says nothing more
  CHECK(systemActor().name == "dispatcher");
  CHECK(systemActor().kind == "system");
}

TEST_CASE("a request's actor carries its key id only when its signature verified",
          "[dispatcher][audit]") {
  auto key = security::SigningKey::generate().value();
  security::KeyRing trusted;
  trusted.add(key.publicKey());
  const std::string value = R"({"request":{}})";
  auto sig = security::signMessage(key, "edge.e1", value);
  security::FoundHeaders headers{{sig.keyId}, {sig.signature}};

  auto signedBy = requestActor("web_backend", trusted.verify("edge.e1", value, headers));
  CHECK(signedBy.name == "web_backend");
  CHECK(signedBy.kind == "signed_request");
  CHECK(signedBy.keyId == key.keyId());
  CHECK(signedBy.signature == "valid");

  // Signed for another edge's topic: not verified, the claimed key id kept apart.
  auto moved = requestActor("web_backend", trusted.verify("edge.e2", value, headers));
  CHECK(moved.kind == "unsigned_request");
  CHECK(moved.keyId.empty());
  CHECK(moved.signature == "bad_signature");
  CHECK(moved.claimedKeyId == key.keyId());

  auto unknown = requestActor("web_backend", security::KeyRing().verify("edge.e1", value, headers));
  CHECK(unknown.kind == "unsigned_request");
  CHECK(unknown.signature == "unknown_key");

  auto none = requestActor("web_backend", security::Verification{});
  CHECK(none.kind == "unsigned_request");
  CHECK(none.signature == "unsigned");
  CHECK(none.claimedKeyId.empty());
}

TEST_CASE("the audit detail holds what was given and the request's verdict",
          "[dispatcher][audit]") {
  AuditDetail d;
  d.services = std::map<std::string, int>{{"ssh", 31022}};
  d.autoStopSeconds = 3600;
  d.mode = "tcp";
  security::Verification unverified;
  unverified.verdict = security::Verdict::kUnknownKey;
  unverified.keyId = "0123456789abcdef";
  auto doc = parse(auditDetailJson(d, requestActor("web_backend", unverified)));
  CHECK(doc["services"]["ssh"].GetInt() == 31022);
  CHECK(doc["auto_stop_s"].GetInt64() == 3600);
  CHECK(std::string(doc["mode"].GetString()) == "tcp");
  CHECK(std::string(doc["signature"].GetString()) == "unknown_key");
  CHECK(std::string(doc["claimed_key_id"].GetString()) == "0123456789abcdef");
  CHECK_FALSE(doc.HasMember("reason"));

  AuditDetail ended;
  ended.state = "closed";
  ended.reason = "expired";
  auto sys = parse(auditDetailJson(ended, systemActor()));
  CHECK(std::string(sys["reason"].GetString()) == "expired");
  CHECK_FALSE(sys.HasMember("signature"));
  CHECK_FALSE(sys.HasMember("services"));
  CHECK(auditDetailJson(AuditDetail{}, cliActor("alice", "")) == "{}");
}

TEST_CASE("audit-retention defaults to 400d and is at least a day", "[dispatcher][audit]") {
  Options o;
  CHECK(o.auditRetentionSeconds == 400 * 86400);
  CHECK(o.validate().empty());
  for (int64_t bad : {int64_t{0}, int64_t{-1}, int64_t{43200}, int64_t{86399}}) {
    Options b;
    b.auditRetentionSeconds = bad;
    auto p = b.validate();
    REQUIRE(p.lines().size() == 1);
    CHECK(p.lines()[0].find("audit-retention") != std::string::npos);
  }
  Options day;
  day.auditRetentionSeconds = 86400;
  CHECK(day.validate().empty());
}
