#pragma once

// Ed25519 keys (OpenSSL's EVP API; RAII). A PublicKey is a plain value (32 raw bytes and the key
// id derived from them); a SigningKey owns an EVP_PKEY and never leaves memory except through
// saveFile (PKCS#8 PEM, mode 0600 — the form `openssl genpkey -algorithm ed25519` writes and
// Python's `cryptography` reads).
//
// Text forms: a public key is its 32 raw bytes in base64 (44 characters), or a PEM
// "PUBLIC KEY" block; its key id is the first 8 bytes of SHA-256 over the raw bytes, in hex
// (16 characters), so any party can compute it.

#include <memory>
#include <string>
#include <string_view>

#include "core/result.h"

typedef struct evp_pkey_st EVP_PKEY;  // NOLINT(modernize-use-using): OpenSSL's own declaration

namespace edgelink::security {

inline constexpr size_t kPublicKeySize = 32;
inline constexpr size_t kSignatureSize = 64;
inline constexpr size_t kKeyIdSize = 16;

class PublicKey {
 public:
  /// From the 32 raw bytes.
  static Result<PublicKey> fromRaw(std::string_view raw);
  /// From base64 of the raw bytes or a PEM "PUBLIC KEY" block (surrounding whitespace ignored).
  static Result<PublicKey> parse(std::string_view text);
  /// parse() over a file's content; errors name the file.
  static Result<PublicKey> loadFile(const std::string& path);

  const std::string& raw() const { return raw_; }
  const std::string& keyId() const { return keyId_; }
  std::string base64() const;
  std::string pem() const;
  /// True when `signature` (64 raw bytes) is this key's signature over `message`.
  bool verify(std::string_view message, std::string_view signature) const;

  bool operator==(const PublicKey& o) const { return raw_ == o.raw_; }

 private:
  PublicKey() = default;
  std::string raw_;
  std::string keyId_;
};

/// A configured public key: inline base64 (or PEM text), else the path of a file holding a PEM or
/// base64 key. The error says it is neither, quoting the entry (a public key, no secret).
Result<PublicKey> parsePublicKeyEntry(const std::string& entry);

/// The key id (16 hex characters) of raw public key bytes.
std::string keyIdOf(std::string_view rawPublicKey);

struct PkeyDeleter {
  void operator()(EVP_PKEY* k) const;
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

class SigningKey {
 public:
  /// A new random key.
  static Result<SigningKey> generate();
  /// From PKCS#8 PEM text.
  static Result<SigningKey> fromPem(std::string_view pem);
  /// From a file, refused (403, naming the file and its mode) when its group or others may read
  /// or write it.
  static Result<SigningKey> loadFile(const std::string& path);
  /// loadFile, or — when the file does not exist — a new key saved there (0600, its directory
  /// made 0700). `created` (optional) says which.
  static Result<SigningKey> loadOrCreate(const std::string& path, bool* created = nullptr);

  SigningKey(SigningKey&&) = default;
  SigningKey& operator=(SigningKey&&) = default;

  /// Writes the key as PKCS#8 PEM, atomically, mode 0600.
  VoidResult saveFile(const std::string& path) const;
  std::string pem() const;
  const PublicKey& publicKey() const { return public_; }
  const std::string& keyId() const { return public_.keyId(); }
  /// The 64-byte signature over `message`.
  std::string sign(std::string_view message) const;

 private:
  SigningKey(PkeyPtr key, PublicKey pub) : key_(std::move(key)), public_(std::move(pub)) {}
  static Result<SigningKey> fromPkey(PkeyPtr key);

  PkeyPtr key_;
  PublicKey public_;
};

/// The largest secret file read (keys and tokens are far smaller).
inline constexpr size_t kMaxSecretFileBytes = 64 * 1024;

/// Reads a file holding a secret (a token, a password, a private key), refusing it (403) when
/// anyone but its owner may read or write it (mode & 077) — the error names the file, its mode
/// and the fix (chmod 600). Trailing newlines are not stripped.
Result<std::string> readSecretFile(const std::string& path);

}  // namespace edgelink::security
