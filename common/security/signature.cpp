#include "security/signature.h"

#include "security/base64.h"

namespace edgelink::security {

namespace {

bool isKeyId(std::string_view s) {
  if (s.size() != kKeyIdSize) {
    return false;
  }
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  return true;
}

Verification failed(Verdict v, std::string reason, std::string keyId = {}) {
  Verification out;
  out.verdict = v;
  out.reason = std::move(reason);
  out.keyId = std::move(keyId);
  return out;
}

}  // namespace

std::string signedBytes(std::string_view topic, std::string_view value) {
  std::string out;
  out.reserve(kSignedPrefix.size() + topic.size() + 1 + value.size());
  out.append(kSignedPrefix);
  out.append(topic);
  out += '\n';
  out.append(value);
  return out;
}

SignatureHeaders signMessage(const SigningKey& key, std::string_view topic,
                             std::string_view value) {
  return {key.keyId(), base64Encode(key.sign(signedBytes(topic, value)))};
}

std::vector<std::pair<std::string, std::string>> signatureHeaders(const SigningKey& key,
                                                                  std::string_view topic,
                                                                  std::string_view value) {
  auto sig = signMessage(key, topic, value);
  return {{std::string(kKeyIdHeader), std::move(sig.keyId)},
          {std::string(kSignatureHeader), std::move(sig.signature)}};
}

const char* verdictName(Verdict v) {
  switch (v) {
    case Verdict::kValid:
      return "valid";
    case Verdict::kUnsigned:
      return "unsigned";
    case Verdict::kMalformed:
      return "malformed";
    case Verdict::kUnknownKey:
      return "unknown_key";
    case Verdict::kBadSignature:
      return "bad_signature";
  }
  return "malformed";
}

Verification checkForm(const FoundHeaders& headers, std::string* signature) {
  const std::string keyName(kKeyIdHeader);
  const std::string sigName(kSignatureHeader);
  if (headers.keyIds.empty() && headers.signatures.empty()) {
    return failed(Verdict::kUnsigned, "unsigned: no " + keyName + " / " + sigName + " headers");
  }
  if (headers.keyIds.size() != 1 || headers.signatures.size() != 1) {
    return failed(Verdict::kMalformed,
                  "malformed signature headers: " + std::to_string(headers.keyIds.size()) + " " +
                      keyName + " and " + std::to_string(headers.signatures.size()) + " " +
                      sigName + " (exactly one of each expected)");
  }
  if (!isKeyId(headers.keyIds[0])) {
    return failed(Verdict::kMalformed,
                  "malformed " + keyName + " header: a key id is 16 lower-case hex characters");
  }
  auto raw = base64Decode(headers.signatures[0]);
  if (!raw || raw->size() != kSignatureSize) {
    return failed(Verdict::kMalformed,
                  "malformed " + sigName +
                      " header: base64 of a 64-byte Ed25519 signature "
                      "expected",
                  headers.keyIds[0]);
  }
  if (signature != nullptr) {
    *signature = std::move(*raw);
  }
  Verification ok;
  ok.verdict = Verdict::kValid;
  ok.keyId = headers.keyIds[0];
  return ok;
}

void KeyRing::add(const PublicKey& key) {
  if (find(key.keyId()) == nullptr) {
    keys_.push_back(key);
  }
}

const PublicKey* KeyRing::find(std::string_view keyId) const {
  for (const auto& k : keys_) {
    if (k.keyId() == keyId) {
      return &k;
    }
  }
  return nullptr;
}

Verification KeyRing::verify(std::string_view topic, std::string_view value,
                             const FoundHeaders& headers) const {
  std::string signature;
  Verification form = checkForm(headers, &signature);
  if (!form.valid()) {
    return form;
  }
  const PublicKey* key = find(form.keyId);
  if (key == nullptr) {
    return failed(Verdict::kUnknownKey, "signed by key " + form.keyId + ", which is not trusted",
                  form.keyId);
  }
  if (!key->verify(signedBytes(topic, value), signature)) {
    return failed(Verdict::kBadSignature,
                  "bad signature by key " + form.keyId +
                      ": the message was altered or signed for another topic",
                  form.keyId);
  }
  return form;
}

}  // namespace edgelink::security
