#include "domain/visitor_proof.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdint>

namespace edgelink::dispatcher {

std::string base64Url(std::string_view bytes) {
  static const char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : bytes) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += kAlphabet[(acc >> bits) & 0x3F];
    }
  }
  if (bits > 0) {
    out += kAlphabet[(acc << (6 - bits)) & 0x3F];
  }
  return out;
}

std::string visitorProof(const std::string& secret, const std::string& edgeId,
                         const std::string& sessionId) {
  const std::string message = "edgelink-visitor-v1\n" + edgeId + "\n" + sessionId;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
           reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac,
           &length) == nullptr) {
    return std::string();  // never matches (visitorProofMatches wants a non-empty proof)
  }
  return base64Url(std::string_view(reinterpret_cast<const char*>(mac), length));
}

bool visitorProofMatches(const std::string& proof, const std::string& secret,
                         const std::string& edgeId, const std::string& sessionId) {
  if (secret.empty()) {
    return false;
  }
  const std::string expected = visitorProof(secret, edgeId, sessionId);
  return !expected.empty() && proof.size() == expected.size() &&
         CRYPTO_memcmp(proof.data(), expected.data(), expected.size()) == 0;
}

}  // namespace edgelink::dispatcher
