// The dispatcher's signing logic without peers: judging an answer's signature, a Batch refusing
// what does not verify, and the key directory (cli/key_store.h).
#include "domain/signatures.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "cli/key_store.h"
#include "domain/model.h"
#include "harness/test_util.h"

using namespace edgelink;
using namespace edgelink::dispatcher;

namespace {

security::FoundHeaders headersOf(const security::SignatureHeaders& h) {
  return {{h.keyId}, {h.signature}};
}

/// Checks every answer against one key, for every edge.
class OneKey : public SignatureCheck {
 public:
  OneKey(std::optional<security::PublicKey> key, bool require)
      : key_(std::move(key)), require_(require) {}
  AnswerVerdict check(const std::string&, std::string_view topic, std::string_view value,
                      const security::FoundHeaders& headers) const override {
    return judgeAnswer(verifyWithEdgeKey(key_, topic, value, headers), key_.has_value(), require_);
  }

 private:
  std::optional<security::PublicKey> key_;
  bool require_;
};

}  // namespace

TEST_CASE("an answer is accepted when valid, or unsigned from a keyless edge unless required",
          "[dispatcher][signing]") {
  auto board = security::SigningKey::generate().value();
  auto other = security::SigningKey::generate().value();
  const std::string topic = "edge.e1";
  const std::string value = R"({"x":1})";
  auto valid = headersOf(security::signMessage(board, topic, value));
  auto byOther = headersOf(security::signMessage(other, topic, value));
  const std::optional<security::PublicKey> key = board.publicKey();

  auto v = judgeAnswer(verifyWithEdgeKey(key, topic, value, valid), true, false);
  CHECK(v.accepted);
  CHECK(v.verdict == security::Verdict::kValid);

  v = judgeAnswer(verifyWithEdgeKey(key, topic, value, {}), true, false);
  CHECK_FALSE(v.accepted);
  CHECK(v.verdict == security::Verdict::kUnsigned);
  CHECK(v.status == Status::kUnauthorized);

  v = judgeAnswer(verifyWithEdgeKey(key, topic, value, byOther), true, false);
  CHECK_FALSE(v.accepted);
  CHECK(v.status == Status::kForbidden);

  v = judgeAnswer(verifyWithEdgeKey(key, "edge.e2", value, valid), true, false);
  CHECK_FALSE(v.accepted);
  CHECK(v.verdict == security::Verdict::kBadSignature);

  // A keyless edge: applied as before, unless require-signed-answers.
  v = judgeAnswer(verifyWithEdgeKey(std::nullopt, topic, value, {}), false, false);
  CHECK(v.accepted);
  CHECK(v.verdict == security::Verdict::kUnsigned);
  v = judgeAnswer(verifyWithEdgeKey(std::nullopt, topic, value, {}), false, true);
  CHECK_FALSE(v.accepted);
  CHECK_THAT(v.reason, Catch::Contains("require-signed-answers"));
}

TEST_CASE("a batch stores an answer that does not verify as rejected, with no edge update",
          "[dispatcher][signing]") {
  Options o;
  REQUIRE(o.validate().empty());
  auto board = security::SigningKey::generate().value();
  OneKey check(board.publicKey(), false);
  Batch batch(o, &check);
  envelope::Decoder decoder;
  auto e = envelope::Envelope::event(envelope::Id::text("ev-1"), "edge_board", 1000, "heartbeat");
  e.set("agent_version", "1.2.3");
  e.set("interval_seconds", 60);
  e.set("uptime_seconds", 42.5);
  e.set("frp_running", false);
  const std::string bytes = envelope::encode(e);
  RawMessage m;
  m.topic = "edge.e1";
  m.payload = bytes;
  CHECK(batch.add(m, decoder, 2000) == Classified::kRejected);
  REQUIRE(batch.rejected().size() == 1);
  CHECK(batch.rejected()[0].signature == std::optional<std::string>("unsigned"));
  CHECK(batch.rejected()[0].statusCode == 401);
  CHECK(batch.edgeUpdates().empty());
  CHECK(batch.nextOffsets().size() == 1);  // still committed past

  RawMessage good = m;
  good.offset = 1;
  good.signature = headersOf(security::signMessage(board, m.topic, bytes));
  CHECK(batch.add(good, decoder, 2000) == Classified::kHeartbeat);
  REQUIRE(batch.edgeUpdates().size() == 1);
  CHECK(batch.edgeUpdates()[0].lastHeartbeatMs.has_value());
}

TEST_CASE("the key directory generates, rotates, lists and removes keys", "[dispatcher][signing]") {
  testing::TempDir dir;
  KeyStore store(dir.file("keys"));
  CHECK(store.list()->empty());
  auto none = store.active();
  REQUIRE_FALSE(none);
  CHECK_THAT(none.error().message, Catch::Contains("keys generate"));

  auto first = store.generate(false);
  REQUIRE(first);
  CHECK(first->active);
  auto second = store.generate(false);
  REQUIRE(second);
  CHECK_FALSE(second->active);
  CHECK(store.activeId() == first->keyId);
  auto third = store.generate(true);
  REQUIRE(third);
  CHECK(store.activeId() == third->keyId);
  CHECK(store.active()->keyId() == third->keyId);
  CHECK(store.list()->size() == 3);

  CHECK(store.remove(third->keyId).error().status == Status::kConflict);
  CHECK(store.remove("zz").error().status == Status::kBadRequest);
  CHECK(store.remove("0123456789abcdef").error().status == Status::kNotFound);
  REQUIRE(store.remove(first->keyId));
  CHECK(store.list()->size() == 2);

  REQUIRE(::chmod(store.pathOf(second->keyId).c_str(), 0640) == 0);
  auto refused = store.list();
  REQUIRE_FALSE(refused);
  CHECK_THAT(refused.error().message, Catch::Contains("chmod 600"));
}
