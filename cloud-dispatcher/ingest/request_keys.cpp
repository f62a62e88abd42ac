#include "ingest/request_keys.h"

#include <dirent.h>

#include <cerrno>
#include <cstring>

#include "core/logging.h"

namespace edgelink::dispatcher {

security::KeyRing loadTrustedRequestKeys(const std::string& dir,
                                         const std::vector<std::string>& extra) {
  security::KeyRing ring;
  for (const auto& entry : extra) {
    if (auto key = security::parsePublicKeyEntry(entry)) {
      ring.add(*key);
    } else {
      log::get("dispatcher")->warn("audit trail: request-signing-keys: {}", key.error().message);
    }
  }
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    if (errno != ENOENT) {
      log::get("dispatcher")
          ->warn(
              "audit trail: cannot read signing-key-dir {}: {} (requests are audited as "
              "unsigned)",
              dir, std::strerror(errno));
    }
    return ring;
  }
  while (dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name.size() != security::kKeyIdSize + 4 ||
        name.compare(security::kKeyIdSize, 4, ".key") != 0) {
      continue;
    }
    auto key = security::SigningKey::loadFile(dir + "/" + name);
    if (!key) {
      log::get("dispatcher")->warn("audit trail: {}", key.error().describe());
      continue;
    }
    ring.add(key->publicKey());
  }
  ::closedir(d);
  return ring;
}

}  // namespace edgelink::dispatcher
