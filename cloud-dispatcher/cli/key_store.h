#pragma once

// The dispatcher's signing keys (docs/SECURITY.md): a directory (0700) of Ed25519 keys, one
// PKCS#8 PEM file per key named <keyid>.key (0600), and a file `active` naming the key that
// signs. Several keys live there during a rotation: the boards trust every key listed in their
// trusted-keys until the operator removes the old one there and then here.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "security/ed25519.h"

namespace edgelink::dispatcher {

inline constexpr const char* kActiveKeyFile = "active";

struct StoredKey {
  std::string keyId;
  std::string publicKey;  ///< base64 of the raw public key (what boards put in trusted-keys)
  int64_t createdMs = 0;  ///< the key file's modification time
  bool active = false;
};

class KeyStore {
 public:
  explicit KeyStore(std::string dir) : dir_(std::move(dir)) {}

  /// Every key, oldest first. A key file others may read is an error (403) naming it.
  Result<std::vector<StoredKey>> list() const;
  /// A new key, made active when `activate` or when no key is active.
  Result<StoredKey> generate(bool activate);
  /// Removes a key that is not the active one (404: no such key, 409: it is active).
  VoidResult remove(const std::string& keyId);
  /// The key that signs (404 naming `keys generate` when there is none).
  Result<security::SigningKey> active() const;
  /// The active key id ("" when none).
  std::string activeId() const;
  std::string pathOf(const std::string& keyId) const { return dir_ + "/" + keyId + ".key"; }

 private:
  VoidResult ensureDir() const;

  std::string dir_;
};

/// The key the CLI signs what it publishes with (requests, config_changed): the active key of
/// `dir` when `signRequests`, none when sign-requests is off; the active key's error otherwise.
Result<std::optional<security::SigningKey>> publishingKey(bool signRequests,
                                                          const std::string& dir);

}  // namespace edgelink::dispatcher
