#include "security/ed25519.h"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "core/atomic_file.h"
#include "core/strings.h"
#include "core/unique_fd.h"
#include "security/base64.h"

namespace edgelink::security {

void PkeyDeleter::operator()(EVP_PKEY* k) const {
  EVP_PKEY_free(k);
}

namespace {

struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;
struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;

std::string bioText(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return n > 0 ? std::string(data, static_cast<size_t>(n)) : std::string();
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::strchr(" \t\r\n", s.front()) != nullptr) {
    s.remove_prefix(1);
  }
  while (!s.empty() && std::strchr(" \t\r\n", s.back()) != nullptr) {
    s.remove_suffix(1);
  }
  return s;
}

Result<std::string> rawPublicOf(EVP_PKEY* key) {
  if (EVP_PKEY_get_base_id(key) != EVP_PKEY_ED25519) {
    return Error(Status::kBadRequest, "not an Ed25519 key");
  }
  std::string raw(kPublicKeySize, '\0');
  size_t len = raw.size();
  if (EVP_PKEY_get_raw_public_key(key, reinterpret_cast<unsigned char*>(raw.data()), &len) != 1 ||
      len != kPublicKeySize) {
    return Error(Status::kInternal, "cannot read the Ed25519 public key");
  }
  return raw;
}

}  // namespace

std::string keyIdOf(std::string_view rawPublicKey) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(rawPublicKey.data(), rawPublicKey.size(), digest, &len, EVP_sha256(), nullptr);
  return toHex(std::string_view(reinterpret_cast<const char*>(digest), kKeyIdSize / 2));
}

Result<PublicKey> PublicKey::fromRaw(std::string_view raw) {
  if (raw.size() != kPublicKeySize) {
    return Error(Status::kBadRequest,
                 "an Ed25519 public key is 32 bytes, not " + std::to_string(raw.size()));
  }
  PublicKey k;
  k.raw_ = std::string(raw);
  k.keyId_ = keyIdOf(raw);
  return k;
}

Result<PublicKey> PublicKey::parse(std::string_view text) {
  text = trim(text);
  if (text.rfind("-----BEGIN", 0) == 0) {
    BioPtr bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
    PkeyPtr key(bio ? PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr) : nullptr);
    if (!key) {
      return Error(Status::kBadRequest, "not a PEM public key");
    }
    auto raw = rawPublicOf(key.get());
    if (!raw) {
      return raw.error();
    }
    return fromRaw(*raw);
  }
  auto raw = base64Decode(text);
  if (!raw) {
    return Error(Status::kBadRequest,
                 "a public key is base64 of its 32 bytes (44 characters) or a PEM block");
  }
  return fromRaw(*raw);
}

Result<PublicKey> PublicKey::loadFile(const std::string& path) {
  auto text = readFile(path);
  if (!text) {
    return Error(text.error().status, path + ": " + text.error().message);
  }
  auto key = parse(*text);
  if (!key) {
    return Error(key.error().status, path + ": " + key.error().message);
  }
  return key;
}

std::string PublicKey::base64() const {
  return base64Encode(raw_);
}

std::string PublicKey::pem() const {
  PkeyPtr key(EVP_PKEY_new_raw_public_key(
      EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(raw_.data()), raw_.size()));
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!key || !bio || PEM_write_bio_PUBKEY(bio.get(), key.get()) != 1) {
    return {};
  }
  return bioText(bio.get());
}

bool PublicKey::verify(std::string_view message, std::string_view signature) const {
  if (signature.size() != kSignatureSize || raw_.size() != kPublicKeySize) {
    return false;
  }
  PkeyPtr key(EVP_PKEY_new_raw_public_key(
      EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(raw_.data()), raw_.size()));
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!key || !ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1) {
    return false;
  }
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                          signature.size(), reinterpret_cast<const unsigned char*>(message.data()),
                          message.size()) == 1;
}

