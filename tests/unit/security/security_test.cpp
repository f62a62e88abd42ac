// The signature path's pure pieces: base64, keys, the signed bytes, the verdicts (held to the
// published test vectors and to the Python reference signer), secret files — and a fuzz-style
// sweep over the headers and bytes a hostile producer controls: nothing but the exact signed
// message verifies, and nothing crashes.

#include <rapidjson/document.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <map>
#include <random>

#include "harness/test_util.h"
#include "security/base64.h"
#include "security/ed25519.h"
#include "security/signature.h"

using namespace edgelink;
using namespace edgelink::security;

namespace {

const std::string kSource = EDGELINK_SOURCE_DIR;
const std::string kVectors = kSource + "/schemas/examples/signing/vectors.json";
const std::string kSigner = kSource + "/tools/signing/edgelink_sign.py";

rapidjson::Document loadVectors() {
  rapidjson::Document doc;
  doc.Parse(testing::readText(kVectors).c_str());
  REQUIRE_FALSE(doc.HasParseError());
  return doc;
}

std::string str(const rapidjson::Value& v, const char* key) {
  return std::string(v[key].GetString(), v[key].GetStringLength());
}

struct Ran {
  int exitCode = -1;
  std::string output;
  bool ok() const { return exitCode == 0; }
};

/// Runs a shell command, capturing its stdout.
Ran run(const std::string& command) {
  Ran r;
  FILE* p = ::popen(command.c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) {
    r.output.append(buf, n);
  }
  int status = ::pclose(p);
  r.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

FoundHeaders found(const SignatureHeaders& h) {
  return {{h.keyId}, {h.signature}};
}

SigningKey newKey() {
  auto k = SigningKey::generate();
  REQUIRE(k.ok());
  return std::move(*k);
}

}  // namespace

TEST_CASE("base64 round-trips every length and refuses non-canonical text", "[security]") {
  std::string bytes;
  for (int n = 0; n < 70; ++n) {
    auto back = base64Decode(base64Encode(bytes));
    REQUIRE(back.has_value());
    CHECK(*back == bytes);
    bytes += static_cast<char>(n * 37);
  }
  CHECK(base64Encode("any carnal pleas") == "YW55IGNhcm5hbCBwbGVhcw==");
  for (const char* bad : {"YW55IGNhcm5hbCBwbGVhcw=", "YW55 IGNhcm5hbCBwbGVhcw==", "YQ==YQ==",
                          "YR==", "Y===", "=YQ=", "YW55\n", "YW5!"}) {
    INFO(bad);
    CHECK_FALSE(base64Decode(bad).has_value());
  }
}

TEST_CASE("the published test vectors: keys, signed bytes, headers and verdicts", "[security]") {
  auto doc = loadVectors();
  std::map<std::string, std::string> pems;
  for (const auto& k : doc["keys"].GetArray()) {
    auto key = SigningKey::fromPem(str(k, "private_key_pem"));
    REQUIRE(key.ok());
    CHECK(key->keyId() == str(k, "key_id"));
    CHECK(key->publicKey().base64() == str(k, "public_key"));
    auto parsed = PublicKey::parse(str(k, "public_key"));
    REQUIRE(parsed.ok());
    CHECK(parsed->keyId() == str(k, "key_id"));
    pems[str(k, "key_id")] = str(k, "private_key_pem");
  }
  int checked = 0;
  for (const auto& v : doc["vectors"].GetArray()) {
    INFO(str(v, "name"));
    auto key = SigningKey::fromPem(pems.at(str(v, "signed_by")));
    REQUIRE(key.ok());
    auto bytes = signedBytes(str(v, "signed_topic"), str(v, "signed_value"));
    CHECK(base64Encode(bytes) == str(v, "signed_bytes_base64"));
    auto headers = signMessage(*key, str(v, "signed_topic"), str(v, "signed_value"));
    CHECK(headers.keyId == str(v["headers"], "edgelink-key"));
    CHECK(headers.signature == str(v["headers"], "edgelink-sig"));
    KeyRing ring;
    for (const auto& t : v["trusted"].GetArray()) {
      auto trusted = SigningKey::fromPem(pems.at(t.GetString()));
      REQUIRE(trusted.ok());
      ring.add(trusted->publicKey());
    }
    auto verdict =
        ring.verify(str(v, "topic"), str(v, "value"),
                    {{str(v["headers"], "edgelink-key")}, {str(v["headers"], "edgelink-sig")}});
    CHECK(std::string(verdictName(verdict.verdict)) == str(v, "verdict"));
    ++checked;
  }
  CHECK(checked >= 8);
}

TEST_CASE("the Python reference signer agrees with the vectors and with this code", "[security]") {
  auto vectors = run("python3 '" + kSigner + "' check-vectors '" + kVectors + "' 2>&1");
  INFO(vectors.output);
  REQUIRE(vectors.ok());
  CHECK(vectors.output.find(", 0 failures") != std::string::npos);

  // A key made here, a message signed there and verified here, and the other way round.
  testing::TempDir dir;
  auto key = newKey();
  REQUIRE(key.saveFile(dir.file("k.pem")).ok());
  const std::string topic = "edge.elevator-7";
  const std::string value = R"({"id":"x1","sender":"web","type":"ping","body":{}})";
  testing::writeText(dir.file("msg"), value);
  auto signedThere = run("python3 '" + kSigner + "' sign --key '" + dir.file("k.pem") +
                         "' --topic " + topic + " < '" + dir.file("msg") + "'");
  INFO(signedThere.output);
  REQUIRE(signedThere.ok());
  auto mine = signMessage(key, topic, value);
  CHECK(signedThere.output ==
        "edgelink-key: " + mine.keyId + "\nedgelink-sig: " + mine.signature + "\n");
  auto verifiedThere =
      run("python3 '" + kSigner + "' verify --public-key " + key.publicKey().base64() +
          " --topic " + topic + " --key-id " + mine.keyId + " --signature " + mine.signature +
          " < '" + dir.file("msg") + "'");
  CHECK(verifiedThere.ok());
  auto otherTopic =
      run("python3 '" + kSigner + "' verify --public-key " + key.publicKey().base64() +
          " --topic edge.elevator-8 --key-id " + mine.keyId + " --signature " + mine.signature +
          " < '" + dir.file("msg") + "'");
  CHECK(otherTopic.exitCode == 1);
}

TEST_CASE("verdicts: unsigned, malformed, unknown key, bad signature, valid", "[security]") {
  auto a = newKey();
  auto b = newKey();
  KeyRing ring;
  ring.add(a.publicKey());
  ring.add(a.publicKey());
  CHECK(ring.keys().size() == 1);
  const std::string topic = "edge.e1";
  const std::string value = R"({"id":"r1","type":"frp_start"})";
  auto h = signMessage(a, topic, value);

  CHECK(ring.verify(topic, value, found(h)).valid());
  auto none = ring.verify(topic, value, {});
  CHECK(none.verdict == Verdict::kUnsigned);
  CHECK(none.status() == Status::kUnauthorized);
  auto wrongTopic = ring.verify("edge.e2", value, found(h));
  CHECK(wrongTopic.verdict == Verdict::kBadSignature);
  CHECK(wrongTopic.reason.find("another topic") != std::string::npos);
  auto byB = ring.verify(topic, value, found(signMessage(b, topic, value)));
  CHECK(byB.verdict == Verdict::kUnknownKey);
  CHECK(byB.status() == Status::kForbidden);
  CHECK(byB.reason.find(b.keyId()) != std::string::npos);
  ring.add(b.publicKey());  // rotation: both trusted
  CHECK(ring.verify(topic, value, found(signMessage(b, topic, value))).valid());
  CHECK(ring.verify(topic, value, found(h)).valid());

  CHECK(ring.verify(topic, value, {{h.keyId}, {}}).verdict == Verdict::kMalformed);
  CHECK(ring.verify(topic, value, {{}, {h.signature}}).verdict == Verdict::kMalformed);
  CHECK(ring.verify(topic, value, {{h.keyId, h.keyId}, {h.signature}}).verdict ==
        Verdict::kMalformed);
  CHECK(ring.verify(topic, value, {{h.keyId}, {h.signature, h.signature}}).verdict ==
        Verdict::kMalformed);
  // Swapped: the key id in the signature header and the other way round.
  CHECK(ring.verify(topic, value, {{h.signature}, {h.keyId}}).verdict == Verdict::kMalformed);
  // Raw header bytes are never echoed into the reason.
  auto hostile = ring.verify(topic, value, {{"\x1b[31mEVIL\n"}, {h.signature}});
  CHECK(hostile.verdict == Verdict::kMalformed);
  CHECK(hostile.reason.find("EVIL") == std::string::npos);
}

TEST_CASE("fuzz: no truncated, altered, re-aimed, swapped or foreign signature verifies",
          "[security][fuzz]") {
  auto a = newKey();
  KeyRing ring;
  ring.add(a.publicKey());
  const std::string topic = "edge.elevator-0042";
  const std::string value =
      R"({"id":"f1","sender":"cloud_dispatcher","timestamp":"2026-12-02T21:30:00Z",)"
      R"("type":"frp_start","body":{"services":["ssh"]}})";
  auto h = signMessage(a, topic, value);
  auto sig = *base64Decode(h.signature);
  std::mt19937 rng(12);
  int tried = 0;
  for (size_t i = 0; i < sig.size(); ++i) {  // every signature byte, one bit flipped
    std::string s = sig;
    s[i] = static_cast<char>(s[i] ^ (1 << (rng() % 8)));
    CHECK(ring.verify(topic, value, {{h.keyId}, {base64Encode(s)}}).verdict ==
          Verdict::kBadSignature);
    ++tried;
  }
  for (size_t n = 0; n < h.signature.size(); ++n) {  // every truncation of the header
    CHECK_FALSE(ring.verify(topic, value, {{h.keyId}, {h.signature.substr(0, n)}}).valid());
    ++tried;
  }
  for (size_t i = 0; i < value.size(); ++i) {  // every value byte changed, and cut there
    std::string v = value;
    v[i] = static_cast<char>(v[i] + 1 + static_cast<int>(rng() % 200));
    CHECK_FALSE(ring.verify(topic, v, found(h)).valid());
    CHECK_FALSE(ring.verify(topic, value.substr(0, i), found(h)).valid());
    tried += 2;
  }
  for (const std::string& t :
       {std::string("edge.elevator-0043"), std::string("edge.elevator-004"),
        std::string("edge.elevator-00422"), std::string(""), std::string("edge.elevator-0042\n")}) {
    CHECK_FALSE(ring.verify(t, value, found(h)).valid());
    ++tried;
  }
  // Random garbage in both headers, of every size up to 1 KiB: malformed or unknown, never a
  // crash and never valid.
  for (int i = 0; i < 500; ++i) {
    std::string k(rng() % 40, '\0'), s(rng() % 1024, '\0');
    for (auto& c : k)
      c = static_cast<char>(rng());
    for (auto& c : s)
      c = static_cast<char>(rng());
    CHECK_FALSE(ring.verify(topic, value, {{k}, {s}}).valid());
    CHECK_FALSE(ring.verify(topic, value, {{h.keyId}, {base64Encode(s)}}).valid());
    tried += 2;
  }
  // Headers swapped, or repeated: malformed, never valid.
  CHECK(ring.verify(topic, value, {{h.signature}, {h.keyId}}).verdict == Verdict::kMalformed);
  CHECK_FALSE(ring.verify(topic, value, {{h.keyId, h.keyId}, {h.signature}}).valid());
  CHECK_FALSE(ring.verify(topic, value, {{h.keyId}, {h.signature, h.signature}}).valid());
  // Another key's signature: under its own id unknown, under the trusted key's id bad.
  auto b = newKey();
  auto hb = signMessage(b, topic, value);
  CHECK(ring.verify(topic, value, found(hb)).verdict == Verdict::kUnknownKey);
  CHECK(ring.verify(topic, value, {{h.keyId}, {hb.signature}}).verdict == Verdict::kBadSignature);
  tried += 5;
  CHECK(tried > 1000);
  CHECK(ring.verify(topic, value, found(h)).valid());  // and the original still does
}

TEST_CASE("keys: made once at 0600 in a 0700 dir, loaded again, refused when others may read",
          "[security]") {
  testing::TempDir dir;
  const std::string path = dir.file("keys/agent.key");
  bool created = false;
  auto first = SigningKey::loadOrCreate(path, &created);
  REQUIRE(first.ok());
  CHECK(created);
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  REQUIRE(::stat(dir.file("keys").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0700);
  auto again = SigningKey::loadOrCreate(path, &created);
  REQUIRE(again.ok());
  CHECK_FALSE(created);
  CHECK(again->keyId() == first->keyId());
  CHECK(testing::readText(path).rfind("-----BEGIN PRIVATE KEY-----", 0) == 0);

  ::chmod(path.c_str(), 0644);
  auto open = SigningKey::loadOrCreate(path, &created);
  REQUIRE_FALSE(open.ok());
  CHECK(open.error().status == Status::kForbidden);
  CHECK(open.error().message.find("0644") != std::string::npos);
  CHECK(open.error().message.find("chmod 600 " + path) != std::string::npos);

  testing::writeText(dir.file("garbage.key"), "not a key\n");
  ::chmod(dir.file("garbage.key").c_str(), 0600);
  auto garbage = SigningKey::loadFile(dir.file("garbage.key"));
  REQUIRE_FALSE(garbage.ok());
  CHECK(garbage.error().message.find("garbage.key") != std::string::npos);
  CHECK(SigningKey::loadFile(dir.file("missing.key")).error().status == Status::kNotFound);
}

TEST_CASE("public keys parse from base64 or PEM, and nothing else", "[security]") {
  auto k = newKey();
  auto fromPem = PublicKey::parse(k.publicKey().pem());
  REQUIRE(fromPem.ok());
  CHECK(*fromPem == k.publicKey());
  auto fromB64 = PublicKey::parse("  " + k.publicKey().base64() + "\n");
  REQUIRE(fromB64.ok());
  CHECK(fromB64->keyId() == k.keyId());
  CHECK(k.keyId().size() == kKeyIdSize);
  for (const std::string& bad :
       {std::string(""), std::string("abc"), base64Encode(std::string(31, 'x')),
        base64Encode(std::string(33, 'x')), std::string("-----BEGIN PUBLIC KEY-----\nxx\n"),
        k.pem()}) {
    CHECK_FALSE(PublicKey::parse(bad).ok());
  }
}

TEST_CASE("secret files: read only when private to their owner", "[security]") {
  testing::TempDir dir;
  const std::string token = dir.file("token");
  testing::writeText(token, "s3cret\n");
  ::chmod(token.c_str(), 0600);
  auto ok = readSecretFile(token);
  REQUIRE(ok.ok());
  CHECK(*ok == "s3cret\n");
  for (mode_t mode : {0640, 0604, 0660, 0620}) {
    ::chmod(token.c_str(), mode);
    auto refused = readSecretFile(token);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().status == Status::kForbidden);
    CHECK(refused.error().message.find("s3cret") == std::string::npos);
  }
  ::chmod(token.c_str(), 0600);
  testing::writeText(dir.file("big"), std::string(kMaxSecretFileBytes + 1, 'x'));
  ::chmod(dir.file("big").c_str(), 0600);
  CHECK(readSecretFile(dir.file("big")).error().status == Status::kTooLarge);
  CHECK(readSecretFile(dir.file("none")).error().status == Status::kNotFound);
}
