#pragma once

// Signed messages: what a signature covers, where it travels, and how a receiver checks it.
//
// A message is signed over these exact bytes (docs/SECURITY.md, test vectors in
// schemas/examples/signing/):
//
//     "edgelink-sig-v1\n" + topic + "\n" + value
//
// where `topic` is the Kafka topic the message is produced to and `value` the message's value,
// byte for byte as produced (no re-serialisation). Topic names cannot hold "\n", so the split is
// unambiguous, and a message signed for one edge's topic does not verify on another's.
// The signature travels in two Kafka headers, leaving the JSON as it is:
//     edgelink-key = the signer's key id (16 hex characters, ed25519.h)
//     edgelink-sig = base64 of the 64-byte Ed25519 signature
// A receiver accepts a message only with exactly one of each, a trusted key id, and a signature
// that verifies.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"
#include "security/ed25519.h"

namespace edgelink::security {

inline constexpr std::string_view kKeyIdHeader = "edgelink-key";
inline constexpr std::string_view kSignatureHeader = "edgelink-sig";
inline constexpr std::string_view kSignedPrefix = "edgelink-sig-v1\n";

/// The bytes a signature covers.
std::string signedBytes(std::string_view topic, std::string_view value);

/// The two header values for a message: key id and base64 signature.
struct SignatureHeaders {
  std::string keyId;
  std::string signature;
};
SignatureHeaders signMessage(const SigningKey& key, std::string_view topic, std::string_view value);
/// The two Kafka headers signing `value` for `topic`, ready to produce with it.
std::vector<std::pair<std::string, std::string>> signatureHeaders(const SigningKey& key,
                                                                  std::string_view topic,
                                                                  std::string_view value);

/// Every value a received message carries for each of the two headers (Kafka allows a header
/// name more than once, and none).
struct FoundHeaders {
  std::vector<std::string> keyIds;
  std::vector<std::string> signatures;
};

enum class Verdict {
  kValid,         ///< signed by a trusted key, over this topic and value
  kUnsigned,      ///< neither header
  kMalformed,     ///< a header missing, repeated, or not in its form
  kUnknownKey,    ///< well formed, by a key not in the ring
  kBadSignature,  ///< by a trusted key, but not over these bytes (altered, or another topic)
};
/// "valid", "unsigned", "malformed", "unknown_key", "bad_signature" (metrics labels, logs).
const char* verdictName(Verdict v);

struct Verification {
  Verdict verdict = Verdict::kUnsigned;
  std::string keyId;   ///< the key id, when well formed
  std::string reason;  ///< for people: why it is not valid (never echoes raw header bytes)
  bool valid() const { return verdict == Verdict::kValid; }
  /// The answer a request gets when it must be signed and is not valid: 403 for a key that is
  /// not trusted, 401 otherwise.
  Status status() const {
    return verdict == Verdict::kUnknownKey ? Status::kForbidden : Status::kUnauthorized;
  }
};

/// Trusted public keys, by key id. Several at once during a rotation.
class KeyRing {
 public:
  /// Adds a key (a key already there is not added twice).
  void add(const PublicKey& key);
  const PublicKey* find(std::string_view keyId) const;
  const std::vector<PublicKey>& keys() const { return keys_; }
  bool empty() const { return keys_.empty(); }

  Verification verify(std::string_view topic, std::string_view value,
                      const FoundHeaders& headers) const;

 private:
  std::vector<PublicKey> keys_;
};

/// Checks the headers' form alone (no key): exactly one of each, a key id of 16 lower-case hex
/// characters, a signature of 64 bytes in base64. On success `keyId` and `signature` (raw) are
/// set; otherwise the verdict and reason say why.
Verification checkForm(const FoundHeaders& headers, std::string* signature);

}  // namespace edgelink::security