Result<SigningKey> SigningKey::fromPkey(PkeyPtr key) {
  auto raw = rawPublicOf(key.get());
  if (!raw) {
    return raw.error();
  }
  auto pub = PublicKey::fromRaw(*raw);
  if (!pub) {
    return pub.error();
  }
  return SigningKey(std::move(key), std::move(*pub));
}

Result<SigningKey> SigningKey::generate() {
  EVP_PKEY* raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  if (raw == nullptr) {
    return Error(Status::kInternal, "cannot generate an Ed25519 key");
  }
  return fromPkey(PkeyPtr(raw));
}

Result<SigningKey> SigningKey::fromPem(std::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  PkeyPtr key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!key) {
    return Error(Status::kBadRequest, "not a PEM private key");
  }
  return fromPkey(std::move(key));
}

Result<SigningKey> SigningKey::loadFile(const std::string& path) {
  auto text = readSecretFile(path);
  if (!text) {
    return text.error();
  }
  auto key = fromPem(*text);
  if (!key) {
    return Error(key.error().status, path + ": " + key.error().message);
  }
  return key;
}

Result<SigningKey> SigningKey::loadOrCreate(const std::string& path, bool* created) {
  if (created != nullptr) {
    *created = false;
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 || errno != ENOENT) {
    return loadFile(path);
  }
  auto key = generate();
  if (!key) {
    return key.error();
  }
  auto slash = path.rfind('/');
  if (slash != std::string::npos && slash > 0) {
    if (auto made = makeDirs(path.substr(0, slash), 0700); !made) {
      return made.error();
    }
  }
  if (auto saved = key->saveFile(path); !saved) {
    return saved.error();
  }
  if (created != nullptr) {
    *created = true;
  }
  return key;
}

std::string SigningKey::pem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio ||
      PEM_write_bio_PrivateKey(bio.get(), key_.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return {};
  }
  return bioText(bio.get());
}

VoidResult SigningKey::saveFile(const std::string& path) const {
  std::string text = pem();
  if (text.empty()) {
    return Error(Status::kInternal, "cannot encode the private key");
  }
  if (auto w = writeFileAtomic(path, text, 0600); !w) {
    return Error(w.error().status, path + ": " + w.error().message);
  }
  return {};
}

std::string SigningKey::sign(std::string_view message) const {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  std::string sig(kSignatureSize, '\0');
  size_t len = sig.size();
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key_.get()) != 1 ||
      EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                     reinterpret_cast<const unsigned char*>(message.data()), message.size()) != 1 ||
      len != kSignatureSize) {
    return {};
  }
  return sig;
}

Result<PublicKey> parsePublicKeyEntry(const std::string& entry) {
  auto inline_ = PublicKey::parse(entry);
  if (inline_) {
    return inline_;
  }
  auto key = PublicKey::loadFile(entry);
  if (!key) {
    return Error(Status::kBadRequest, "'" + entry +
                                          "' is neither a base64 Ed25519 public key nor a file "
                                          "holding one: " +
                                          key.error().message);
  }
  return key;
}

Result<std::string> readSecretFile(const std::string& path) {
  // One open file for the check and the read: the mode checked is the mode of what is read.
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    int e = errno;
    return Error(e == ENOENT ? Status::kNotFound : Status::kInternal,
                 path + ": " + std::strerror(e));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    return Error(Status::kInternal, path + ": " + std::strerror(errno));
  }
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return Error(Status::kForbidden, path + " is mode " + mode +
                                         ": it holds a secret, so only its owner may read it "
                                         "(chmod 600 " +
                                         path + ")");
  }
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return Error(Status::kInternal, path + ": " + std::strerror(errno));
    }
    if (n == 0) {
      return out;
    }
    if (out.size() + static_cast<size_t>(n) > kMaxSecretFileBytes) {
      return Error(Status::kTooLarge, path + ": larger than " +
                                          std::to_string(kMaxSecretFileBytes) +
                                          " bytes: not a key or token file");
    }
    out.append(buf, static_cast<size_t>(n));
  }
}

}  // namespace edgelink::security
