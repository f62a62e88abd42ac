#include "cli/key_store.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/atomic_file.h"
#include "core/strings.h"

namespace edgelink::dispatcher {
namespace {

bool isKeyId(const std::string& s) {
  return s.size() == security::kKeyIdSize && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

}  // namespace

VoidResult KeyStore::ensureDir() const {
  struct stat st {};
  if (::stat(dir_.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) {
      return Error(Status::kBadRequest, "signing-key-dir " + dir_ + " is not a directory");
    }
    return {};
  }
  // Parents as `install -d` makes them; the key directory itself 0700.
  for (size_t slash = dir_.find('/', 1); slash != std::string::npos;
       slash = dir_.find('/', slash + 1)) {
    const std::string parent = dir_.substr(0, slash);
    if (::mkdir(parent.c_str(), 0755) != 0 && errno != EEXIST) {
      return Error(Status::kInternal, "creating signing-key-dir " + dir_ + ": " + parent + ": " +
                                          std::strerror(errno));
    }
  }
  if (::mkdir(dir_.c_str(), 0700) != 0) {
    return Error(Status::kInternal,
                 "creating signing-key-dir " + dir_ + ": " + std::strerror(errno));
  }
  return {};
}

std::string KeyStore::activeId() const {
  std::ifstream in(dir_ + "/" + kActiveKeyFile);
  std::string id;
  in >> id;
  return isKeyId(id) ? id : std::string();
}

Result<std::vector<StoredKey>> KeyStore::list() const {
  std::vector<StoredKey> out;
  DIR* d = ::opendir(dir_.c_str());
  if (d == nullptr) {
    if (errno == ENOENT) {
      return out;
    }
    return Error(Status::kInternal,
                 "reading signing-key-dir " + dir_ + ": " + std::strerror(errno));
  }
  std::vector<std::string> ids;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name.size() == security::kKeyIdSize + 4 &&
        name.compare(security::kKeyIdSize, 4, ".key") == 0 &&
        isKeyId(name.substr(0, security::kKeyIdSize))) {
      ids.push_back(name.substr(0, security::kKeyIdSize));
    }
  }
  ::closedir(d);
  const std::string activeKey = activeId();
  for (const auto& id : ids) {
    auto key = security::SigningKey::loadFile(pathOf(id));
    if (!key) {
      return key.error();
    }
    StoredKey k;
    k.keyId = key->keyId();
    k.publicKey = key->publicKey().base64();
    struct stat st {};
    if (::stat(pathOf(id).c_str(), &st) == 0) {
      k.createdMs = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1000000;
    }
    k.active = k.keyId == activeKey;
    out.push_back(std::move(k));
  }
  std::sort(out.begin(), out.end(), [](const StoredKey& a, const StoredKey& b) {
    return a.createdMs != b.createdMs ? a.createdMs < b.createdMs : a.keyId < b.keyId;
  });
  return out;
}

Result<StoredKey> KeyStore::generate(bool activate) {
  if (auto r = ensureDir(); !r) {
    return r.error();
  }
  auto key = security::SigningKey::generate();
  if (!key) {
    return key.error();
  }
  if (auto r = key->saveFile(pathOf(key->keyId())); !r) {
    return r.error();
  }
  StoredKey k;
  k.keyId = key->keyId();
  k.publicKey = key->publicKey().base64();
  struct stat st {};
  if (::stat(pathOf(k.keyId).c_str(), &st) == 0) {
    k.createdMs = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1000000;
  }
  const std::string current = activeId();
  if (activate || current.empty() || !security::SigningKey::loadFile(pathOf(current))) {
    if (auto r = writeFileAtomic(dir_ + "/" + kActiveKeyFile, k.keyId + "\n", 0600); !r) {
      return r.error();
    }
    k.active = true;
  }
  return k;
}

VoidResult KeyStore::remove(const std::string& keyId) {
  if (!isKeyId(keyId)) {
    return Error(
        Status::kBadRequest,
        "KEYID: expected a key id of 16 hex characters (see `keys list`), got '" + keyId + "'");
  }
  struct stat st {};
  if (::stat(pathOf(keyId).c_str(), &st) != 0) {
    return Error(Status::kNotFound, "KEYID: no key " + keyId + " in " + dir_);
  }
  if (keyId == activeId()) {
    return Error(Status::kConflict,
                 "KEYID: " + keyId + " is the active key; `keys rotate` first, then remove it");
  }
  if (::unlink(pathOf(keyId).c_str()) != 0) {
    return Error(Status::kInternal, "removing " + pathOf(keyId) + ": " + std::strerror(errno));
  }
  return {};
}

Result<security::SigningKey> KeyStore::active() const {
  const std::string id = activeId();
  if (id.empty()) {
    return Error(Status::kNotFound,
                 "no active signing key in signing-key-dir " + dir_ +
                     ": run `cloud-dispatcher keys generate` (or set sign-requests = false)");
  }
  return security::SigningKey::loadFile(pathOf(id));
}

Result<std::optional<security::SigningKey>> publishingKey(bool signRequests,
                                                          const std::string& dir) {
  if (!signRequests) {
    return std::optional<security::SigningKey>();
  }
  auto active = KeyStore(dir).active();
  if (!active) {
    return active.error();
  }
  return std::optional<security::SigningKey>(std::move(active).value());
}

}  // namespace edgelink::dispatcher
