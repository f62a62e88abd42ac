// The signature check of a received message (common/security, as the agent judges requests and
// the dispatcher answers): topic, value and the edgelink-key / edgelink-sig header values, all
// untrusted, against a key ring of the two public test-vector keys
// (schemas/examples/signing/vectors.json).
//
// Input: fields separated by NUL: topic, value, then header values, alternately edgelink-key and
// edgelink-sig (so none, one, or repeated headers). A field starting with '-' is omitted from its
// header (a key id without a signature, and so on).

#include <cstdio>
#include <cstdlib>
#include <vector>

#include "fuzz_util.h"
#include "security/base64.h"
#include "security/signature.h"

using namespace edgelink;

namespace {

const security::KeyRing& ring() {
  static const security::KeyRing keys = [] {
    security::KeyRing r;
    for (const char* b64 : {"vec8LwfohpjnI67d68arvRmCQ3gopsmEaqn6XQCDRTM=",
                            "YyChsBGm15dPTGaZuLk85Y1AJcgjV/+90WpqP+7+pwE="}) {
      auto key = security::PublicKey::parse(b64);
      if (!key) {
        std::fprintf(stderr, "test vector key: %s\n", key.error().describe().c_str());
        std::abort();
      }
      r.add(*key);
    }
    return r;
  }();
  return keys;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::silenceLogs();
  (void)ring();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto [topic, rest] = fuzz::splitAt(fuzz::asText(data, size), '\0');
  auto [value, headerText] = fuzz::splitAt(rest, '\0');
  security::FoundHeaders headers;
  for (bool key = true; !headerText.empty(); key = !key) {
    auto [field, next] = fuzz::splitAt(headerText, '\0');
    headerText = next;
    if (!field.empty() && field[0] == '-') {
      continue;
    }
    (key ? headers.keyIds : headers.signatures).emplace_back(field);
  }
  const security::Verification v = ring().verify(topic, value, headers);
  (void)security::verdictName(v.verdict);
  (void)v.status();
  // The form check alone agrees with the full check on everything but the key and the bytes.
  std::string raw;
  const security::Verification form = security::checkForm(headers, &raw);
  const bool formOnly =
      v.verdict == security::Verdict::kUnknownKey || v.verdict == security::Verdict::kBadSignature;
  if (form.valid() != (v.valid() || formOnly)) {
    std::fprintf(stderr, "checkForm and verify disagree on the headers' form\n");
    std::abort();
  }
  // A base64 text that decodes re-encodes to itself (decoding is strict: one text per bytes).
  for (const auto& s : headers.signatures) {
    if (auto bytes = security::base64Decode(s); bytes && security::base64Encode(*bytes) != s) {
      std::fprintf(stderr, "base64 is not canonical: a second text for the same bytes\n");
      std::abort();
    }
  }
  (void)security::PublicKey::parse(value);
  return 0;
}
